"""The receiving hospital: choosing it pre-registers the patient there; the live ETA to it
follows the unit's fixes on the road graph."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dispatch import selectors as dispatch_selectors
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Assignment,
    AssignmentStatus,
)
from handoff import access, events, selectors
from handoff.delivery_jobs import delivery_cancel_enqueue, delivery_enqueue
from handoff.models import (
    Admission,
    AdmissionStatus,
    DestinationReason,
    Encounter,
    EncounterStatus,
    Hospital,
)
from handoff.services import HandoffError
from handoff.services._common import _audit, _emit_encounter, _lock, _require_open, _touch
from realtime.events import event_record
from routing.engine import RoutingError
from routing.services import MapNotBuiltError


def destination_set(*, user: Any, encounter_id: int, hospital_id: int, reason: str) -> Encounter:
    """Choose the receiving hospital (eDisposition.20 reason kept) and pre-register there.

    Pre-registration is the Admission row under the temporary identifier ("when the ED is
    notified", HL7 ADT^A05). Choosing another hospital moves the admission and the pending
    team activations to it and takes the row off the previous ED's board. The assignment's
    destination follows, so dispatchers see it through their own events.
    """
    if reason not in DestinationReason.values:
        raise HandoffError(
            f"reason must be one of {', '.join(DestinationReason.values)} (eDisposition.20).",
            field="reason",
        )
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        _require_open(encounter)
        hospital = Hospital.objects.filter(pk=hospital_id).first()
        if hospital is None:
            raise HandoffError(f"No hospital {hospital_id}.", field="hospital", code="unknown")
        if encounter.arrived_at is not None:
            raise HandoffError(
                "The patient has arrived; the destination cannot change now.",
                field="hospital",
                code="invalid_transition",
            )
        previous = encounter.destination_id
        try:
            drive = selectors.drive_times(encounter.assignment, [hospital])[hospital.pk]
        except (MapNotBuiltError, RoutingError):
            drive = selectors.DriveTime(None, None, True)
        encounter.destination = hospital
        encounter.destination_reason = reason
        encounter.destination_ed_status = hospital.ed_status
        encounter.destination_set_at = now
        encounter.eta_at = now + timedelta(seconds=drive.seconds) if drive.seconds else None
        encounter.eta_approximate = drive.approximate
        encounter.eta_drive_seconds = round(drive.seconds) if drive.seconds else None
        encounter.eta_computed_at = now if drive.seconds else None
        changed = ["destination", "destination_reason", "destination_ed_status"]
        changed += ["destination_set_at", "eta_at", "eta_approximate"]
        changed += ["eta_drive_seconds", "eta_computed_at"]
        if previous is not None and previous != hospital.pk:
            # The new ED has neither acknowledged nor prepared a bay.
            encounter.ed_acknowledged_at = None
            encounter.ed_acknowledged_by = None
            encounter.bay = ""
            changed += ["ed_acknowledged_at", "ed_acknowledged_by", "bay"]
        _touch(encounter, now, *changed)
        Admission.objects.update_or_create(
            encounter=encounter,
            defaults={
                "hospital": hospital,
                "temp_identifier": encounter.temp_identifier,
                "status": AdmissionStatus.PRE_REGISTERED,
                "updated_at": now,
            },
            create_defaults={
                "hospital": hospital,
                "temp_identifier": encounter.temp_identifier,
                "status": AdmissionStatus.PRE_REGISTERED,
                "created_at": now,
                "updated_at": now,
            },
        )
        if previous != hospital.pk:
            # Pending activations go to the new ED only where it has the team; the rest are
            # held (not sent, not escalated) and the crew is warned (destination_warnings).
            for activation in encounter.activations.filter(acknowledged_at__isnull=True):
                capable = selectors.hospital_can_activate(hospital, activation.kind)
                activation.sent_at = now if capable else None
                activation.escalated_at = None
                activation.save(update_fields=["sent_at", "escalated_at"])
                if not capable:
                    continue
                event_record(
                    stream=events.ed_group(hospital.pk),
                    event_type=events.ACTIVATION_PROPOSED,
                    data=selectors.activation_summary(activation),
                )
        if previous is not None and previous != hospital.pk:
            # The first hospital pre-registered the patient: tell its systems it is off.
            previous_hospital = Hospital.objects.filter(pk=previous).first()
            if previous_hospital is not None:
                delivery_cancel_enqueue(encounter, previous_hospital, actor=user)
            event_record(
                stream=events.ed_group(previous),
                event_type=events.ENCOUNTER_REMOVED,
                data={
                    "encounter_id": str(encounter.public_id),
                    "temp_identifier": encounter.temp_identifier,
                },
            )
        _assignment_destination(encounter.assignment_id, hospital.pk)
        _emit_encounter(encounter)
        delivery_enqueue(encounter, "A05", fhir=True, actor=user)
        _audit(user, encounter, "destination_set", detail={"hospital": hospital.pk})
    return encounter


def _assignment_destination(assignment_id: int, hospital_id: int) -> None:
    """Point the dispatch assignment at the hospital and tell the centre and the tablet.

    Dispatchers get destination and ETA this way only, never the clinical record.
    """
    assignment = (
        Assignment.objects.select_for_update()
        .select_related("unit", "incident")
        .get(pk=assignment_id)
    )
    if (
        assignment.destination_id == hospital_id
        or assignment.status not in ACTIVE_ASSIGNMENT_STATUSES
    ):
        return
    assignment.destination_id = hospital_id
    assignment.save(update_fields=["destination"])
    event_record(
        stream=events.unit_group(assignment.unit_id),
        event_type="dispatch.assignment.updated",
        data=dispatch_selectors.assignment_for_crew(assignment),
    )
    event_record(
        stream=events.centre_group(assignment.incident.centre_id),
        event_type="dispatch.incident.updated",
        data=dispatch_selectors.incident_summary(assignment.incident),
    )


# Crew statuses whose patient is on the way: on scene the drive time is "from leaving".
ETA_CREW_STATUSES = (AssignmentStatus.ON_SCENE, AssignmentStatus.TRANSPORTING)


def eta_watch_units() -> set[int]:
    """Units with a patient on the way to an ED (the ETA follows their fixes)."""
    return set(
        Encounter.objects.filter(
            status=EncounterStatus.OPEN,
            destination__isnull=False,
            arrived_at__isnull=True,
            assignment__status__in=ETA_CREW_STATUSES,
        ).values_list("assignment__unit_id", flat=True)
    )


# An ambulance driving as predicted keeps its arrival time: the ED hears of a change only
# when the arrival moves by this much, so a fleet on the road does not flood the boards.
ETA_CHANGE_SECONDS = 30


def _eta_moved(
    encounter: Encounter, eta_at: datetime, drive_s: int, approximate: bool, driving: bool
) -> bool:
    if encounter.eta_at is None or encounter.eta_drive_seconds is None:
        return True
    if encounter.eta_approximate != approximate:
        return True
    if driving:
        return abs((eta_at - encounter.eta_at).total_seconds()) >= ETA_CHANGE_SECONDS
    return abs(drive_s - encounter.eta_drive_seconds) >= ETA_CHANGE_SECONDS


def encounters_eta_refresh(
    *, unit_ids: list[int], min_interval_s: float, force: bool = False
) -> int:
    """Recompute the ETA of each patient these units carry (or are with on scene) from the
    unit's newest fix on the road graph; the receiving ED and the tablet get the row.

    At most once per `min_interval_s` per encounter, whoever asks: each is claimed with a
    conditional UPDATE of eta_computed_at, so two ingest processes do not both route it.
    The ED hears of it when the arrival moves by ETA_CHANGE_SECONDS or more, or always with
    `force` (the crew left the scene: the board starts counting down). The route is computed
    outside the row lock. Returns how many encounters changed.
    """
    now = timezone.now()
    candidates = list(
        Encounter.objects.filter(
            assignment__unit_id__in=unit_ids,
            status=EncounterStatus.OPEN,
            destination__isnull=False,
            arrived_at__isnull=True,
            assignment__status__in=ETA_CREW_STATUSES,
        ).select_related("assignment__unit", "assignment__incident", "destination")
    )
    # A little slack: fixes every 10 s must not miss a 12 s window by a few milliseconds.
    cutoff = now - timedelta(seconds=max(0.0, min_interval_s - 0.5))
    updated = 0
    for encounter in candidates:
        claimed = (
            Encounter.objects.filter(pk=encounter.pk)
            .filter(Q(eta_computed_at__isnull=True) | Q(eta_computed_at__lte=cutoff))
            .update(eta_computed_at=now)
        )
        if not claimed:
            continue
        hospital = encounter.destination
        assert hospital is not None  # noqa: S101 - filtered on destination above
        try:
            drive = selectors.drive_times(encounter.assignment, [hospital])[hospital.pk]
        except (MapNotBuiltError, RoutingError):
            continue
        if drive.seconds is None:
            continue
        fix_at = encounter.assignment.unit.last_fix_at or now
        with transaction.atomic():
            locked = _lock(encounter.pk)
            if (
                locked.status != EncounterStatus.OPEN
                or locked.arrived_at is not None
                or locked.destination_id != hospital.pk
            ):
                continue
            driving = locked.assignment.status == AssignmentStatus.TRANSPORTING
            # On scene the patient is not moving yet: "if we left now".
            new_eta = (fix_at if driving else now) + timedelta(seconds=drive.seconds)
            moved = _eta_moved(locked, new_eta, round(drive.seconds), drive.approximate, driving)
            if not (moved or force):
                continue
            locked.eta_drive_seconds = round(drive.seconds)
            locked.eta_at = new_eta
            locked.eta_approximate = drive.approximate
            locked.eta_computed_at = now
            _touch(locked, now, "eta_drive_seconds", "eta_at", "eta_approximate", "eta_computed_at")
            _emit_encounter(locked)
            updated += 1
    return updated
