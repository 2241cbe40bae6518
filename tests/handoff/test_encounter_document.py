"""Our models map onto the exporters' EncounterDocument, and it exports."""

import pytest
from django.utils import timezone

from handoff import selectors
from handoff.interop import document, fhir, hl7
from handoff.services.encounters import encounter_update
from handoff.services.handover import patient_arrived
from handoff.services.vitals import vitals_record

pytestmark = pytest.mark.django_db


def test_encounter_document_carries_the_record_and_exports(paramedic, ed_nurse, routed):
    encounter_update(
        user=paramedic,
        encounter_id=routed.pk,
        data={
            "medications": [{"name": "warfarin", "anticoagulant": True}],
            "findings": {"cardiac_arrest": True},
        },
    )
    vitals_record(
        user=paramedic,
        encounter_id=routed.pk,
        data={"heart_rate": 110, "blood_glucose": 5.5, "blood_glucose_unit": "mmol/L"},
        client_id="v1",
    )
    patient_arrived(user=paramedic, encounter_id=routed.pk)
    routed.refresh_from_db()
    doc = selectors.encounter_document(routed)
    assert doc.status == "arrived"
    assert doc.patient.family == "Virtanen"
    assert doc.patient.temp_id == routed.temp_identifier
    assert doc.medications == [("warfarin", True)]
    assert doc.vitals[0].units == {"blood_glucose": "mmol/L"}
    assert "blood_glucose_unit" not in doc.vitals[0].values
    assert [a.kind for a in doc.activations] == ["cardiac arrest"]
    bundle = fhir.encounter_bundle(doc)
    assert bundle["resourceType"] == "Bundle"
    message = hl7.adt_message(
        doc,
        "A04",
        sending_facility="GOLDENHOUR",
        receiving_facility="ED",
        control_id="1",
        now=timezone.now(),
    )
    assert routed.temp_identifier in message


def test_document_names_the_recording_crew_ems_service_and_missing_news2(
    paramedic, ed_nurse, routed
):
    vitals_record(
        user=paramedic,
        encounter_id=routed.pk,
        data={"heart_rate": 110, "systolic_bp": 120},
        client_id="v1",
    )
    routed.refresh_from_db()
    doc = selectors.encounter_document(routed)

    assert doc.crew == (
        document.CrewMember(str(paramedic.pk), paramedic.last_name, paramedic.first_name),
    )
    centre = routed.assignment.unit.centre
    assert doc.ems_organization == document.EmsOrganization(centre.code, centre.name)
    assert set(doc.vitals[0].news2_missing) >= {"respiratory_rate", "spo2", "temperature"}
    bundle = fhir.encounter_bundle(doc)
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert {"Practitioner", "PractitionerRole"} <= kinds


@pytest.mark.parametrize(
    ("base", "temp_system"),
    [
        (None, "urn:golden-hour:temp-id"),
        ("https://ems.example.fi/sid", "https://ems.example.fi/sid/temp-id"),
        ("urn:oid:1.2.246.537.10", "urn:oid:1.2.246.537.10.1"),
    ],
)
def test_identifier_systems_follow_the_settings(settings, routed, base, temp_system):
    settings.FHIR_IDENTIFIER_BASE = base
    settings.FHIR_MRN_SYSTEMS = {}
    doc = selectors.encounter_document(routed)

    assert doc.systems.temp_id == temp_system
    (patient,) = [
        e["resource"] for e in fhir.encounter_bundle(doc)["entry"]
        if e["resource"]["resourceType"] == "Patient"
    ]  # fmt: skip
    assert patient["identifier"][-1]["system"] == temp_system
