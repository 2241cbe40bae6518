"""NEMSIS 3.5.1 export speed: building one EMSDataSet record, and the official XSD and
Schematron over it (prints a table).

    .venv/bin/python -m bench.interop [--records 200] [--standards DIR]

The record is a hand-made cardiac arrest (no database): a BLS unit's response times, one
vitals set, adrenaline IO, the arrest team alerted, taken to an ED and handed over.
The Schematron is compiled once per cache directory (a fresh one here, so the
first run's compile is measured too).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any


def _record() -> Any:
    from handoff.interop import document as d
    from handoff.interop.nemsis import record as r

    t0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    def at(minutes: float) -> datetime:
        return t0 + timedelta(minutes=minutes)

    vitals = d.VitalsEntry(
        id="v1",
        taken_at=at(12),
        values={"heart_rate": 180, "cardiac_rhythm": "Ventricular tachycardia"},
        units={},
        news2_total=None,
        news2_complete=False,
        gcs_total=None,
    )
    adrenaline = d.MedicationGiven(
        id="m1", given_at=at(14), name="adrenaline", dose=10, dose_unit="mcg", route="IO"
    )
    patient = d.PatientInfo(
        temp_id="T-1",
        mrn=None,
        family=None,
        given=None,
        sex="other",
        birth_date=date(1960, 9, 20),
        estimated_age_years=None,
    )
    doc = d.EncounterDocument(
        encounter_id="4b7c2a7e-6f7e-4a51-9d55-8b1f7f0b3c11",
        incident_id=12,
        status="finished",
        hospital_code="central",
        hospital_name="Central ED",
        unit_call_sign="HE103",
        chief_complaint="Collapsed",
        working_impression="Cardiac arrest",
        working_impression_code="I46.9",
        allergies=[],
        medications=[],
        history=[],
        last_known_well=None,
        eta=None,
        arrived_at=at(45),
        transfer_of_care_at=at(50),
        destination_reason="Closest facility",
        patient=patient,
        vitals=[vitals],
        procedures=[],
        medications_given=[adrenaline],
        activations=[],
        created_at=at(11),
        updated_at=at(50),
    )
    times = r.ResponseTimes(
        psap_call=at(0),
        unit_notified=at(1),
        en_route=at(2),
        on_scene=at(10),
        left_scene=at(30),
        at_destination=at(45),
        transfer_of_care=at(50),
        back_in_service=at(70),
    )
    response = r.Response(
        incident_number="012",
        response_number="034",
        unit_call_sign="HE103",
        unit_type="BLS",
        unit_capabilities=(),
        response_mode="lights_sirens",
        dispatch_complaint="unconscious person",
        determinant="ECHO",
        incident_disposition="transported",
        patients_on_incident=1,
    )
    return r.PcrInput(
        uuid=doc.encounter_id,
        document=doc,
        agency=r.Agency(state_id="GH-DEV", number="GH-DEV-1", state="00"),
        software=r.Software(creator="Golden Hour project", name="Golden Hour", version="0.1.0"),
        times=times,
        response=response,
        destination=r.Destination(
            code="central", name="Central ED", reason="closest", capabilities=()
        ),
        team_alerts=(r.TeamAlert(kind="cardiac_arrest", sent_at=at(20)),),
        findings={"cardiac_arrest": True},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="NEMSIS export and validation timings.")
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--standards", default=os.environ.get("NEMSIS_STANDARDS_DIR", ""))
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from handoff.interop.nemsis import builder, validate

    standards = Path(args.standards) if args.standards else settings.NEMSIS_STANDARDS_DIR
    pcr = _record()
    started = time.perf_counter()
    for _ in range(args.records):
        document = builder.dataset_bytes([pcr])
    build_ms = (time.perf_counter() - started) * 1000 / args.records
    started = time.perf_counter()
    for _ in range(args.records):
        xsd = validate.xsd_problems(document, standards)
    xsd_ms = (time.perf_counter() - started) * 1000 / args.records
    with tempfile.TemporaryDirectory(prefix="gh-bench-nemsis-") as cache:
        started = time.perf_counter()
        validate.schematron_problems(document, standards, Path(cache))
        compile_s = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(args.records):
            rules = validate.schematron_problems(document, standards, Path(cache))
        schematron_ms = (time.perf_counter() - started) * 1000 / args.records
    failing = [p for p in rules if p.role in validate.FAILING_ROLES]
    print(f"NEMSIS 3.5.1 EMSDataSet, one record ({len(document)} bytes), {args.records} runs")
    print("| step | per record |")
    print("|---|---:|")
    print(f"| build the XML | {build_ms:.2f} ms |")
    print(f"| XSD | {xsd_ms:.2f} ms |")
    print(f"| Schematron (compiled once: {compile_s:.2f} s) | {schematron_ms:.2f} ms |")
    verdict = "valid" if not xsd and not failing else f"{len(xsd) + len(failing)} errors"
    print(f"nemsis: {build_ms + xsd_ms + schematron_ms:.1f} ms per validated record, {verdict}")
    return 0 if verdict == "valid" else 1


if __name__ == "__main__":
    sys.exit(main())
