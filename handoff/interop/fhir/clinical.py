"""The clinical record: working impression and history (Condition), allergies, current
medications (with the anticoagulant Flag), medications given, procedures and team
activations."""

from __future__ import annotations

from typing import Any

from handoff.clinical.activation import EDISPOSITION_24_KINDS
from handoff.interop.document import (
    EncounterDocument,
    MedicationGiven,
    impression_code_system,
)
from handoff.interop.fhir._builder import Resource, _Builder, _coding, _concept, _time
from handoff.interop.fhir.codes import (
    DOSE_UCUM,
    ICD10CM,
    LOINC,
    SNOMED,
    TEAM_ACTIVATION_LOINC,
    UCUM,
)


def _conditions(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str]
) -> list[dict[str, str]]:
    refs: list[dict[str, str]] = []
    if doc.working_impression or doc.working_impression_code:
        codings = []
        if doc.working_impression_code:
            system = (
                SNOMED
                if impression_code_system(doc.working_impression_code) == "snomed"
                else ICD10CM
            )
            codings.append(_coding(system, doc.working_impression_code.strip()))
        condition: Resource = {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [
                    _coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active")
                ]
            },
            "verificationStatus": {
                "coding": [
                    _coding(
                        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "provisional",
                    )
                ]
            },
            "category": [
                {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/condition-category",
                            "encounter-diagnosis",
                        )
                    ]
                }
            ],
            "code": _concept(doc.working_impression or doc.working_impression_code or "", *codings),
            "subject": patient,
            "encounter": b.ref("Encounter"),
            "recordedDate": _time(doc.updated_at, "updated_at"),
        }
        if doc.last_known_well is not None:
            # Last known well (eSituation.18) bounds the onset from below; the onset itself
            # is unknown, so it is the start of an open onset period.
            condition["onsetPeriod"] = {"start": _time(doc.last_known_well, "last_known_well")}
        refs.append(b.add("Condition", "working-impression", condition))
    for index, item in enumerate(doc.history):
        # History is as reported to the crew: whether each item is still active is not
        # known, so clinicalStatus is left out rather than guessed.
        history: Resource = {
            "resourceType": "Condition",
            "verificationStatus": {
                "coding": [
                    _coding(
                        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "unconfirmed",
                    )
                ]
            },
            "category": [
                {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/condition-category",
                            "problem-list-item",
                        )
                    ]
                }
            ],
            "code": {"text": item},
            "subject": patient,
            "note": [{"text": "reported to the EMS crew"}],
        }
        refs.append(b.add("Condition", f"history/{index}", history))
    return refs


def _allergies(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str]
) -> list[dict[str, str]]:
    return [
        b.add(
            "AllergyIntolerance",
            str(index),
            {
                "resourceType": "AllergyIntolerance",
                "clinicalStatus": {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                            "active",
                        )
                    ]
                },
                "verificationStatus": {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                            "unconfirmed",
                        )
                    ]
                },
                "code": {"text": allergy},
                "patient": patient,
                "encounter": b.ref("Encounter"),
            },
        )
        for index, allergy in enumerate(doc.allergies)
    ]


def _current_medications(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    statements: list[dict[str, str]] = []
    flags: list[dict[str, str]] = []
    for index, (name, anticoagulant) in enumerate(doc.medications):
        statement: Resource = {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": name},
            "subject": patient,
            "context": b.ref("Encounter"),
            "dateAsserted": _time(doc.updated_at, "updated_at"),
        }
        if anticoagulant:
            statement["note"] = [{"text": "anticoagulant"}]
            # Anticoagulation changes stroke, head-injury and bleeding management before the
            # chart is opened, so it is also raised as a Flag the ED sees up front.
            flags.append(
                b.add(
                    "Flag",
                    f"anticoagulant/{index}",
                    {
                        "resourceType": "Flag",
                        "status": "active",
                        "category": [
                            _concept(
                                "Clinical",
                                _coding(
                                    "http://terminology.hl7.org/CodeSystem/flag-category",
                                    "clinical",
                                ),
                            )
                        ],
                        "code": {"text": f"Anticoagulated: {name}"},
                        "subject": patient,
                        "encounter": b.ref("Encounter"),
                    },
                )
            )
        statements.append(b.add("MedicationStatement", str(index), statement))
    return statements, flags


def _dose(med: MedicationGiven) -> dict[str, Any] | None:
    dosage: dict[str, Any] = {}
    if med.route:
        dosage["route"] = {"text": med.route}
    if med.dose is not None:
        dose: dict[str, Any] = {"value": med.dose}
        if med.dose_unit:
            dose["unit"] = med.dose_unit
            ucum = DOSE_UCUM.get(med.dose_unit)
            if ucum is not None:
                dose |= {"system": UCUM, "code": ucum}
        dosage["dose"] = dose
    return dosage or None


def _medications_given(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str]
) -> list[dict[str, str]]:
    refs: list[dict[str, str]] = []
    for med in doc.medications_given:
        administration: Resource = {
            "resourceType": "MedicationAdministration",
            "status": "completed",
            "medicationCodeableConcept": {"text": med.name},
            "subject": patient,
            "context": b.ref("Encounter"),
            "effectiveDateTime": _time(med.given_at, "given_at"),
        }
        dosage = _dose(med)
        if dosage is not None:
            administration["dosage"] = dosage
        refs.append(b.add("MedicationAdministration", med.id, administration))
    return refs


def _procedures(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str]
) -> list[dict[str, str]]:
    refs: list[dict[str, str]] = []
    for procedure in doc.procedures:
        codings = [_coding(SNOMED, procedure.snomed_code)] if procedure.snomed_code else []
        refs.append(
            b.add(
                "Procedure",
                procedure.id,
                {
                    "resourceType": "Procedure",
                    "status": "completed",
                    "code": _concept(procedure.text, *codings),
                    "subject": patient,
                    "encounter": b.ref("Encounter"),
                    "performedDateTime": _time(procedure.performed_at, "performed_at"),
                },
            )
        )
    return refs


def _activations(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str]
) -> list[dict[str, str]]:
    refs: list[dict[str, str]] = []
    for activation in doc.activations:
        proposed = _time(activation.proposed_at, "proposed_at")
        refs.append(
            b.add(
                "Flag",
                f"activation/{activation.id}",
                {
                    "resourceType": "Flag",
                    "status": "active",
                    "category": [
                        _concept(
                            "Clinical",
                            _coding(
                                "http://terminology.hl7.org/CodeSystem/flag-category", "clinical"
                            ),
                        )
                    ],
                    "code": {"text": f"{activation.kind} team activation: {activation.reason}"},
                    "subject": patient,
                    "period": {"start": proposed},
                    "encounter": b.ref("Encounter"),
                },
            )
        )
        # "deterioration" has no eDisposition.24 value (see handoff/clinical/activation.py):
        # it is an ED alert only, never coded as a pre-arrival activation.
        if activation.kind in EDISPOSITION_24_KINDS:
            observation: Resource = {
                "resourceType": "Observation",
                "status": "final",
                "code": _concept(
                    "Pre-arrival team activation", _coding(LOINC, TEAM_ACTIVATION_LOINC)
                ),
                "subject": patient,
                "encounter": b.ref("Encounter"),
                "effectiveDateTime": proposed,
                "valueCodeableConcept": {"text": activation.kind},
                "note": [{"text": activation.reason}],
            }
            refs.append(b.add("Observation", f"activation/{activation.id}", observation))
    return refs
