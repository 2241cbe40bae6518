"""FHIR R4 document Bundle for one pre-hospital encounter (see docs/interop.md).

The output is a plain dict (JSON-ready), validated in the tests against the R4B models of
fhir.resources; R4B is wire-compatible with R4 for every resource used here. Codes come
from `handoff.clinical.vocabulary.VITALS`, so a LOINC code is written down once.

Resource ids are UUIDv5 of (encounter id, kind, row id): re-sending the same encounter
gives the same fullUrls, so a receiver can match an updated document to the last one.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from handoff.clinical.activation import EDISPOSITION_24_KINDS
from handoff.clinical.vocabulary import UNIT_ALIASES, VITALS, Kind
from handoff.interop.document import (
    EncounterDocument,
    MedicationGiven,
    VitalsEntry,
    impression_code_system,
    require_aware,
)

Resource = dict[str, Any]

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
SNOMED: Final = "http://snomed.info/sct"
ICD10CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
TEMP_ID_SYSTEM: Final = "urn:golden-hour:temp-id"
ENCOUNTER_ID_SYSTEM: Final = "urn:golden-hour:encounter"
INCIDENT_ID_SYSTEM: Final = "urn:golden-hour:incident"
HOSPITAL_CODE_SYSTEM: Final = "urn:golden-hour:hospital"
AVPU_SYSTEM: Final = "urn:golden-hour:avpu"
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON: Final = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
# R4 Encounter has no planned start; this is the official R5 -> R4 cross-version extension
# for R5's Encounter.plannedStartDate, used for the ETA.
PLANNED_START_EXTENSION: Final = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedStartDate"
)
# Fixed namespace for the UUIDv5 resource ids; changing it changes every fullUrl.
_NAMESPACE: Final = uuid.UUID("6f1c1f0e-2b7a-5c1e-9d4e-8a3f0e6b9c21")

BP_PANEL: Final = "85354-9"
VITALS_PANEL: Final = "85353-1"
SPO2_PULSE_OXIMETRY: Final = "59408-5"
AGE_LOINC: Final = "30525-0"
TEAM_ACTIVATION_LOINC: Final = "69462-0"  # NEMSIS eDisposition.24, time eDisposition.25
DOCUMENT_TYPE_LOINC: Final = "67796-3"  # EMS patient care report - version 3 Document NEMSIS
# NEWS2 has no LOINC code (88330-6 is NEWS, the 2012 score); the UK SNOMED CT extension has
# "Royal College of Physicians National Early Warning Score 2 - total score".
NEWS2_SNOMED: Final = "1104051000000101"

ENCOUNTER_STATUS: Final[Mapping[str, str]] = {
    "planned": "planned",
    "arrived": "arrived",
    "finished": "finished",
}
COMPOSITION_STATUS: Final[Mapping[str, str]] = {
    "planned": "preliminary",
    "arrived": "preliminary",
    "finished": "final",
}
LOCATION_STATUS: Final[Mapping[str, str]] = {
    "planned": "planned",
    "arrived": "active",
    "finished": "completed",
}
AVPU_DISPLAY: Final[Mapping[str, str]] = {
    "A": "Alert",
    "V": "Responds to voice",
    "P": "Responds to pain",
    "U": "Unresponsive",
}
# Units that travel with the value, in the vocabulary's spelling -> UCUM code.
UCUM_OF_UNIT: Final[Mapping[str, str]] = {
    "mg/dL": "mg/dL",
    "mmol/L": "mmol/L",
    "mmHg": "mm[Hg]",
    "kPa": "kPa",
    "%": "%",
}
# Dose units crews type -> UCUM; anything else is sent as text only, never guessed.
DOSE_UCUM: Final[Mapping[str, str]] = {
    "mg": "mg",
    "g": "g",
    "mcg": "ug",
    "ug": "ug",
    "µg": "ug",
    "ml": "mL",
    "mL": "mL",
    "L": "L",
    "mmol": "mmol",
    "L/min": "L/min",
}
# C-CDA / IPS section codes.
SECTION_CODES: Final[Mapping[str, tuple[str, str]]] = {
    "chief_complaint": ("10154-3", "Chief complaint"),
    "vital_signs": ("8716-3", "Vital signs"),
    "problems": ("11450-4", "Problems"),
    "allergies": ("48765-2", "Allergies and adverse reactions"),
    "medications": ("10160-0", "Current medications"),
    "medications_given": ("29549-3", "Medications administered"),
    "procedures": ("47519-4", "Procedures"),
}

# The order vitals appear in a set; BP and GCS keys fold into one Observation each.
_BP_KEYS: Final = ("systolic_bp", "diastolic_bp")
_GCS_COMPONENTS: Final = ("gcs_eye", "gcs_verbal", "gcs_motor")


def _time(value: datetime, name: str) -> str:
    return require_aware(value, name).isoformat()


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def _concept(text: str, *codings: dict[str, str]) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if codings:
        concept["coding"] = list(codings)
    return concept


def _narrative(lines: Iterable[str]) -> dict[str, str]:
    items = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{items}</div>',
    }


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [_coding(OBSERVATION_CATEGORY, code, display)]}]


class _Builder:
    """Collects resources with stable urn:uuid fullUrls, in bundle order."""

    def __init__(self, encounter_id: str) -> None:
        self.encounter_id = encounter_id
        self.entries: list[Resource] = []

    def url(self, kind: str, key: str = "") -> str:
        return f"urn:uuid:{self.uid(kind, key)}"

    def uid(self, kind: str, key: str = "") -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.encounter_id}/{kind}/{key}"))

    def ref(self, kind: str, key: str = "") -> dict[str, str]:
        return {"reference": self.url(kind, key)}

    def add(self, kind: str, key: str, resource: Resource) -> dict[str, str]:
        resource = {"resourceType": resource.pop("resourceType"), "id": self.uid(kind, key)} | (
            resource
        )
        self.entries.append({"fullUrl": self.url(kind, key), "resource": resource})
        return self.ref(kind, key)


def _quantity(value: float | int, ucum: str, unit: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit or ucum, "system": UCUM, "code": ucum}


def _number(raw: object, key: str) -> float | int:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"vital {key} must be a number")
    return raw


def travelling_unit(entry: VitalsEntry, key: str) -> str:
    """The vocabulary spelling of the unit a glucose/EtCO2 value was recorded in."""
    spec = VITALS[key]
    unit = entry.units.get(key)
    if unit is None and spec.unit_key is not None:
        # The clinical core keeps the unit next to the value as e.g. `blood_glucose_unit`.
        raw = entry.values.get(spec.unit_key, entry.units.get(spec.unit_key))
        unit = raw if isinstance(raw, str) else None
    unit = UNIT_ALIASES.get(unit, unit) if unit is not None else spec.display_unit
    if unit not in spec.units:
        raise ValueError(f"vital {key} has a unit the vocabulary does not accept")
    return unit


class _Vitals:
    """The Observations of one vitals set."""

    def __init__(self, builder: _Builder, entry: VitalsEntry, patient: dict[str, str]) -> None:
        self.b = builder
        self.entry = entry
        self.effective = _time(entry.taken_at, "taken_at")
        self.base: Resource = {
            "status": "final",
            "category": _category("vital-signs", "Vital Signs"),
            "subject": patient,
            "encounter": builder.ref("Encounter"),
            "effectiveDateTime": self.effective,
        }
        self.members: list[dict[str, str]] = []

    def _add(self, key: str, body: Resource) -> None:
        resource: Resource = {"resourceType": "Observation"} | self.base | body
        self.members.append(self.b.add("Observation", f"{self.entry.id}/{key}", resource))

    def _loinc(self, key: str) -> dict[str, Any]:
        spec = VITALS[key]
        return _concept(spec.label, _coding(LOINC, spec.loinc))

    def build(self) -> list[dict[str, str]]:
        values = self.entry.values
        if any(key in values for key in _BP_KEYS):
            self._blood_pressure()
        for key, spec in VITALS.items():
            if key in _BP_KEYS or key.startswith("gcs_") or key not in values:
                continue
            if key == "spo2":
                self._spo2()
            elif spec.kind is Kind.CODE:
                self._coded(key)
            elif key == "stroke_scale_score":
                self._stroke_scale()
            elif spec.units:
                unit = travelling_unit(self.entry, key)
                value = _number(values[key], key)
                self._add(
                    key,
                    {
                        "code": self._loinc(key),
                        "valueQuantity": _quantity(value, UCUM_OF_UNIT[unit], unit),
                    },
                )
            else:
                value = _number(values[key], key)
                self._add(
                    key, {"code": self._loinc(key), "valueQuantity": _quantity(value, spec.ucum)}
                )
        if self.entry.gcs_total is not None or any(
            key in values for key in (*_GCS_COMPONENTS, "gcs_total")
        ):
            self._gcs()
        return self.members

    def _blood_pressure(self) -> None:
        components = [
            {
                "code": self._loinc(key),
                "valueQuantity": _quantity(_number(self.entry.values[key], key), "mm[Hg]", "mmHg"),
            }
            for key in _BP_KEYS
            if key in self.entry.values
        ]
        code = _concept("Blood pressure", _coding(LOINC, BP_PANEL))
        self._add("blood_pressure", {"code": code, "component": components})

    def _spo2(self) -> None:
        spec = VITALS["spo2"]
        code = _concept(spec.label, _coding(LOINC, spec.loinc), _coding(LOINC, SPO2_PULSE_OXIMETRY))
        body: Resource = {
            "code": code,
            "valueQuantity": _quantity(_number(self.entry.values["spo2"], "spo2"), spec.ucum),
        }
        # SpO2 means little without knowing whether the patient was on oxygen (NEWS2 scores
        # it separately), so the modifier travels with the reading when it was recorded.
        on_oxygen = self.entry.values.get("on_oxygen")
        if on_oxygen is not None:
            body["note"] = [{"text": "on supplemental oxygen" if on_oxygen else "on room air"}]
        self._add("spo2", body)

    def _coded(self, key: str) -> None:
        raw = self.entry.values[key]
        if not isinstance(raw, str):
            raise ValueError(f"vital {key} must be a code")
        if key == "avpu":
            code = raw.strip().upper()
            value = _concept(AVPU_DISPLAY.get(code, code), _coding(AVPU_SYSTEM, code))
        else:
            value = {"text": raw}
        self._add(key, {"code": self._loinc(key), "valueCodeableConcept": value})

    def _stroke_scale(self) -> None:
        spec = VITALS["stroke_scale_score"]
        body: Resource = {
            "code": self._loinc("stroke_scale_score"),
            "valueQuantity": _quantity(
                _number(self.entry.values["stroke_scale_score"], "stroke_scale_score"),
                spec.ucum,
            ),
        }
        scale = self.entry.values.get(
            "stroke_scale_type", self.entry.units.get("stroke_scale_score")
        )
        if isinstance(scale, str):
            # A score is meaningless without its scale (RACE 5 vs LAMS 5): the scale is how
            # it was measured, so it goes in `method`.
            body["method"] = {"text": scale}
        self._add("stroke_scale_score", body)

    def _gcs(self) -> None:
        values = self.entry.values
        total = self.entry.gcs_total
        if total is None and "gcs_total" in values:
            total = int(_number(values["gcs_total"], "gcs_total"))
        body: Resource = {
            "code": self._loinc("gcs_total"),
            "component": [
                {
                    "code": self._loinc(key),
                    "valueQuantity": _quantity(_number(values[key], key), "{score}"),
                }
                for key in _GCS_COMPONENTS
                if key in values
            ],
        }
        if not body["component"]:
            del body["component"]
        if total is None:
            body["dataAbsentReason"] = {
                "coding": [
                    _coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown")
                ],
                "text": "GCS not complete",
            }
        else:
            body["valueQuantity"] = _quantity(total, "{score}")
        self._add("gcs", body)


def _vitals_set(b: _Builder, entry: VitalsEntry, patient: dict[str, str]) -> list[dict[str, str]]:
    vitals = _Vitals(b, entry, patient)
    members = vitals.build()
    refs: list[dict[str, str]] = []
    if members:
        panel = (
            {"resourceType": "Observation"}
            | vitals.base
            | {
                "code": _concept("Vital signs panel", _coding(LOINC, VITALS_PANEL)),
                "hasMember": members,
            }
        )
        refs.append(b.add("Observation", f"{entry.id}/panel", panel))
        refs.extend(members)
    if entry.news2_total is not None:
        news2: Resource = {
            "resourceType": "Observation",
            "status": "final",
            "category": _category("survey", "Survey"),
            "code": _concept("NEWS2 total score", _coding(SNOMED, NEWS2_SNOMED)),
            "subject": patient,
            "encounter": b.ref("Encounter"),
            "effectiveDateTime": vitals.effective,
            "valueQuantity": _quantity(entry.news2_total, "{score}"),
            "derivedFrom": members,
        }
        if not members:
            del news2["derivedFrom"]
        if not entry.news2_complete:
            news2["note"] = [
                {"text": "Computed from incomplete vitals: the total is a lower bound."}
            ]
        refs.append(b.add("Observation", f"{entry.id}/news2", news2))
    return refs


def _patient(b: _Builder, doc: EncounterDocument) -> dict[str, str]:
    p = doc.patient
    identifiers: list[dict[str, Any]] = [
        {"use": "temp", "system": TEMP_ID_SYSTEM, "value": p.temp_id}
    ]
    if p.mrn:
        identifiers.insert(
            0,
            {
                "use": "usual",
                "type": {
                    "coding": [_coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")]
                },
                "system": f"{HOSPITAL_CODE_SYSTEM}:{doc.hospital_code}:mrn",
                "value": p.mrn,
                "assigner": b.ref("Organization"),
            },
        )
    patient: Resource = {"resourceType": "Patient", "identifier": identifiers, "gender": p.sex}
    if p.family or p.given:
        name: dict[str, Any] = {}
        if p.family:
            name["family"] = p.family
        if p.given:
            name["given"] = [p.given]
        patient["name"] = [name]
    if p.birth_date is not None:
        patient["birthDate"] = p.birth_date.isoformat()
    else:
        patient["_birthDate"] = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]}
    return b.add("Patient", "", patient)


def _estimated_age(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str]
) -> list[dict[str, str]]:
    age = doc.patient.estimated_age_years
    if age is None or doc.patient.birth_date is not None:
        return []
    observation: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": _concept("Age", _coding(LOINC, AGE_LOINC)),
        "subject": patient,
        "encounter": b.ref("Encounter"),
        "effectiveDateTime": _time(doc.created_at, "created_at"),
        "valueQuantity": _quantity(age, "a", "years"),
        "method": {"text": "estimated by EMS crew"},
    }
    return [b.add("Observation", "estimated-age", observation)]


def _hospital(b: _Builder, doc: EncounterDocument) -> dict[str, str]:
    identifier = [{"system": HOSPITAL_CODE_SYSTEM, "value": doc.hospital_code}]
    org = b.add(
        "Organization",
        "",
        {"resourceType": "Organization", "identifier": identifier, "name": doc.hospital_name},
    )
    location: Resource = {
        "resourceType": "Location",
        "identifier": identifier,
        "name": f"{doc.hospital_name} emergency department",
        "type": [
            _concept(
                "Emergency department",
                _coding("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "ER"),
            )
        ],
        "managingOrganization": org,
    }
    return b.add("Location", "", location)


def _encounter(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str], location: dict[str, str]
) -> None:
    encounter: Resource = {
        "resourceType": "Encounter",
        "identifier": [
            {"system": ENCOUNTER_ID_SYSTEM, "value": doc.encounter_id},
            {"system": INCIDENT_ID_SYSTEM, "value": str(doc.incident_id)},
        ],
        "status": ENCOUNTER_STATUS[doc.status],
        "class": _coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "EMER", "emergency"),
        "priority": _concept(
            "emergency", _coding("http://terminology.hl7.org/CodeSystem/v3-ActPriority", "EM")
        ),
        "subject": patient,
        "reasonCode": [{"text": doc.chief_complaint}] if doc.chief_complaint else [],
        "hospitalization": {"destination": location},
        "location": [{"location": location, "status": LOCATION_STATUS[doc.status]}],
        "serviceProvider": b.ref("Organization"),
    }
    if not encounter["reasonCode"]:
        del encounter["reasonCode"]
    if doc.eta is not None:
        encounter["extension"] = [
            {"url": PLANNED_START_EXTENSION, "valueDateTime": _time(doc.eta, "eta")}
        ]
    # The period is the ED side of the handoff: eTimes.11 (arrived at destination) to
    # eTimes.12 (transfer of care); a planned encounter has no period yet.
    period: dict[str, str] = {}
    if doc.arrived_at is not None:
        period["start"] = _time(doc.arrived_at, "arrived_at")
    if doc.status == "finished" and doc.transfer_of_care_at is not None:
        period["end"] = _time(doc.transfer_of_care_at, "transfer_of_care_at")
    if period:
        encounter["period"] = period
    b.add("Encounter", "", encounter)


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


def _section(
    key: str | None, title: str, entries: list[dict[str, str]], text: list[str] | None = None
) -> dict[str, Any]:
    section: dict[str, Any] = {"title": title}
    if key is not None:
        code, display = SECTION_CODES[key]
        section["code"] = _concept(display, _coding(LOINC, code))
    if text:
        section["text"] = _narrative(text)
    if entries:
        section["entry"] = entries
    elif not text:
        # An empty list from the ePCR cannot tell "none" from "not recorded", so the
        # section says the information is unavailable rather than claim there is none.
        section["emptyReason"] = _concept(
            "Information not available",
            _coding("http://terminology.hl7.org/CodeSystem/list-empty-reason", "unavailable"),
        )
    return section


def encounter_bundle(doc: EncounterDocument) -> dict[str, Any]:
    """A FHIR R4 document Bundle (Composition first) for one pre-hospital encounter.

    Raises ValueError on a naive datetime, a vital of the wrong type or unit, or a
    working-impression code that is neither SNOMED CT nor ICD-10-CM.
    """
    b = _Builder(doc.encounter_id)
    composition_url = b.url("Composition")
    patient = _patient(b, doc)
    location = _hospital(b, doc)
    author = b.add(
        "Device",
        "",
        {
            "resourceType": "Device",
            "deviceName": [
                {"name": "Golden Hour", "type": "manufacturer-name"},
                {"name": f"EMS unit {doc.unit_call_sign}", "type": "user-friendly-name"},
            ],
        },
    )
    _encounter(b, doc, patient, location)
    vitals: list[dict[str, str]] = _estimated_age(b, doc, patient)
    for entry in sorted(doc.vitals, key=lambda entry: require_aware(entry.taken_at, "taken_at")):
        vitals.extend(_vitals_set(b, entry, patient))
    problems = _conditions(b, doc, patient)
    allergies = _allergies(b, doc, patient)
    statements, anticoagulant_flags = _current_medications(b, doc, patient)
    given = _medications_given(b, doc, patient)
    procedures = _procedures(b, doc, patient)
    alerts = _activations(b, doc, patient) + anticoagulant_flags

    chief = [doc.chief_complaint] if doc.chief_complaint else []
    destination = [f"Destination: {doc.hospital_name}"]
    if doc.destination_reason:
        destination.append(f"Reason: {doc.destination_reason}")
    composition: Resource = {
        "resourceType": "Composition",
        "id": b.uid("Composition"),
        "identifier": {"system": ENCOUNTER_ID_SYSTEM, "value": doc.encounter_id},
        "status": COMPOSITION_STATUS[doc.status],
        "type": _concept("EMS patient care report", _coding(LOINC, DOCUMENT_TYPE_LOINC)),
        "subject": patient,
        "encounter": b.ref("Encounter"),
        "date": _time(doc.updated_at, "updated_at"),
        "author": [author],
        "title": "Pre-hospital handoff",
        "section": [
            _section("chief_complaint", "Chief complaint", [], chief),
            _section(None, "Alerts", alerts),
            _section("vital_signs", "Vital signs", vitals),
            _section("problems", "Problems", problems),
            _section("allergies", "Allergies", allergies),
            _section("medications", "Current medications", statements),
            _section("medications_given", "Medications given", given),
            _section("procedures", "Procedures", procedures),
            _section(None, "Destination", [], destination),
        ],
    }
    updated = _time(doc.updated_at, "updated_at")
    return {
        "resourceType": "Bundle",
        # Each version of the document is a new document (bdl-9): the identifier changes
        # with updated_at while the resource fullUrls stay stable.
        "identifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{doc.encounter_id}@{updated}')}",
        },
        "type": "document",
        "timestamp": updated,
        "entry": [{"fullUrl": composition_url, "resource": composition}, *b.entries],
    }
