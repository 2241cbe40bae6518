"""The exporters' input contract: one pre-hospital encounter as frozen, typed dataclasses.

No Django here. The handoff app maps its rows onto these; `fhir.encounter_bundle` and
`hl7.adt_message` only ever read them. All datetimes are timezone-aware (UTC); the
exporters raise ValueError on a naive one rather than guess a zone for a clinical time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, Literal

Sex = Literal["male", "female", "other", "unknown"]
# "cancelled": the encounter will not come to this hospital (a reroute's cancel document).
EncounterStatus = Literal["planned", "arrived", "finished", "cancelled"]


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
    # The NEWS2 parameters (`handoff.clinical.scores.NEWS2_PARAMETERS` names) that had no
    # value, or a value that could not be scored, when news2_total was computed.
    news2_missing: tuple[str, ...] = ()


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
class CrewMember:
    """A crew member who recorded part of the encounter; `id` is stable and not personal."""

    id: str
    family: str
    given: str


@dataclass(frozen=True, slots=True)
class EmsOrganization:
    """The EMS service the unit belongs to (the deployment's dispatch centre)."""

    code: str
    name: str


_OID: Final = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
# Identifier and code systems under one deployment base; an OID base gets these arcs.
_SYSTEM_ARCS: Final = {
    "temp-id": 1,
    "encounter": 2,
    "incident": 3,
    "hospital": 4,
    "practitioner": 5,
    "ems-organization": 6,
    "avpu": 7,
}


@dataclass(frozen=True, slots=True)
class IdentifierSystems:
    """The `system` URIs this deployment writes (FHIR Identifier.system, local code systems).

    Made by `identifier_systems(base, mrn_systems)`. The default is the development base
    `urn:golden-hour`, private to this project: a deployment sets an https URI it controls
    or an OID it was assigned (settings FHIR_IDENTIFIER_BASE, docs/interop.md).
    """

    temp_id: str = "urn:golden-hour:temp-id"
    encounter: str = "urn:golden-hour:encounter"
    incident: str = "urn:golden-hour:incident"
    hospital: str = "urn:golden-hour:hospital"
    practitioner: str = "urn:golden-hour:practitioner"
    ems_organization: str = "urn:golden-hour:ems-organization"
    avpu: str = "urn:golden-hour:avpu"
    # A hospital's MRN system is the hospital's own: given per hospital code, else derived
    # from `mrn_pattern` (with `{hospital_code}`), else unknown (None).
    mrn_by_hospital: tuple[tuple[str, str], ...] = ()
    mrn_pattern: str | None = "urn:golden-hour:hospital:{hospital_code}:mrn"

    def mrn(self, hospital_code: str) -> str | None:
        for code, system in self.mrn_by_hospital:
            if code == hospital_code:
                return system
        return self.mrn_pattern.format(hospital_code=hospital_code) if self.mrn_pattern else None


def check_system_uri(value: str, name: str) -> str:
    """An identifier system must be an https URI or an OID (urn:oid:1.2.3...)."""
    if _OID.fullmatch(value):
        return value
    if re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?", value):
        return value.rstrip("/")
    raise ValueError(f"{name} must be an https URI or urn:oid:<digits and dots>, got {value!r}")


def identifier_systems(
    base: str | None, mrn_systems: dict[str, str] | None = None
) -> IdentifierSystems:
    """The systems under `base` (None: the development default) with per-hospital MRN systems.

    https base: `<base>/temp-id`, `<base>/encounter`, ..., MRN `<base>/hospital/<code>/mrn`.
    OID base: `<base>.1` (temp-id) ... `<base>.7` (avpu); an MRN system cannot be derived
    from an OID, so it is sent only for hospitals listed in `mrn_systems`.
    Raises ValueError naming the bad value.
    """
    mrn = tuple(
        (code, check_system_uri(system, f"MRN system of {code}"))
        for code, system in sorted((mrn_systems or {}).items())
    )
    if base is None:
        return IdentifierSystems(mrn_by_hospital=mrn)
    base = check_system_uri(base, "identifier base")
    if base.startswith("urn:oid:"):
        systems = {key: f"{base}.{arc}" for key, arc in _SYSTEM_ARCS.items()}
        pattern = None
    else:
        systems = {key: f"{base}/{key}" for key in _SYSTEM_ARCS}
        pattern = f"{base}/hospital/{{hospital_code}}/mrn"
    return IdentifierSystems(
        temp_id=systems["temp-id"],
        encounter=systems["encounter"],
        incident=systems["incident"],
        hospital=systems["hospital"],
        practitioner=systems["practitioner"],
        ems_organization=systems["ems-organization"],
        avpu=systems["avpu"],
        mrn_by_hospital=mrn,
        mrn_pattern=pattern,
    )


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
    # Who recorded it and for which EMS service (Composition authors), and the deployment's
    # identifier systems; the defaults keep older callers working.
    crew: tuple[CrewMember, ...] = ()
    ems_organization: EmsOrganization | None = None
    systems: IdentifierSystems = IdentifierSystems()
    # The response's NEMSIS eTimes the dispatch record holds, as (element, time): eTimes.01
    # PSAP call, .03 unit notified, .05 en route, .06 on scene, .09 left scene.
    unit_times: tuple[tuple[str, datetime], ...] = ()
    # The document's language (BCP 47; Composition and narrative are written in it).
    language: str = "en-GB"


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
