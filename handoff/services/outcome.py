"""The loop closes: the receiving hospital's outcome of a patient back to EMS.

The ED records diagnosis, disposition and the STEMI / stroke treatment time on its board
(`outcome_record`), or the hospital system sends them (HL7 ADT^A03 or a FHIR Encounter
update, handoff.interop.inbound, which calls `outcome_record_from_hospital`). Both go
through one validation (`outcome_clean`), so a message and a form are refused for the same
reasons, each naming the field. The crew that brought the patient reads the result through
handoff.access (outcome feedback); `outcome_for_nemsis` gives the eOutcome codes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from handoff import access
from handoff.models import (
    HOSPITAL_DISPOSITIONS,
    TRANSFER_DISPOSITIONS,
    Disposition,
    Encounter,
    Hospital,
    HospitalOutcome,
    OutcomePathway,
    OutcomeSource,
)
from handoff.services import HandoffError
from handoff.services._common import _audit, _lock, _text, _when

# ICD-10 (WHO and -CM): a letter, two digits (or digit + letter in -CM's category), then an
# optional subdivision of 1-4 characters after the dot. "U" is WHO's provisional chapter.
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")

OUTCOME_FIELDS = (
    "diagnosis_text",
    "diagnosis_icd10",
    "ed_disposition",
    "hospital_disposition",
    "admitted_unit",
    "transfer_facility",
    "pathway",
    "balloon_at",
    "needle_at",
)
_TIME_FOR_PATHWAY = {OutcomePathway.STEMI: "balloon_at", OutcomePathway.STROKE: "needle_at"}


def _given_exactly_when(
    fields: dict[str, Any], field: str, applies: bool, *, missing: str, misplaced: str
) -> None:
    """`field` is required when the disposition calls for it and refused otherwise."""
    if applies and not fields[field]:
        raise HandoffError(missing, field=field)
    if not applies and fields[field]:
        raise HandoffError(misplaced, field=field)


def icd10_clean(value: Any, name: str = "diagnosis_icd10") -> str:
    """An ICD-10 code in its dotted form ("I21.0"); "" for none; HandoffError otherwise.

    The dot is optional on the way in (HL7 and many systems send "I210").
    """
    text = _text(value if value is not None else "", name, 10) or ""
    code = text.upper()
    if code and "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    if code and not _ICD10.match(code):
        raise HandoffError(
            f"{name} must be an ICD-10 code: a letter, two characters, then an optional "
            "'.' and 1-4 more (like I21.0).",
            field=name,
        )
    return code


def _disposition(value: Any, name: str, *, required: bool, allowed: list[str]) -> str:
    if value in (None, "") and not required:
        return ""
    if value not in allowed:
        raise HandoffError(
            f"{name} must be one of the NEMSIS eOutcome / NUBC codes {', '.join(allowed)}.",
            field=name,
        )
    return str(value)


def outcome_clean(data: dict[str, Any], *, encounter: Encounter, now: datetime) -> dict[str, Any]:
    """The outcome fields of `data`, checked against the encounter; HandoffError naming the
    field otherwise. Every field is replaced (an outcome is recorded whole).

    Preconditions: the patient has arrived (its door time, Encounter.arrived_at, is set).
    """
    unknown = sorted(set(data) - set(OUTCOME_FIELDS))
    if unknown:
        raise HandoffError(f"Unknown outcome field {unknown[0]!r}.", field=unknown[0])
    door = encounter.arrived_at
    if door is None:
        raise HandoffError(
            "Record the patient's arrival first: the outcome follows it.",
            field="arrived_at",
            code="invalid_transition",
        )
    fields: dict[str, Any] = {
        "diagnosis_text": _text(data.get("diagnosis_text", ""), "diagnosis_text", 200) or "",
        "diagnosis_icd10": icd10_clean(data.get("diagnosis_icd10")),
        "ed_disposition": _disposition(
            data.get("ed_disposition"), "ed_disposition", required=True, allowed=Disposition.values
        ),
        "hospital_disposition": _disposition(
            data.get("hospital_disposition"),
            "hospital_disposition",
            required=False,
            allowed=[v for v, _ in HOSPITAL_DISPOSITIONS],
        ),
        "admitted_unit": _text(data.get("admitted_unit", ""), "admitted_unit", 80) or "",
        "transfer_facility": _text(data.get("transfer_facility", ""), "transfer_facility", 160)
        or "",
    }
    if not fields["diagnosis_text"] and not fields["diagnosis_icd10"]:
        raise HandoffError(
            "Give the diagnosis as text, an ICD-10 code or both.", field="diagnosis_text"
        )
    admitted = fields["ed_disposition"] == Disposition.ADMITTED
    if fields["hospital_disposition"] and not admitted:
        raise HandoffError(
            "hospital_disposition is for an admitted patient (ed_disposition 09) only.",
            field="hospital_disposition",
        )
    _given_exactly_when(
        fields,
        "admitted_unit",
        admitted,
        missing="Name the ward or unit the patient was admitted to.",
        misplaced="admitted_unit is for an admitted patient (ed_disposition 09) only.",
    )
    transferred = {fields["ed_disposition"], fields["hospital_disposition"]} & TRANSFER_DISPOSITIONS
    _given_exactly_when(
        fields,
        "transfer_facility",
        bool(transferred),
        missing="Name the facility the patient was transferred to.",
        misplaced="transfer_facility is for a disposition that transfers the patient.",
    )
    pathway = data.get("pathway") or ""
    if pathway not in OutcomePathway.values:
        raise HandoffError("pathway must be '', 'stemi' or 'stroke'.", field="pathway")
    fields.update(pathway=pathway, balloon_at=None, needle_at=None)
    for kind, name in _TIME_FOR_PATHWAY.items():
        value = data.get(name)
        if value in (None, ""):
            continue
        if pathway != kind:
            raise HandoffError(
                f"{name} belongs to the {kind} pathway; set pathway to '{kind}'.", field=name
            )
        when = _when(value, name, now=now)
        if when is not None and when < door:
            raise HandoffError(
                f"{name} must not be before the door time (arrival at the ED, {door.isoformat()}).",
                field=name,
            )
        fields[name] = when
    return fields


def _save(
    encounter: Encounter,
    fields: dict[str, Any],
    *,
    hospital: Hospital,
    source: str,
    user: Any,
    now: datetime,
) -> tuple[HospitalOutcome, list[str]]:
    outcome = HospitalOutcome.objects.filter(encounter=encounter).first()
    if outcome is None:
        outcome = HospitalOutcome(encounter=encounter, recorded_at=now)
        changed = [name for name, value in fields.items() if value not in ("", None)]
    else:
        changed = [name for name, value in fields.items() if getattr(outcome, name) != value]
    for name, value in fields.items():
        setattr(outcome, name, value)
    outcome.hospital = hospital
    outcome.source = source
    outcome.recorded_by = user
    outcome.updated_at = now
    outcome.save()
    return outcome, changed


def outcome_record(*, user: Any, encounter_id: int, data: dict[str, Any]) -> HospitalOutcome:
    """The receiving ED records (or corrects) the patient's outcome; audited.

    Only staff of the destination ED within its access window, only once the patient has
    arrived; the encounter may be open (still in the bay) or handed over.
    """
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_ed(user, encounter)
        fields = outcome_clean(data, encounter=encounter, now=now)
        # check_ed passed, so the destination is the user's hospital.
        hospital = Hospital.objects.get(pk=user.hospital_id)
        outcome, changed = _save(
            encounter, fields, hospital=hospital, source=OutcomeSource.ED, user=user, now=now
        )
        # Field names only: the diagnosis is free text about a patient.
        _audit(user, encounter, "outcome_record", detail={"source": "ed", "fields": changed})
    return outcome


def outcome_record_from_hospital(
    *, hospital: Hospital, encounter_id: int, data: dict[str, Any], source: str
) -> HospitalOutcome:
    """The hospital system's outcome (HL7 A03, FHIR Encounter) of one of its patients.

    Preconditions: `hospital` is the authenticated sender (handoff.interop.inbound). The
    encounter must be bound for it; HandoffError (field "encounter") otherwise.
    """
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        if encounter.destination_id != hospital.pk:
            raise HandoffError(
                "This encounter was not brought to the sending hospital.", field="encounter"
            )
        existing = HospitalOutcome.objects.filter(encounter=encounter).first()
        if existing is not None and "pathway" not in data:
            # A03 and the FHIR Encounter carry no treatment time: keep the ED's.
            data = {
                **data,
                "pathway": existing.pathway,
                "balloon_at": existing.balloon_at,
                "needle_at": existing.needle_at,
            }
        fields = outcome_clean(data, encounter=encounter, now=now)
        outcome, changed = _save(
            encounter, fields, hospital=hospital, source=source, user=None, now=now
        )
        _audit(
            None,
            encounter,
            "outcome_record",
            detail={"source": source, "hospital": hospital.code, "fields": changed},
        )
    return outcome


def outcome_summary(outcome: HospitalOutcome | None) -> dict[str, Any] | None:
    """The outcome fields as the API and the crew's closed record show them (no identity)."""
    if outcome is None:
        return None
    door = outcome.encounter.arrived_at
    treated = outcome.balloon_at or outcome.needle_at
    return {
        "diagnosis_text": outcome.diagnosis_text,
        "diagnosis_icd10": outcome.diagnosis_icd10,
        "ed_disposition": outcome.ed_disposition,
        "ed_disposition_label": Disposition(outcome.ed_disposition).label,
        "hospital_disposition": outcome.hospital_disposition,
        "hospital_disposition_label": (
            Disposition(outcome.hospital_disposition).label if outcome.hospital_disposition else ""
        ),
        "admitted_unit": outcome.admitted_unit,
        "transfer_facility": outcome.transfer_facility,
        "pathway": outcome.pathway,
        "door_at": door.isoformat() if door else None,
        "balloon_at": outcome.balloon_at.isoformat() if outcome.balloon_at else None,
        "needle_at": outcome.needle_at.isoformat() if outcome.needle_at else None,
        "door_to_treatment_minutes": (
            round((treated - door).total_seconds() / 60, 1) if treated and door else None
        ),
        "recorded_via": outcome.source,
        "recorded_at": outcome.updated_at.isoformat(),
    }


def outcome_for_nemsis(encounter: Encounter) -> dict[str, str] | None:
    """The encounter's eOutcome codes for the NEMSIS export, or None without an outcome.

    eOutcome.01 ED disposition and eOutcome.02 hospital disposition (NUBC codes as stored),
    eOutcome.10 the ED diagnosis (ICD-10); an empty string is "not recorded".
    """
    outcome = HospitalOutcome.objects.filter(encounter=encounter).first()
    if outcome is None:
        return None
    return {
        "eOutcome.01": outcome.ed_disposition,
        "eOutcome.02": outcome.hospital_disposition,
        "eOutcome.10": outcome.diagnosis_icd10,
    }


def encounter_outcome_row(encounter: Encounter) -> dict[str, Any]:
    """The outcome with what identifies the call to the crew (temporary id, unit, hospital):
    never the patient's name."""
    outcome = getattr(encounter, "outcome", None)
    return {
        "encounter_id": str(encounter.public_id),
        "temp_identifier": encounter.temp_identifier,
        "unit_call_sign": encounter.assignment.unit.call_sign,
        "hospital": encounter.destination.name if encounter.destination else None,
        "arrived_at": encounter.arrived_at.isoformat() if encounter.arrived_at else None,
        "closed_at": encounter.closed_at.isoformat() if encounter.closed_at else None,
        "outcome": outcome_summary(outcome),
    }
