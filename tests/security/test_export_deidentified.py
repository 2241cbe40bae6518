"""Research export: the Safe Harbor identifiers never leave, the research values do."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from dispatch.models import Call
from handoff.deidentify import (
    CSV_COLUMNS,
    ENCOUNTER_COLUMNS,
    VITALS_COLUMNS,
    Pseudonyms,
    age_band,
    deidentify,
)
from handoff.services.board import crew_message_send
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open
from handoff.services.handover import admission_reconcile
from handoff.services.vitals import vitals_record
from tests import factories
from tests.handoff.conftest import make_assignment

CALL = datetime(2024, 3, 14, 9, 26, 53, tzinfo=UTC)
IDENTIFIERS = {
    "family_name": "Virtanen",
    "given_name": "Aino",
    "mrn": "HUS-778899",
    "temp_identifier": "GH-2024-QWERTY",
    "public_id": "5b0c7a52-9d7e-4a3b-8f1e-2f8c1d7e9a10",
}


def _source(pk=1, *, birth_date=date(1950, 7, 1), estimated=None, **encounter):
    """A hand-made source row: every identifying field filled with something findable."""
    return {
        "encounter": {
            "pk": pk,
            "id": pk,
            **IDENTIFIERS,
            "status": "closed",
            "sex": "female",
            "birth_date": birth_date,
            "estimated_age_years": estimated,
            "age_text": "about seventy",
            "chief_complaint": "Fell at Mannerheimintie 5",
            "working_impression": "hip fracture, lives alone",
            "working_impression_code": "S72.0",
            "mechanism": "tripped on the stairs of her summer cottage",
            "injuries": "shortened left leg",
            "allergies": ["penicillin"],
            "medications": [{"name": "warfarin", "anticoagulant": True}],
            "history": ["atrial fibrillation"],
            "findings": {"injured": True, "cardiac_arrest": False, "befast": {"arm": True}},
            "bay": "Resus 2",
            "time_of_onset": CALL - timedelta(minutes=20),
            "created_at": CALL + timedelta(minutes=12),
            "arrived_at": CALL + timedelta(minutes=40),
            "transfer_of_care_at": CALL + timedelta(minutes=55),
            "offload_seconds": 900,
            "destination_reason": "closest",
            "destination_ed_status": "open",
            "created_by_id": 7,
            **encounter,
        },
        "incident": {
            "pk": 300 + pk,
            "call_received_at": CALL,
            "determinant": "DELTA",
            "response_mode": "lights_sirens",
            "address": "Mannerheimintie 5, Helsinki",
            "lat": 60.1699,
            "lon": 24.9384,
        },
        "assignment": {
            "notified_at": CALL + timedelta(seconds=90),
            "on_scene_at": CALL + timedelta(minutes=10),
        },
        "unit": {"call_sign": "MEDIC-ZULU-7", "unit_type": "ALS"},
        "destination": {
            "name": "Meilahti",
            "address": "Haartmaninkatu 4",
            "capabilities": ["trauma_1", "stroke_comprehensive"],
        },
        "vitals": [
            {
                "taken_at": CALL + timedelta(minutes=15),
                "heart_rate": 112,
                "systolic_bp": 95,
                "news2_total": 7,
                "news2_risk": "high",
                "avpu": "A",
                "cardiac_rhythm": "sinus tachy per Dr Smith",
                "device_id": "tablet-zulu-7",
                "client_id": "v-zulu-1",
                "recorded_by_id": 7,
            },
            {
                "taken_at": CALL + timedelta(minutes=12),
                "heart_rate": 120,
                "news2_total": 8,
                "device_id": "tablet-zulu-7",
                "client_id": "v-zulu-0",
            },
        ],
        "activations": [{"kind": "trauma", "reason": "Virtanen: fall, anticoagulated"}],
        "interventions": [{"code": "C-COLLAR", "text": "collar by Jussi"}],
        "medications_given": [{"name": "fentanyl"}],
        "calls": [{"caller_name": "Matti Virtanen", "caller_phone": "+358401234567"}],
        "messages": [{"text": "daughter Liisa on 040 555 1234"}],
    }


def _records(*sources, pseudonyms=None):
    return list(deidentify(sources, pseudonyms=pseudonyms or Pseudonyms()))


def test_records_carry_only_the_allowlisted_columns():
    encounter, *vitals = _records(_source())
    assert set(encounter) == set(ENCOUNTER_COLUMNS)
    assert all(set(row) == set(VITALS_COLUMNS) for row in vitals)


@pytest.mark.parametrize(
    "needle",
    [
        "Virtanen",
        "Aino",
        "HUS-778899",
        "GH-2024-QWERTY",
        "5b0c7a52",
        "MEDIC-ZULU-7",
        "tablet-zulu-7",
        "v-zulu",
        "+358401234567",
        "Mannerheimintie",
        "Helsinki",
        "Meilahti",
        "Haartmaninkatu",
        "60.1699",
        "1950",
        "penicillin",
        "warfarin",
        "fentanyl",
        "fibrillation",
        "Fell",
        "fracture",
        "cottage",
        "Resus",
        "Smith",
        "Jussi",
        "Liisa",
        "about seventy",
        "2024-03-14",
        "09:26",
    ],
)
def test_identifiers_free_text_and_full_dates_never_appear(needle):
    text = json.dumps(_records(_source()), default=str)
    assert needle not in text


def test_dates_are_reduced_to_the_year_and_times_to_seconds_since_the_call():
    encounter, first, second = _records(_source())
    assert encounter["year"] == 2024
    assert encounter["t_unit_notified_s"] == 90
    assert encounter["t_on_scene_s"] == 600
    assert encounter["t_onset_s"] == -1200
    assert encounter["t_transfer_of_care_s"] - encounter["t_arrived_s"] == 900
    assert encounter["offload_s"] == 900
    # Vitals come in the order they were taken, numbered, with their offset from the call.
    assert [(first["set"], first["t_taken_s"]), (second["set"], second["t_taken_s"])] == [
        (1, 720),
        (2, 900),
    ]
    assert not any(
        isinstance(v, datetime | date) for row in (encounter, first) for v in row.values()
    )


@pytest.mark.parametrize(
    ("birth_date", "estimated", "expected"),
    [
        (date(1928, 7, 1), None, "90+"),  # 95 at the call
        (date(1934, 3, 15), None, 89),  # 90 tomorrow: still 89
        (date(1934, 3, 14), None, "90+"),  # 90 today
        (None, 95, "90+"),
        (None, 89, 89),
        (None, None, None),
    ],
)
def test_ages_over_89_are_aggregated(birth_date, estimated, expected):
    [encounter, *_] = _records(_source(birth_date=birth_date, estimated=estimated))
    assert encounter["age"] == expected


def test_age_band():
    assert (age_band(95), age_band(90), age_band(89), age_band(0)) == ("90+", "90+", 89, 0)


def test_coded_values_are_kept():
    encounter, vitals, _ = _records(_source())
    assert encounter["sex"] == "female"
    assert encounter["determinant"] == "DELTA"
    assert encounter["unit_type"] == "ALS"
    assert encounter["working_impression_code"] == "S72.0"
    assert encounter["activation_kinds"] == ["trauma"]
    assert encounter["intervention_codes"] == ["C-COLLAR"]
    assert encounter["findings"] == ["befast_arm", "injured"]
    assert encounter["anticoagulated"] is True
    assert encounter["destination_capabilities"] == ["stroke", "trauma"]
    assert encounter["max_news2"] == 8
    assert (vitals["heart_rate"], vitals["news2_total"], vitals["avpu"]) == (120, 8, None)
    # The rhythm is a free-text field in practice (no vocabulary restricts it): dropped.
    assert "cardiac_rhythm" not in vitals


def test_free_text_in_a_coded_field_is_dropped():
    [encounter, *_] = _records(_source(working_impression_code="Mrs Virtanen's hip"))
    assert encounter["working_impression_code"] is None


def test_a_patient_keeps_one_pseudonym_within_an_export_and_incidents_their_own():
    records = _records(_source(1), _source(2))
    patients = {r["patient"] for r in records}
    assert len(patients) == 2
    first = [r for r in records if r["patient"] == records[0]["patient"]]
    assert len(first) == 3
    assert records[0]["incident"] != records[3]["incident"]


def test_two_exports_give_different_pseudonyms():
    once = _records(_source())
    again = _records(_source())
    assert once[0]["patient"] != again[0]["patient"]
    assert once[0]["incident"] != again[0]["incident"]


# --- The command, against the database ------------------------------------------------------

PHONE = "+358409876543"


@pytest.fixture
def exported_patient(db, dispatcher, paramedic, ed_nurse, hospital):
    """An encounter carrying every kind of identifier we hold, handed over and reconciled."""
    paramedic.unit.call_sign = "ZULU-77"
    paramedic.unit.save()
    assignment = make_assignment(paramedic.unit, dispatcher)
    Call.objects.create(
        incident=assignment.incident,
        caller_name="Matti Korhonen",
        caller_phone=PHONE,
        received_at=timezone.now(),
        taken_by=dispatcher,
    )
    encounter = encounter_open(
        user=paramedic,
        assignment_id=assignment.pk,
        data={
            "family_name": "Korhonen",
            "given_name": "Helmi",
            "birth_date": "1931-02-03",
            "chief_complaint": "collapsed at the Korhonen sauna",
        },
    )
    vitals_record(
        user=paramedic,
        encounter_id=encounter.pk,
        data={"heart_rate": 44, "respiratory_rate": 10, "systolic_bp": 82, "spo2": 90},
        client_id="vit-zulu-77-a",
        device_id="tablet-zulu-77",
    )
    destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )
    crew_message_send(user=paramedic, encounter_id=encounter.pk, text="Helmi is 93")
    admission_reconcile(user=ed_nurse, encounter_id=encounter.pk, mrn="MRN-424242")
    encounter.refresh_from_db()
    return encounter


def _export(tmp_path, name, *args):
    out = tmp_path / name
    stdout = StringIO()
    call_command("export_deidentified", "--out", str(out), *args, stdout=stdout)
    return out, stdout.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_command_writes_no_identifier_of_the_patient(tmp_path, exported_patient, fmt):
    encounter = exported_patient
    out, printed = _export(tmp_path, f"export.{fmt}", "--format", fmt)
    text = out.read_text()
    for needle in (
        "Korhonen",
        "Helmi",
        PHONE,
        "MRN-424242",
        encounter.temp_identifier,
        str(encounter.public_id),
        "tablet-zulu-77",
        "vit-zulu-77",
        "ZULU-77",
        "sauna",
        "1931",
        timezone.localdate().isoformat(),
    ):
        assert needle not in text
        assert needle not in printed
    assert printed.strip() == "Exported 1 encounters and 1 vitals sets."


def test_command_csv_has_one_row_per_record_with_the_age_aggregated(tmp_path, exported_patient):
    out, _ = _export(tmp_path, "export.csv")
    rows = list(csv.DictReader(out.open()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["record"] for r in rows] == ["encounter", "vitals"]
    assert rows[0]["age"] == "90+"
    assert rows[0]["year"] == str(timezone.now().year)
    assert rows[1]["heart_rate"] == "44"
    assert rows[0]["patient"] == rows[1]["patient"]


def test_command_jsonl_keeps_the_intervals(tmp_path, exported_patient):
    out, _ = _export(tmp_path, "export.jsonl", "--format", "jsonl")
    encounter, vitals = (json.loads(line) for line in out.read_text().splitlines())
    assert encounter["t_unit_notified_s"] is not None
    assert vitals["t_taken_s"] is not None
    assert encounter["age"] == "90+"


def test_two_command_exports_give_different_pseudonyms(tmp_path, exported_patient):
    first, _ = _export(tmp_path, "a.jsonl", "--format", "jsonl")
    second, _ = _export(tmp_path, "b.jsonl", "--format", "jsonl")
    a = json.loads(first.read_text().splitlines()[0])
    b = json.loads(second.read_text().splitlines()[0])
    assert a["patient"] != b["patient"]


def test_command_filters_by_call_date(tmp_path, exported_patient):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    _, printed = _export(tmp_path, "later.csv", "--since", tomorrow)
    assert printed.strip() == "Exported 0 encounters and 0 vitals sets."
    today = timezone.localdate().isoformat()
    _, printed = _export(tmp_path, "today.csv", "--since", today, "--until", today)
    assert printed.strip() == "Exported 1 encounters and 1 vitals sets."


def test_unrelated_patients_are_exported_too(tmp_path, exported_patient, dispatcher):
    other = factories.CrewFactory(unit=factories.UnitFactory())
    assignment = make_assignment(other.unit, dispatcher)
    encounter_open(user=other, assignment_id=assignment.pk, data={})
    _, printed = _export(tmp_path, "all.csv")
    assert printed.strip() == "Exported 2 encounters and 1 vitals sets."
