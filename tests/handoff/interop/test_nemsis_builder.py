"""The NEMSIS builder on hand-made records (no database): the paths the service-built
encounters do not take (cardiac arrest, injury, an infant, a BLS unit, a patient who refused
transport, no vitals or treatment) still pass XSD and Schematron, with the codes they mean."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from lxml import etree

from handoff.interop import document as d
from handoff.interop.nemsis import builder
from handoff.interop.nemsis import record as r

from .nemsis import check, failing

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
N = {"n": "http://www.nemsis.org"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(**changes) -> r.PcrInput:
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
        patient=d.PatientInfo(
            temp_id="T-1",
            mrn=None,
            family=None,
            given=None,
            sex="other",
            birth_date=date(2026, 9, 20),
            estimated_age_years=None,
        ),
        vitals=[
            d.VitalsEntry(
                id="v1",
                taken_at=at(12),
                values={"heart_rate": 180, "cardiac_rhythm": "Ventricular tachycardia"},
                units={},
                news2_total=None,
                news2_complete=False,
                gcs_total=None,
            )
        ],
        procedures=[],
        medications_given=[
            d.MedicationGiven(
                id="m1", given_at=at(14), name="adrenaline", dose=10, dose_unit="mcg", route="IO"
            )
        ],
        activations=[],
        created_at=at(11),
        updated_at=at(50),
    )
    base = r.PcrInput(
        uuid="4b7c2a7e-6f7e-4a51-9d55-8b1f7f0b3c11",
        document=doc,
        agency=r.Agency(state_id="GH-DEV", number="GH-DEV-1", state="00"),
        software=r.Software(creator="Golden Hour project", name="Golden Hour", version="0.1.0"),
        times=r.ResponseTimes(
            psap_call=at(0),
            unit_notified=at(1),
            en_route=at(2),
            on_scene=at(10),
            left_scene=at(30),
            at_destination=at(45),
            transfer_of_care=at(50),
            back_in_service=at(70),
        ),
        response=r.Response(
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
        ),
        destination=r.Destination(
            code="central", name="Central ED", reason="closest", capabilities=("pediatric",)
        ),
        team_alerts=(r.TeamAlert(kind="cardiac_arrest", sent_at=at(20)),),
        findings={
            "cardiac_arrest": True,
            "suspected_pelvic_fracture": True,
            "befast": {"face": True, "arm": True, "speech": False, "eyes": True},
        },
    )
    return replace(base, **changes)


def _xml(data: r.PcrInput) -> bytes:
    return builder.dataset_bytes([data])


def _values(document: bytes, element: str) -> list[str | None]:
    return [e.text for e in etree.fromstring(document).iterfind(f".//n:{element}", N)]


def _nv(document: bytes, element: str) -> list[str | None]:
    return [e.get("NV") for e in etree.fromstring(document).iterfind(f".//n:{element}", N)]


def test_an_infant_in_cardiac_arrest_carried_by_a_bls_unit_passes():
    document = _xml(record())
    report = check(document)
    assert report.xsd == ()
    assert failing(report) == []
    assert _values(document, "ePatient.15") == ["2"]
    assert _values(document, "ePatient.16") == ["2516007"]  # months
    assert _values(document, "ePatient.25") == ["9919005"]  # "other" has no code: Unknown
    assert _values(document, "eVitals.03") == ["9901071"]  # VT in an arrest: pulseless
    assert _nv(document, "eArrest.01") == ["7701003"]  # an arrest, its timing not recorded
    assert _values(document, "eSituation.02") == ["9922005"]
    assert _values(document, "eMedications.05") == ["10"]
    assert _values(document, "eMedications.06") == ["3706015"]
    assert _values(document, "eMedications.04") == ["9927021"]
    assert _values(document, "eResponse.07") == ["2207017"]
    assert _values(document, "eDisposition.24") == ["4224005"]
    assert _values(document, "eDisposition.32") == ["4232001"]
    assert _values(document, "eDispatch.01") == ["2301077"]
    # BE-FAST as one assessment; what has no NEMSIS code is in the narrative.
    assert _values(document, "eExam.16") == ["3516083"]
    assert _values(document, "eExam.20") == ["3520031", "3520027"]
    narrative = _values(document, "eNarrative.01")[0]
    assert "BE-FAST positive: face, arm, eyes" in narrative
    assert "suspected pelvic fracture" in narrative


def test_a_patient_who_refused_transport_passes_with_not_applicable_transport():
    document = _xml(
        record(
            destination=None,
            team_alerts=(),
            findings={},
            times=replace(
                record().times, left_scene=None, at_destination=None, transfer_of_care=None
            ),
            response=replace(record().response, incident_disposition="patient_refused"),
            document=replace(record().document, vitals=[], medications_given=[]),
        )
    )
    report = check(document)
    assert report.xsd == ()
    assert failing(report) == []
    assert _values(document, "eDisposition.28") == ["4228003"]
    assert _values(document, "eDisposition.30") == ["4230009"]
    assert _nv(document, "eTimes.09") == ["7701001"]
    assert _nv(document, "eMedications.03") == ["7701001"]
    assert _values(document, "eArrest.01") == ["3001001"]
    assert _nv(document, "eSituation.02") == ["7701003"]  # injury neither said nor denied
    assert _values(document, "eDisposition.24") == ["4224001"]


@pytest.mark.parametrize(
    ("changes", "element"),
    [
        ({"route": "rectal-ish"}, "eMedications.04"),
        ({"dose_unit": "tablespoons"}, "eMedications.05"),
        ({"name": "Kaliumjodidi"}, "eMedications.03"),
    ],
)
def test_free_text_treatment_goes_out_not_recorded_and_in_the_narrative(changes, element):
    data = record()
    given = replace(data.document.medications_given[0], **changes)
    procedure = d.Procedure(id="p1", performed_at=at(13), text="Splinted", snomed_code=None)
    data = replace(
        data, document=replace(data.document, medications_given=[given], procedures=[procedure])
    )
    document = _xml(data)
    report = check(document)
    assert report.xsd == ()
    assert failing(report) == []
    assert _nv(document, element) == ["7701003"]
    assert _values(document, "eMedications.01") == [at(14).isoformat()]
    # A procedure was done, only not coded: Not Recorded, not Not Applicable.
    assert _nv(document, "eProcedures.03") == ["7701003"]
    narrative = _values(document, "eNarrative.01")[0]
    assert "Treatment without a NEMSIS code:" in narrative
    assert given.name in narrative
    assert "Splinted at " in narrative
