"""The crew's patient record: open it (idempotent by the tablet's public id), change its
fields, close it without a handoff."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from dispatch.models import (
    Assignment,
)
from handoff import access
from handoff.delivery_jobs import delivery_cancel_enqueue, delivery_enqueue
from handoff.models import (
    Encounter,
    EncounterStatus,
    Sex,
)
from handoff.services import HandoffError
from handoff.services._common import (
    _audit,
    _emit_encounter,
    _lock,
    _require_open,
    _text,
    _touch,
    _when,
)
from handoff.services.activations import BEFAST_ITEMS, BOOLEAN_FINDINGS, _activations_evaluate

# No 0/O or 1/I: the identifier is read aloud and typed at the ED desk.
_TEMP_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# What _new_temp_identifier makes: the id the crew reads out to the ED (no 0/O, 1/I).
TEMP_ID_PATTERN = re.compile(r"GH-[0-9]{4}-[" + _TEMP_ID_ALPHABET + r"]{6}")


def _birth_date(value: Any, today: date) -> date | None:
    if value is None:
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else value
    except ValueError:
        parsed = None
    if not isinstance(parsed, date) or isinstance(parsed, datetime):
        raise HandoffError("birth_date must be a date (YYYY-MM-DD).", field="birth_date")
    if parsed > today or today.year - parsed.year > 130:
        raise HandoffError("birth_date is not a plausible birth date.", field="birth_date")
    return parsed


def _text_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > 50:
        raise HandoffError(f"{name} must be a list of at most 50 entries.", field=name)
    return [_text(item, f"{name}[{i}]", 120) or "" for i, item in enumerate(value)]


def _medications(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > 50:
        raise HandoffError("medications must be a list of at most 50 entries.", field="medications")
    cleaned = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"name", "anticoagulant"}:
            raise HandoffError(
                "Each medication is {name, anticoagulant}.", field=f"medications[{i}]"
            )
        name = _text(item.get("name"), f"medications[{i}].name", 120)
        if not name:
            raise HandoffError("A medication needs its name.", field=f"medications[{i}].name")
        anticoagulant = item.get("anticoagulant", False)
        if not isinstance(anticoagulant, bool):
            raise HandoffError(
                "anticoagulant must be true or false.", field=f"medications[{i}].anticoagulant"
            )
        cleaned.append({"name": name, "anticoagulant": anticoagulant})
    return cleaned


def _findings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HandoffError("findings must be an object.", field="findings")
    cleaned: dict[str, Any] = {}
    for key, raw in value.items():
        if key == "befast":
            if not isinstance(raw, dict) or set(raw) - set(BEFAST_ITEMS):
                raise HandoffError(
                    f"befast is an object of {', '.join(BEFAST_ITEMS)}.", field="findings.befast"
                )
            for item, flag in raw.items():
                if flag is not None and not isinstance(flag, bool):
                    raise HandoffError(
                        f"befast.{item} must be true, false or null.",
                        field=f"findings.befast.{item}",
                    )
            cleaned["befast"] = {item: raw.get(item) for item in BEFAST_ITEMS}
        elif key in BOOLEAN_FINDINGS:
            if not isinstance(raw, bool):
                raise HandoffError(f"{key} must be true or false.", field=f"findings.{key}")
            cleaned[key] = raw
        else:
            raise HandoffError(f"Unknown finding {key!r}.", field=f"findings.{key}")
    return cleaned


ENCOUNTER_FIELDS = (
    "family_name",
    "given_name",
    "sex",
    "birth_date",
    "estimated_age_years",
    "age_text",
    "time_of_onset",
    "mechanism",
    "injuries",
    "chief_complaint",
    "working_impression",
    "working_impression_code",
    "allergies",
    "medications",
    "history",
    "findings",
    "last_known_well",
)


def _clean_encounter_fields(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Validate the crew-editable fields of an encounter; HandoffError names the first bad one."""
    unknown = sorted(set(data) - set(ENCOUNTER_FIELDS))
    if unknown:
        raise HandoffError(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        if key in {"family_name", "given_name"}:
            cleaned[key] = _text(value, key, 100, nullable=True)
        elif key == "sex":
            if value not in Sex.values:
                raise HandoffError(f"sex must be one of {', '.join(Sex.values)}.", field=key)
            cleaned[key] = value
        elif key == "birth_date":
            cleaned[key] = _birth_date(value, timezone.localdate(now))
        elif key == "estimated_age_years":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 130
            ):
                raise HandoffError("estimated_age_years must be 0-130.", field=key)
            cleaned[key] = value
        elif key in {"time_of_onset", "last_known_well"}:
            cleaned[key] = _when(value, key, now=now)
        elif key in {"mechanism", "injuries"}:
            cleaned[key] = _text(value, key, 2000, multiline=True)
        elif key in {"chief_complaint", "working_impression"}:
            cleaned[key] = _text(value, key, 200)
        elif key == "age_text":
            cleaned[key] = _text(value, key, 40)
        elif key == "working_impression_code":
            cleaned[key] = _text(value, key, 16)
        elif key in {"allergies", "history"}:
            cleaned[key] = _text_list(value, key)
        elif key == "medications":
            cleaned[key] = _medications(value)
        elif key == "findings":
            cleaned[key] = _findings(value)
    return cleaned


def _new_temp_identifier(now: datetime) -> str:
    return f"GH-{now.year}-" + "".join(secrets.choice(_TEMP_ID_ALPHABET) for _ in range(6))


def encounter_open(
    *,
    user: Any,
    assignment_id: int,
    public_id: UUID | None = None,
    data: Mapping[str, Any] | None = None,
) -> Encounter:
    """Open a patient record on an active assignment of the crew's unit.

    Several encounters per assignment are allowed (several patients). A tablet that creates
    the record offline sends its own `public_id`; sending it again returns the same record.
    """
    now = timezone.now()
    cleaned = _clean_encounter_fields(data or {}, now)
    with transaction.atomic():
        assignment = Assignment.objects.select_related("unit", "incident").get(pk=assignment_id)
        access.access_crew_assignment(user, assignment.pk)
        if public_id is not None:
            existing = (
                Encounter.objects.select_related("assignment__unit", "destination")
                .filter(public_id=public_id)
                .first()
            )
            if existing is not None:
                # The replay hands the stored record back: only to whoever may still read it
                # (its crew while it is open), with the same 403 as a read, and audited.
                access.check_crew_or_ed(user, existing)
                if existing.assignment_id != assignment.pk:
                    raise HandoffError(
                        "That encounter id belongs to another assignment.", field="encounter"
                    )
                _audit(user, existing, "read", detail={"via": "idempotent_create"})
                return existing
        cleaned.setdefault("chief_complaint", assignment.incident.chief_complaint[:200])
        encounter = None
        for _attempt in range(5):
            try:
                # A savepoint per try: a colliding identifier must not poison the transaction.
                with transaction.atomic():
                    encounter = Encounter.objects.create(
                        assignment=assignment,
                        temp_identifier=_new_temp_identifier(now),
                        created_at=now,
                        created_by=user,
                        updated_at=now,
                        **({"public_id": public_id} if public_id else {}),
                        **cleaned,
                    )
                break
            except IntegrityError:
                continue
        if encounter is None:
            raise HandoffError("Could not allocate a temporary identifier; retry.", code="conflict")
        _activations_evaluate(encounter, now)
        _emit_encounter(encounter)
        _audit(user, encounter, "create", detail={"fields": sorted(cleaned)})
    return encounter


def encounter_update(*, user: Any, encounter_id: int, data: Mapping[str, Any]) -> Encounter:
    """Change the crew-editable fields of an open encounter (patient, ATMIST, history)."""
    now = timezone.now()
    cleaned = _clean_encounter_fields(data, now)
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        _require_open(encounter)
        for key, value in cleaned.items():
            setattr(encounter, key, value)
        _touch(encounter, now, *cleaned)
        _activations_evaluate(encounter, now)
        _emit_encounter(encounter)
        delivery_enqueue(encounter, "A08", fhir=True, actor=user)
        _audit(user, encounter, "update", detail={"fields": sorted(cleaned)})
    return encounter


def encounter_close(*, user: Any, encounter_id: int) -> Encounter:
    """Close an encounter without a handoff (treated on scene, refused transport).

    Refused once the patient has arrived at an ED: that record closes by transfer of care.
    """
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        _require_open(encounter)
        if encounter.arrived_at is not None:
            raise HandoffError(
                "The patient is at the ED; confirm the transfer of care instead.",
                field="status",
                code="invalid_transition",
            )
        encounter.status = EncounterStatus.CLOSED
        encounter.closed_at = now
        _touch(encounter, now, "status", "closed_at")
        _emit_encounter(encounter)
        if encounter.destination is not None:
            # The ED was told to expect the patient, who is not coming.
            delivery_cancel_enqueue(encounter, encounter.destination, actor=user)
        _audit(user, encounter, "close")
    return encounter
