"""The FHIR document of records made through the services, from the factories' fixtures and
from the demo's seeded region (its crew, units and hospitals), is valid FHIR R4 at every
step of an encounter: the R4 JSON schema, the vital-signs profile claims and every
reference resolved inside the Bundle at each step; R4 cardinalities and invariants at the
first, the fullest and the last."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import User
from handoff import selectors
from handoff.interop.fhir import encounter_bundle
from handoff.interop.fhir.validation import schema_issues
from handoff.models import Hospital
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open, encounter_update
from handoff.services.handover import patient_arrived, transfer_of_care_confirm
from handoff.services.treatment import intervention_record, medication_record
from handoff.services.vitals import vitals_record
from tests.handoff.conftest import PATIENT, make_assignment
from tests.handoff.interop.invariants import violations

pytestmark = pytest.mark.django_db

VITALSIGNS = "http://hl7.org/fhir/StructureDefinition/vitalsigns"


def _references(node: object) -> list[str]:
    if isinstance(node, dict):
        return [
            ref
            for key, value in node.items()
            for ref in ([value] if key == "reference" and isinstance(value, str) else [])
            + (_references(value) if key != "reference" else [])
        ]
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []


def _problems(
    encounter: Any, *, replaces: dict[str, str] | None = None, invariants: bool = False
) -> list[str]:
    encounter.refresh_from_db()
    bundle = encounter_bundle(selectors.encounter_document(encounter), replaces=replaces)
    problems = list(schema_issues(bundle))
    if invariants:  # the FHIRPath walk is slow: run where the document has most in it
        problems += [str(v) for v in violations(bundle)[0]]
        for entry in bundle["entry"]:
            problems += [str(v) for v in violations(entry["resource"])[0]]
    urls = {entry["fullUrl"] for entry in bundle["entry"]}
    problems += [f"dangling {ref}" for ref in _references(bundle) if ref not in urls]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        categories = {
            coding.get("code")
            for category in resource.get("category", [])
            for coding in category.get("coding", [])
        }
        claimed = resource.get("meta", {}).get("profile", [])
        if "vital-signs" in categories and VITALSIGNS not in claimed:
            problems.append(f"{resource['id']} claims no vital-signs profile")
    return problems


def _walk_an_encounter(crew: Any, ed_staff: Any, encounter: Any, hospitals: list[Any]) -> None:
    """Record a whole encounter, checking the document after every change."""
    # Freshly opened: nothing recorded, no destination.
    assert _problems(encounter, invariants=True) == []
    vitals_record(
        user=crew,
        encounter_id=encounter.pk,
        data={"heart_rate": 118, "respiratory_rate": 26, "systolic_bp": 88, "spo2": 89},
        client_id="v1",
    )
    vitals_record(
        user=crew,
        encounter_id=encounter.pk,
        data={
            "heart_rate": 104,
            "systolic_bp": 102,
            "diastolic_bp": 64,
            "temperature": 38.9,
            "blood_glucose": 5.5,
            "blood_glucose_unit": "mmol/L",
            "gcs_eye": 3,
            "gcs_verbal": 4,
            "gcs_motor": 6,
            "avpu": "V",
            "pain_score": 4,
        },
        client_id="v2",
    )
    encounter_update(
        user=crew,
        encounter_id=encounter.pk,
        data={
            "allergies": ["Penicillin"],
            "medications": [{"name": "warfarin", "anticoagulant": True}],
            "findings": {"cardiac_arrest": True},
        },
    )
    assert _problems(encounter) == []
    intervention_record(
        user=crew, encounter_id=encounter.pk, client_id="i1", text="IV access | 18G"
    )
    medication_record(
        user=crew, encounter_id=encounter.pk, client_id="m1", name="Aspirin",
        dose=300, unit="mg", route="PO",
    )  # fmt: skip
    for hospital in hospitals:  # a reroute too: every destination's document
        destination_set(
            user=crew, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
        )
        assert _problems(encounter) == []
    replaces = {"system": "urn:ietf:rfc:3986", "value": "urn:x"}
    assert _problems(encounter, replaces=replaces, invariants=True) == []
    patient_arrived(user=crew, encounter_id=encounter.pk)
    assert _problems(encounter) == []
    transfer_of_care_confirm(user=crew, encounter_id=encounter.pk)
    transfer_of_care_confirm(user=ed_staff, encounter_id=encounter.pk)
    assert _problems(encounter, invariants=True) == []


def test_the_factories_encounter_documents_are_valid_r4(paramedic, ed_nurse, encounter, hospital):
    _walk_an_encounter(paramedic, ed_nurse, encounter, [hospital])


def test_the_demo_regions_encounter_documents_are_valid_r4():
    call_command("seed_demo", stdout=StringIO())
    crew = User.objects.get(username="paramedic")
    dispatcher = User.objects.get(username="dispatcher")
    ed_nurse = User.objects.get(username="ednurse")
    assignment = make_assignment(crew.unit, dispatcher)
    encounter = encounter_open(user=crew, assignment_id=assignment.pk, data=PATIENT)
    assert ed_nurse.hospital is not None
    own = ed_nurse.hospital.pk
    hospitals = sorted(Hospital.objects.all(), key=lambda h: h.pk != own)
    # Every demo hospital in turn, the ED nurse's last (she confirms the handover there).
    hospitals = hospitals[1:] + hospitals[:1]
    assert len(hospitals) >= 4
    _walk_an_encounter(crew, ed_nurse, encounter, hospitals)


def test_the_document_says_its_language_confidentiality_and_the_care_event(
    paramedic, ed_nurse, encounter, hospital
):
    """mPSC's Composition header: language, confidentiality, and the event it documents
    (from the call to the transfer of care), with the unit's eTimes in EMS times."""
    from datetime import timedelta

    assignment = encounter.assignment
    called = assignment.incident.call_received_at
    assignment.en_route_at = called + timedelta(minutes=1)
    assignment.on_scene_at = called + timedelta(minutes=7)
    assignment.save(update_fields=["en_route_at", "on_scene_at"])
    destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )
    patient_arrived(user=paramedic, encounter_id=encounter.pk)
    transfer_of_care_confirm(user=paramedic, encounter_id=encounter.pk)
    transfer_of_care_confirm(user=ed_nurse, encounter_id=encounter.pk)
    encounter.refresh_from_db()
    bundle = encounter_bundle(selectors.encounter_document(encounter))
    composition = bundle["entry"][0]["resource"]
    assert (composition["language"], composition["confidentiality"]) == ("en-GB", "N")
    (event,) = composition["event"]
    assert event["period"] == {
        "start": called.isoformat(),
        "end": encounter.transfer_of_care_at.isoformat(),
    }
    assert event["detail"] == [{"reference": composition["encounter"]["reference"]}]
    assert event["code"][0]["coding"][0]["code"] == "PCPR"
    times = next(s for s in composition["section"] if s["title"] == "EMS times")
    narrative = times["text"]["div"]
    for line in ("PSAP call (eTimes.01)", "Unit en route (eTimes.05)", "(eTimes.06)"):
        assert line in narrative
    assert "Unit left scene" not in narrative  # not recorded: not claimed
    assert schema_issues(bundle) == []
