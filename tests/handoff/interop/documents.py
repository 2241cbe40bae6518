"""Hand-built encounter documents for the exporter tests (no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

from handoff.interop.document import (
    Activation,
    CrewMember,
    EmsOrganization,
    EncounterDocument,
    MedicationGiven,
    PatientInfo,
    Procedure,
    VitalsEntry,
)

T0 = datetime(2025, 3, 14, 9, 26, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def unknown_patient(**changes: Any) -> PatientInfo:
    patient = PatientInfo(
        temp_id="GH-7F3K2Q",
        mrn=None,
        family=None,
        given=None,
        sex="male",
        birth_date=None,
        estimated_age_years=70,
    )
    return dataclasses.replace(patient, **changes)


def reconciled_patient(**changes: Any) -> PatientInfo:
    return unknown_patient(
        mrn="00412345",
        family="O'Brien",
        given="Liam",
        birth_date=date(1954, 6, 2),
        estimated_age_years=None,
        **changes,
    )


def full_vitals() -> VitalsEntry:
    return VitalsEntry(
        id="v2",
        taken_at=at(10),
        values={
            "heart_rate": 112,
            "respiratory_rate": 24,
            "systolic_bp": 96,
            "diastolic_bp": 58,
            "spo2": 91,
            "on_oxygen": True,
            "temperature": 38.4,
            "gcs_eye": 3,
            "gcs_verbal": 4,
            "gcs_motor": 6,
            "gcs_total": 13,
            "blood_glucose": 4.2,
            "pain_score": 6,
            "etco2": 4.1,
            "avpu": "V",
            "cardiac_rhythm": "Sinus tachycardia",
            "stroke_scale_score": 6,
            "stroke_scale_type": "RACE",
        },
        units={"blood_glucose": "mmol/L", "etco2": "kPa"},
        news2_total=11,
        news2_complete=True,
        gcs_total=13,
    )


def first_vitals() -> VitalsEntry:
    return VitalsEntry(
        id="v1",
        taken_at=at(0),
        values={"heart_rate": 104, "systolic_bp": 102, "blood_glucose": 76},
        units={"blood_glucose": "mg/dL"},
        news2_total=3,
        news2_complete=False,
        gcs_total=None,
    )


def encounter(**changes: Any) -> EncounterDocument:
    doc = EncounterDocument(
        encounter_id="enc-2025-0001",
        incident_id=4711,
        status="planned",
        hospital_code="STMARY",
        hospital_name="St Mary's Hospital",
        unit_call_sign="MEDIC 12",
        chief_complaint="Left-sided weakness | slurred speech ^ since 08:50 ~ wife says & more \\",
        working_impression="Acute ischaemic stroke",
        working_impression_code="I63.9",
        allergies=["Penicillin", "Latex"],
        medications=[("Apixaban", True), ("Metformin", False)],
        history=["Atrial fibrillation", "Type 2 diabetes"],
        last_known_well=at(-36),
        eta=at(40),
        arrived_at=None,
        transfer_of_care_at=None,
        destination_reason="Thrombectomy-capable stroke centre (RACE 6)",
        patient=unknown_patient(),
        vitals=[full_vitals(), first_vitals()],
        procedures=[Procedure("p1", at(5), "12-lead ECG", "268400002")],
        medications_given=[
            MedicationGiven("m1", at(8), "Ondansetron", 4, "mg", "IV"),
            MedicationGiven("m2", at(9), "Oxygen", 15, "L/min", "non-rebreather mask"),
        ],
        activations=[
            Activation("a1", "stroke", "RACE 6 suggests large-vessel occlusion", at(11), at(12)),
            Activation("a2", "deterioration", "NEWS2 11 (high)", at(11), None),
        ],
        created_at=at(0),
        updated_at=at(12),
        crew=(CrewMember("17", "Korhonen", "Aino"), CrewMember("23", "Nieminen", "Mikko")),
        ems_organization=EmsOrganization("HEMS", "Helsinki EMS"),
    )
    return dataclasses.replace(doc, **changes)


def empty_encounter(**changes: Any) -> EncounterDocument:
    """The first document of a fresh encounter: nothing recorded yet, every section empty."""
    nothing: dict[str, Any] = {
        "vitals": [],
        "procedures": [],
        "medications_given": [],
        "activations": [],
        "allergies": [],
        "medications": [],
        "history": [],
        "working_impression": "",
        "working_impression_code": None,
        "chief_complaint": "",
        "eta": None,
        "last_known_well": None,
    }
    return encounter(**(nothing | changes))
