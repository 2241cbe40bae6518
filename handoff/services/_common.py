"""What every handoff service shares: text and time cleaning, client ids, the row lock, the
open-record check and the board-row event."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.context import AuditContext
from audit.services import audit_record
from config.fields import clinical_time_problem, text_problem
from dispatch.models import ACTIVE_ASSIGNMENT_STATUSES
from handoff import access, events, selectors
from handoff.models import (
    Encounter,
    EncounterStatus,
)
from handoff.services import HandoffError
from realtime.events import event_record

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _text(
    value: Any, name: str, limit: int, *, nullable: bool = False, multiline: bool = False
) -> str | None:
    if value is None:
        if nullable:
            return None
        raise HandoffError(f"{name} must be text.", field=name)
    if not isinstance(value, str):
        raise HandoffError(f"{name} must be text.", field=name)
    value = value.strip()
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise HandoffError(f"{name} {problem}", field=name)
    if len(value) > limit:
        raise HandoffError(f"{name} must be at most {limit} characters.", field=name)
    if nullable and not value:
        return None
    return value


def _when(value: Any, name: str, *, now: datetime, nullable: bool = True) -> datetime | None:
    if value is None and nullable:
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else value
    except ValueError:  # well-formed but impossible, like February 30th
        parsed = None
    if not isinstance(parsed, datetime) or parsed.tzinfo is None:
        raise HandoffError(f"{name} must be an ISO 8601 time with a time zone.", field=name)
    problem = clinical_time_problem(parsed, now=now)
    if problem:
        raise HandoffError(f"{name} {problem}", field=name)
    return parsed


def _client_id(value: str, name: str = "client_id") -> str:
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        raise HandoffError(
            f"{name} must be 1-64 characters of letters, digits, '.', '_', ':' or '-'.",
            field=name,
        )
    return value


def _replay_of(client_id: str, differs: list[str]) -> None:
    """Nothing, for a resend of the stored record; HandoffError 409 when the record sent
    under that client_id says something else (it would otherwise be dropped unseen)."""
    if differs:
        raise HandoffError(
            f"A different record already has client_id {client_id!r} (it differs in "
            f"{', '.join(differs)}); nothing was stored. Send it with a new client_id.",
            field="client_id",
            code="client_id_conflict",
        )


def _lock(encounter_id: int) -> Encounter:
    return (
        # Only the encounter row: PostgreSQL refuses FOR UPDATE on the nullable side of the
        # outer join that select_related("destination") makes.
        Encounter.objects.select_for_update(of=("self",))
        .select_related("assignment__unit", "assignment__incident", "destination")
        .get(pk=encounter_id)
    )


def _require_open(encounter: Encounter) -> None:
    if encounter.status != EncounterStatus.OPEN:
        raise HandoffError(
            f"Encounter {encounter.temp_identifier} is closed.", field="encounter", code="closed"
        )


def _crew_streams(encounter: Encounter) -> list[str]:
    """The unit's stream while its crew may still see the encounter, else none.

    A unit that cleared (past the handover window) is on its next job: the receiving ED's
    later work on this patient (bay, messages, MRN) must not reach its tablet live. The
    replay masks such events (handoff.access.replay_visible); live frames are not filtered.
    """
    assignment = encounter.assignment
    if assignment.status in ACTIVE_ASSIGNMENT_STATUSES:
        return [events.unit_group(assignment.unit_id)]
    ends = access.crew_handover_ends(encounter)
    if ends is not None and timezone.now() < ends:
        return [events.unit_group(assignment.unit_id)]
    return []


def _emit_encounter(encounter: Encounter, row: dict[str, Any] | None = None) -> None:
    """The board row to the crew's tablet (while it follows the encounter) and, once there is
    one, to the destination ED."""
    row = row if row is not None else selectors.board_row(encounter)
    for stream in _crew_streams(encounter):
        event_record(stream=stream, event_type=events.ENCOUNTER_UPDATED, data=row)
    if encounter.destination_id is not None:
        event_record(
            stream=events.ed_group(encounter.destination_id),
            event_type=events.ENCOUNTER_UPDATED,
            data=row,
        )


def _touch(encounter: Encounter, now: datetime, *update_fields: str) -> None:
    encounter.updated_at = now
    encounter.save(update_fields=[*update_fields, "updated_at"])


def _audit(
    actor: Any,
    encounter: Encounter,
    action: str,
    *,
    detail: dict[str, Any] | None = None,
    context: AuditContext | None = None,
) -> None:
    """The audit row of a write to an encounter (or one of its rows): never its free text."""
    audit_record(
        actor=actor,
        action=action,
        object_type="encounter",
        object_id=encounter.public_id,
        detail=detail,
        context=context,
    )
