"""The exporters' input contract: one pre-hospital encounter as frozen, typed dataclasses.

No Django here. The handoff app maps its rows onto these; `fhir.encounter_bundle` and
`hl7.adt_message` only ever read them. All datetimes are timezone-aware (UTC); the
exporters raise ValueError on a naive one rather than guess a zone for a clinical time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

Sex = Literal["male", "female", "other", "unknown"]
EncounterStatus = Literal["planned", "arrived", "finished"]


@dataclass(frozen=True, slots=True)
class PatientInfo:
    """Who the patient is, as far as the crew knows; `mrn` is set once the ED reconciles."""

    temp_id: str
    mrn: str | None
    family: str | None
    given: str | None
    sex: Sex
    birth_date: date | None
    estimated_age_years: int | None


@dataclass(frozen=True, slots=True)
class VitalsEntry:
    """One vitals set; `values` is keyed as `handoff.clinical.vocabulary.VITALS`.

    `units` carries the unit of a value whose unit travels with it (`blood_glucose`,
    `etco2`), keyed by the vital key. `values` may also hold the qualifiers and modifiers
    of the vocabulary (`stroke_scale_type`, `on_oxygen`, ...).
    """

    id: str
    taken_at: datetime
    values: dict[str, float | int | str]
    units: dict[str, str]
    news2_total: int | None
    news2_complete: bool
    gcs_total: int | None


@dataclass(frozen=True, slots=True)
class Procedure:
    id: str
    performed_at: datetime
    text: str
    snomed_code: str | None


@dataclass(frozen=True, slots=True)
class MedicationGiven:
    id: str
    given_at: datetime
    name: str
    dose: float | None
    dose_unit: str | None
    route: str | None


@dataclass(frozen=True, slots=True)
class Activation:
    """A pre-arrival team activation sent to the ED; `kind` is an `ActivationKind` value."""

    id: str
    kind: str
    reason: str
    proposed_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True)
class EncounterDocument:
    """Everything the ED is told about one patient on the way in.

    `working_impression_code` is a SNOMED CT concept id (all digits) or an ICD-10-CM code
    (starts with a letter). `medications` are current medications as (name,
    is_anticoagulant).
    """

    encounter_id: str
    incident_id: int
    status: EncounterStatus
    hospital_code: str
    hospital_name: str
    unit_call_sign: str
    chief_complaint: str
    working_impression: str
    working_impression_code: str | None
    allergies: list[str]
    medications: list[tuple[str, bool]]
    history: list[str]
    last_known_well: datetime | None
    eta: datetime | None
    arrived_at: datetime | None
    transfer_of_care_at: datetime | None
    destination_reason: str
    patient: PatientInfo
    vitals: list[VitalsEntry]
    procedures: list[Procedure]
    medications_given: list[MedicationGiven]
    activations: list[Activation]
    created_at: datetime
    updated_at: datetime


def require_aware(value: datetime, name: str) -> datetime:
    """Return `value` in UTC; a naive datetime is a programming error, never a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def impression_code_system(code: str) -> Literal["snomed", "icd10cm"]:
    """Which terminology a working-impression code is from.

    SNOMED CT concept ids are all digits; ICD-10-CM codes start with a letter. Anything
    else is rejected so a typo is never sent under the wrong code system.
    """
    stripped = code.strip()
    if stripped.isdigit():
        return "snomed"
    if stripped[:1].isalpha() and stripped[:1].isascii():
        return "icd10cm"
    raise ValueError("working_impression_code is neither a SNOMED CT id nor an ICD-10 code")
