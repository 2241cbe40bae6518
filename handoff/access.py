"""The only way to fetch handoff objects on behalf of a user.

Least privilege (docs/handoff.md): crew see the encounters of their own unit while they are
open and the assignment is active (after "Clear" they may only confirm the handover, for
CREW_HANDOVER_MINUTES_AFTER_CLEAR); ED staff see encounters bound for their hospital until
ED_ACCESS_HOURS_AFTER_HANDOFF after transfer of care; dispatchers and administrators see no
clinical record at all.
Missing objects raise DoesNotExist (404); objects of others raise PermissionDenied (403).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.access import user_has_role
from accounts.models import Role
from audit.services import audit_reads, audit_record
from dispatch.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment, AssignmentStatus
from handoff.models import Encounter, EncounterStatus, Hospital, TeamActivation


def access_staff_hospital(user: Any) -> Hospital:
    """The hospital `user` works in; PermissionDenied for anyone but its ED staff."""
    if not user_has_role(user, Role.ED_STAFF) or user.hospital_id is None:
        raise PermissionDenied("Only ED staff have a hospital.")
    hospital = Hospital.objects.get(pk=user.hospital_id)
    # The incoming board lists every patient bound for the hospital.
    audit_record(actor=user, action="list", object_type="ed_board", object_id=hospital.pk)
    return hospital


def access_ed_hospital(user: Any, hospital_id: int) -> Hospital:
    """Hospital `hospital_id` when `user` is on its ED staff; PermissionDenied otherwise."""
    hospital = Hospital.objects.get(pk=hospital_id)
    if not user_has_role(user, Role.ED_STAFF) or user.hospital_id != hospital.pk:
        raise PermissionDenied("Only this hospital's ED staff may do that.")
    return hospital


def is_crew_of(user: Any, encounter: Encounter, *, open_only: bool = True) -> bool:
    """True for the crew of the encounter's unit while its assignment is active (and the
    encounter open, by default). A unit that cleared and took another call no longer sees
    the last patient's record."""
    return (
        user_has_role(user, Role.CREW)
        and (encounter.status == EncounterStatus.OPEN or not open_only)
        and encounter.assignment.unit_id == user.unit_id
        and encounter.assignment.status in ACTIVE_ASSIGNMENT_STATUSES
    )


def crew_handover_ends(encounter: Encounter) -> Any:
    """Until when the crew of a cleared assignment may still confirm the handover (or None)."""
    assignment = encounter.assignment
    if assignment.status != AssignmentStatus.CLEARED or assignment.cleared_at is None:
        return None
    return assignment.cleared_at + timedelta(minutes=settings.CREW_HANDOVER_MINUTES_AFTER_CLEAR)


def is_handover_crew_of(user: Any, encounter: Encounter) -> bool:
    """True for the crew that may confirm this patient's transfer of care: the crew of the
    encounter's unit while the assignment is active, or, after "Clear", for
    CREW_HANDOVER_MINUTES_AFTER_CLEAR when it brought the patient to a destination.

    The grace covers the handover only: the crew taps "Clear" while the ED is still taking
    the patient over, or the tablet's outbox sends the clear before a queued confirmation.
    """
    if is_crew_of(user, encounter, open_only=False):
        return True
    if not user_has_role(user, Role.CREW) or encounter.assignment.unit_id != user.unit_id:
        return False
    if encounter.destination_id is None:
        return False
    ends = crew_handover_ends(encounter)
    return ends is not None and timezone.now() < ends


def ed_access_ends(encounter: Encounter) -> Any:
    """When the receiving ED stops seeing the encounter (None while it is in progress)."""
    ended = encounter.transfer_of_care_at or encounter.closed_at
    if ended is None:
        return None
    return ended + timedelta(hours=settings.ED_ACCESS_HOURS_AFTER_HANDOFF)


def is_ed_of(user: Any, encounter: Encounter) -> bool:
    """True for staff of the destination ED, until the access window after handoff ends."""
    if not user_has_role(user, Role.ED_STAFF) or encounter.destination_id is None:
        return False
    if encounter.destination_id != user.hospital_id:
        return False
    ends = ed_access_ends(encounter)
    return ends is None or timezone.now() < ends


def check_crew(user: Any, encounter: Encounter, *, open_only: bool = True) -> None:
    """PermissionDenied unless `user` crews the encounter's unit (and it is open).

    Services pass `open_only=False` and then refuse a closed encounter with a HandoffError,
    so the crew is told "closed" (409) rather than "not yours" (403).
    """
    if not is_crew_of(user, encounter, open_only=open_only):
        raise PermissionDenied("Only the crew of this encounter's unit, while it is open.")


def check_ed(user: Any, encounter: Encounter) -> None:
    """PermissionDenied unless `user` is staff of the encounter's destination ED."""
    if not is_ed_of(user, encounter):
        raise PermissionDenied("Only staff of the receiving ED.")


def check_crew_or_ed(user: Any, encounter: Encounter, *, open_only: bool = True) -> str:
    """'crew' or 'ed' for who `user` is to the encounter; PermissionDenied for anyone else."""
    if is_crew_of(user, encounter, open_only=open_only):
        return "crew"
    if is_ed_of(user, encounter):
        return "ed"
    raise PermissionDenied("This patient's record is not yours to see.")


def check_handover_side(user: Any, encounter: Encounter) -> str:
    """'crew' or 'ed' for who confirms the transfer of care; PermissionDenied for anyone else.

    The crew passes for its own patient for a bounded time after clearing
    (is_handover_crew_of); the ED as for every other ED action.
    """
    if is_handover_crew_of(user, encounter):
        return "crew"
    if is_ed_of(user, encounter):
        return "ed"
    raise PermissionDenied("Only the transporting crew or the receiving ED confirm a handover.")


def access_handover_encounter(user: Any, public_id: UUID | str) -> Encounter:
    """An encounter whose transfer of care `user` may confirm (check_handover_side); audited."""
    encounter = _encounter(public_id)
    check_handover_side(user, encounter)
    audit_record(actor=user, action="read", object_type="encounter", object_id=encounter.public_id)
    return encounter


def _encounter(public_id: UUID | str) -> Encounter:
    return Encounter.objects.select_related("assignment__unit", "destination").get(
        public_id=public_id
    )


def access_encounter(user: Any, public_id: UUID | str, *, open_only: bool = True) -> Encounter:
    """An encounter the user may read: its crew (while open) or its destination ED staff.

    Write views pass `open_only=False` so the service answers "closed" (409) to its crew.
    """
    encounter = _encounter(public_id)
    check_crew_or_ed(user, encounter, open_only=open_only)
    audit_record(actor=user, action="read", object_type="encounter", object_id=encounter.public_id)
    return encounter


def access_encounter_for_reading(user: Any, public_id: UUID | str) -> Encounter:
    """access_encounter for the detail GET only, widened by an unexpired break-glass grant;
    a read under a grant is audited with `break_glass` set."""
    from handoff.services.break_glass import break_glass_active

    encounter = _encounter(public_id)
    try:
        check_crew_or_ed(user, encounter)
    except PermissionDenied:
        grant = break_glass_active(user, encounter)
        if grant is None:
            raise
        audit_break_glass_read(user, encounter, grant)
        return encounter
    audit_record(actor=user, action="read", object_type="encounter", object_id=encounter.public_id)
    return encounter


def audit_break_glass_read(user: Any, encounter: Encounter, grant: Any) -> None:
    """The audited read of an encounter under break-glass grant `grant`, flagged as such."""
    audit_record(
        actor=user,
        action="read",
        object_type="encounter",
        object_id=encounter.public_id,
        detail={"break_glass": True, "grant": grant.pk},
    )


def access_crew_encounter(user: Any, public_id: UUID | str) -> Encounter:
    """An open encounter of the crew's own unit (crew-only actions: vitals, destination)."""
    encounter = _encounter(public_id)
    check_crew_encounter(user, encounter)
    return encounter


def crew_encounters(public_ids: list[UUID]) -> dict[UUID, Encounter]:
    """Encounters by public id, for a set-based write that then checks each with
    check_crew_encounter (nothing is returned to anyone before that check)."""
    rows = Encounter.objects.select_related("assignment__unit", "destination").filter(
        public_id__in=public_ids
    )
    return {row.public_id: row for row in rows}


def check_crew_encounter(user: Any, encounter: Encounter) -> None:
    """PermissionDenied unless `user` crews the open encounter; audits the access."""
    check_crew(user, encounter)
    audit_record(actor=user, action="read", object_type="encounter", object_id=encounter.public_id)


def access_ed_encounter(user: Any, public_id: UUID | str) -> Encounter:
    """An encounter bound for the ED staff member's hospital (ED-only actions)."""
    encounter = _encounter(public_id)
    check_ed(user, encounter)
    audit_record(actor=user, action="read", object_type="encounter", object_id=encounter.public_id)
    return encounter


def access_crew_assignment(user: Any, assignment_id: int) -> Assignment:
    """An active assignment of the crew's unit, to open encounters on."""
    assignment = Assignment.objects.select_related("unit").get(pk=assignment_id)
    if not user_has_role(user, Role.CREW) or assignment.unit_id != user.unit_id:
        raise PermissionDenied("Only the crew of the assigned unit records its patients.")
    if assignment.status not in ACTIVE_ASSIGNMENT_STATUSES:
        raise PermissionDenied("The assignment is no longer active.")
    return assignment


def access_crew_open_encounters(user: Any, assignment: Assignment) -> list[Encounter]:
    """The open encounters of the crew's own assignment, for the tablet's patient record."""
    if not user_has_role(user, Role.CREW) or assignment.unit_id != user.unit_id:
        raise PermissionDenied("Only the crew of the assigned unit sees its patients.")
    rows = list(
        Encounter.objects.filter(assignment=assignment, status=EncounterStatus.OPEN)
        .select_related("assignment__unit", "destination", "admission")
        .order_by("created_at", "pk")
    )
    for encounter in rows:
        audit_record(
            actor=user, action="read", object_type="encounter", object_id=encounter.public_id
        )
    return rows


def audit_encounter_reads(user: Any, public_ids: Iterable[Any], *, via: str) -> None:
    """One audited read per encounter shown to `user` (audit.services.audit_reads)."""
    audit_reads(user, "encounter", public_ids, via=via)


def access_activation(user: Any, activation_id: int) -> TeamActivation:
    """A team activation of an encounter bound for the ED staff member's hospital."""
    activation = TeamActivation.objects.select_related(
        "encounter__assignment", "encounter__destination"
    ).get(pk=activation_id)
    check_ed(user, activation.encounter)
    audit_record(
        actor=user,
        action="read",
        object_type="encounter",
        object_id=activation.encounter.public_id,
        detail={"team_activation": activation.pk},
    )
    return activation


def replay_visible(user: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replayed events with those about encounters the user can no longer see masked.

    `handoff.encounter.removed` carries ids only and always passes, so a board can drop a
    patient who was sent elsewhere.
    """

    def about(event: dict[str, Any]) -> str | None:
        data = event.get("data")
        if not str(event.get("type", "")).startswith("handoff.") or not isinstance(data, dict):
            return None
        if event["type"] == "handoff.encounter.removed":
            return None
        value = data.get("encounter_id")
        return str(value) if value else None

    ids = {key for key in map(about, events) if key}
    if not ids:
        return events
    encounters = Encounter.objects.filter(public_id__in=ids).select_related("assignment")
    allowed = {str(e.public_id) for e in encounters if is_crew_of(user, e) or is_ed_of(user, e)}
    # What the replay hands back is a read of each patient it names.
    audit_encounter_reads(user, sorted(allowed), via="ws_replay")
    visible = []
    for event in events:
        key = about(event)
        if key is None or key in allowed:
            visible.append(event)
        else:
            visible.append(
                {
                    "type": "stream.skipped",
                    "v": 1,
                    "stream": event["stream"],
                    "seq": event["seq"],
                    "ts": event["ts"],
                    "data": {},
                }
            )
    return visible


# --- Outcome feedback (docs/handoff.md, "Outcome back to EMS") ---------------------------
# The crew that brought a patient learns what became of them: a deliberate, narrow widening
# of the crew's access. It reads the hospital's outcome fields only (never the record), for
# CREW_OUTCOME_FEEDBACK_DAYS after the handover, and every such read is audited as
# "outcome_feedback".


def outcome_feedback_since() -> Any:
    """The earliest handover (or close) whose outcome the crew still sees."""
    return timezone.now() - timedelta(days=settings.CREW_OUTCOME_FEEDBACK_DAYS)


def is_outcome_crew_of(user: Any, encounter: Encounter) -> bool:
    """True for the crew of the unit that brought the patient to the ED, within the window."""
    ended = encounter.transfer_of_care_at or encounter.closed_at
    return (
        user_has_role(user, Role.CREW)
        and encounter.assignment.unit_id == user.unit_id
        and encounter.arrived_at is not None
        and ended is not None
        and ended >= outcome_feedback_since()
    )


def access_encounter_outcome(user: Any, public_id: UUID | str) -> Encounter:
    """An encounter whose outcome `user` may read: its destination ED, its crew while open,
    or the crew that brought it (outcome feedback); audited, PermissionDenied otherwise."""
    encounter = _encounter(public_id)
    if is_ed_of(user, encounter) or is_crew_of(user, encounter):
        audit_record(
            actor=user, action="read", object_type="encounter", object_id=encounter.public_id
        )
        return encounter
    if not is_outcome_crew_of(user, encounter):
        raise PermissionDenied("Only the receiving ED or the crew that brought the patient.")
    audit_encounter_reads(user, [encounter.public_id], via="outcome_feedback")
    return encounter


def access_crew_outcome_feedback(user: Any) -> list[Encounter]:
    """The patients the crew's unit brought to an ED in the feedback window, newest first,
    each an audited outcome-feedback read; PermissionDenied for anyone but crew."""
    if not user_has_role(user, Role.CREW) or user.unit_id is None:
        raise PermissionDenied("Only a crew sees the outcomes of the patients it brought.")
    since = outcome_feedback_since()
    rows = [
        encounter
        for encounter in Encounter.objects.filter(
            assignment__unit_id=user.unit_id,
            status=EncounterStatus.CLOSED,
            arrived_at__isnull=False,
            closed_at__gte=since,
        )
        .select_related("assignment__unit", "destination", "outcome")
        .order_by("-closed_at", "-pk")[:50]
        if is_outcome_crew_of(user, encounter)
    ]
    audit_encounter_reads(user, [e.public_id for e in rows], via="outcome_feedback")
    return rows
