"""Realistic encounters for the NEMSIS tests, built through the services as a crew would."""

from __future__ import annotations

from datetime import date

from dispatch.models import AssignmentStatus
from dispatch.services import assignment_transition
from handoff.models import Encounter
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open
from handoff.services.handover import patient_arrived, transfer_of_care_confirm
from handoff.services.treatment import intervention_record, medication_record
from handoff.services.vitals import vitals_record
from tests.handoff.conftest import make_assignment

ECG_12_LEAD = "268400002"  # SNOMED CT: 12 lead electrocardiogram


def stemi_patient(*, crew, ed_nurse, hospital, dispatcher, unit) -> Encounter:
    """Chest pain, STEMI on the 12-lead, aspirin and GTN, taken to a PCI centre and handed
    over: two vitals sets (the second partial), a procedure, two medications."""
    assignment = make_assignment(unit, dispatcher, status=AssignmentStatus.DISPATCHED)
    for step in ("en_route", "on_scene"):
        assignment_transition(user=crew, assignment_id=assignment.pk, to_status=step)
    encounter = encounter_open(
        user=crew,
        assignment_id=assignment.pk,
        data={
            "family_name": "Virtanen",
            "given_name": "Aino",
            "sex": "female",
            "birth_date": date(1951, 4, 2),
            "age_text": "75",
            "chief_complaint": "Crushing chest pain",
            "mechanism": "Chest pain at rest for 40 minutes",
            "injuries": "Inferior ST elevation",
            "working_impression": "Acute inferior STEMI",
            "working_impression_code": "I21.19",
            "allergies": ["penicillin", "morphine"],
            "medications": [{"name": "warfarin", "anticoagulant": True}],
            "history": ["hypertension"],
        },
    )
    vitals_record(
        user=crew,
        encounter_id=encounter.pk,
        data={
            "heart_rate": 118,
            "respiratory_rate": 24,
            "systolic_bp": 96,
            "diastolic_bp": 60,
            "spo2": 93,
            "temperature": 36.8,
            "gcs_eye": 4,
            "gcs_verbal": 5,
            "gcs_motor": 6,
            "avpu": "A",
            "pain_score": 8,
            "cardiac_rhythm": "Sinus tachycardia",
            "blood_glucose": 6.1,
            "blood_glucose_unit": "mmol/L",
            "etco2": 4.8,
            "etco2_unit": "kPa",
            "ecg_stemi": True,
        },
        client_id="v1",
        device_id="tab-1",
    )
    vitals_record(
        user=crew,
        encounter_id=encounter.pk,
        data={"heart_rate": 104, "systolic_bp": 104, "spo2": 95},
        client_id="v2",
        device_id="tab-1",
    )
    intervention_record(
        user=crew, encounter_id=encounter.pk, client_id="p1", text="12-lead ECG", code=ECG_12_LEAD
    )
    medication_record(
        user=crew,
        encounter_id=encounter.pk,
        client_id="m1",
        name="Aspirin",
        dose=300,
        unit="mg",
        route="PO",
    )
    medication_record(
        user=crew,
        encounter_id=encounter.pk,
        client_id="m2",
        name="GTN",
        dose=0.4,
        unit="mg",
        route="SL",
    )
    destination_set(
        user=crew, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="protocol"
    )
    for step in ("transporting", "at_destination"):
        assignment_transition(user=crew, assignment_id=assignment.pk, to_status=step)
    patient_arrived(user=crew, encounter_id=encounter.pk)
    transfer_of_care_confirm(user=crew, encounter_id=encounter.pk)
    transfer_of_care_confirm(user=ed_nurse, encounter_id=encounter.pk)
    assignment_transition(user=crew, assignment_id=assignment.pk, to_status="cleared")
    return Encounter.objects.get(pk=encounter.pk)


def treated_on_scene(*, crew, dispatcher, unit, clear: bool = True) -> Encounter:
    """A patient seen on scene and left there: nothing measured, the unit cleared."""
    assignment = make_assignment(unit, dispatcher, status=AssignmentStatus.DISPATCHED)
    for step in ("en_route", "on_scene"):
        assignment_transition(user=crew, assignment_id=assignment.pk, to_status=step)
    encounter = encounter_open(user=crew, assignment_id=assignment.pk, data={})
    if clear:
        assignment_transition(user=crew, assignment_id=assignment.pk, to_status="cleared")
    return Encounter.objects.get(pk=encounter.pk)
