"""Handing an incident to the centre that owns its location (jurisdiction by area).

A call located outside the taking centre's area and inside another centre's is proposed for
transfer there when the incident is created (`incident_transfer_propose_by_area`); a
dispatcher may also propose one by hand. The proposal shows the other centre what it needs
to decide (determinant, complaint, where), never the callers' names or numbers: the incident
with its calls, notes and callers moves only when a dispatcher there accepts. Refused or
withdrawn, it stays where it was taken. Every step is audited with both centres named and
announced on both centres' streams (`dispatch.transfer.updated`; the centre that gave the
incident away also gets `dispatch.incident.transferred`, the one that took it
`dispatch.incident.created`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from dispatch import events, region, selectors
from dispatch.access import access_dispatcher_centre
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    OPEN_INCIDENT_STATUSES,
    DispatchCentre,
    Incident,
    IncidentTransfer,
    TransferStatus,
)
from dispatch.services import DispatchError, _emit_incident
from realtime.events import event_record


def _emit_transfer(transfer: IncidentTransfer) -> None:
    """`dispatch.transfer.updated` to both centres: the whole summary to the centre holding
    the incident, the decision view (no caller data: there is none in either) to the other."""
    data = selectors.transfer_summary(transfer)
    for centre_id in (transfer.from_centre_id, transfer.to_centre_id):
        event_record(
            stream=events.centre_group(centre_id),
            event_type="dispatch.transfer.updated",
            data=data,
        )


def _audit(user: Any, action: str, transfer: IncidentTransfer) -> None:
    audit_record(
        actor=user,
        action=action,
        object_type="incident",
        object_id=transfer.incident_id,
        detail={
            "transfer_id": transfer.pk,
            "from_centre": transfer.from_centre.code,
            "to_centre": transfer.to_centre.code,
        },
    )


def _check_movable(incident: Incident, field: str) -> None:
    if incident.status not in OPEN_INCIDENT_STATUSES:
        raise DispatchError(f"Incident #{incident.pk} is closed.", field=field, code="conflict")
    busy = list(
        incident.assignments.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES).values_list(
            "unit__call_sign", flat=True
        )
    )
    if busy:
        raise DispatchError(
            f"Incident #{incident.pk} has units assigned ({', '.join(sorted(busy))}); "
            "a centre hands over an incident before its units are sent, or keeps it.",
            field=field,
            code="conflict",
        )


def _propose(
    *, user: Any, incident: Incident, to_centre: DispatchCentre, reason: str
) -> IncidentTransfer:
    if to_centre.pk == incident.centre_id:
        raise DispatchError("The incident is already with that centre.", field="to_centre")
    _check_movable(incident, "incident")
    if incident.transfers.filter(status=TransferStatus.PROPOSED).exists():
        raise DispatchError(
            f"Incident #{incident.pk} is already proposed for transfer.",
            field="incident",
            code="conflict",
        )
    transfer = IncidentTransfer.objects.create(
        incident=incident,
        from_centre_id=incident.centre_id,
        to_centre=to_centre,
        reason=reason[:200],
        proposed_at=timezone.now(),
        proposed_by=user,
    )
    _audit(user, "transfer_propose", transfer)
    _emit_transfer(transfer)
    _emit_incident(incident, "updated")
    return transfer


def incident_transfer_propose(
    *, user: Any, incident_id: int, to_centre: str, reason: str = ""
) -> IncidentTransfer:
    """Propose to hand incident `incident_id` of the dispatcher's centre to the centre with
    code `to_centre`. Refused for a closed incident, one with units assigned, or one already
    proposed."""
    centre = access_dispatcher_centre(user)
    target = DispatchCentre.objects.filter(code=to_centre).first()
    if target is None:
        raise DispatchError(f"No dispatch centre {to_centre!r}.", field="to_centre")
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update().filter(pk=incident_id, centre=centre).first()
        )
        if incident is None:
            raise DispatchError(f"No incident {incident_id} in your centre.", field="incident")
        return _propose(
            user=user,
            incident=incident,
            to_centre=target,
            reason=reason.strip() or f"Proposed by {centre.name}",
        )


def incident_transfer_propose_by_area(*, user: Any, incident: Incident) -> IncidentTransfer | None:
    """When the incident lies outside its centre's area and inside another centre's, propose
    the transfer there (the caller's transaction); None when it is where it belongs, or
    when no centre's area holds it (then the taking centre keeps it)."""
    centre = incident.centre
    if centre.area and region.area_contains(centre.area, incident.lat, incident.lon):
        return None
    owner = region.centre_owning(incident.lat, incident.lon, prefer=centre.pk)
    if owner is None or owner.pk == centre.pk:
        return None
    return _propose(
        user=user,
        incident=incident,
        to_centre=owner,
        reason=f"The location is in {owner.name}'s area",
    )


def _open_transfer(transfer_id: int) -> IncidentTransfer:
    transfer = (
        IncidentTransfer.objects.select_for_update(of=("self",))
        .select_related("from_centre", "to_centre")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise IncidentTransfer.DoesNotExist(f"No transfer {transfer_id}.")
    return transfer


def _check_open(transfer: IncidentTransfer) -> None:
    if transfer.status != TransferStatus.PROPOSED:
        raise DispatchError(
            f"The transfer of incident #{transfer.incident_id} was {transfer.status} already.",
            field="transfer",
            code="conflict",
        )


def incident_transfer_decide(
    *, user: Any, transfer_id: int, accept: bool, note: str = ""
) -> IncidentTransfer:
    """Accept or refuse a transfer proposed to the dispatcher's centre. Accepted, the whole
    incident (calls, callers, notes) moves to this centre; refused (a reason is required),
    it stays with the centre that took it."""
    centre = access_dispatcher_centre(user)
    note = note.strip()
    if not accept and not note:
        raise DispatchError("Say why the transfer is refused.", field="note")
    with transaction.atomic():
        transfer = _open_transfer(transfer_id)
        if transfer.to_centre_id != centre.pk:
            raise PermissionDenied(f"Transfer {transfer_id} is not proposed to your centre.")
        _check_open(transfer)
        incident = Incident.objects.select_for_update().get(pk=transfer.incident_id)
        if accept:
            _check_movable(incident, "transfer")
        transfer.status = TransferStatus.ACCEPTED if accept else TransferStatus.REFUSED
        transfer.decided_at = timezone.now()
        transfer.decided_by = user
        transfer.decision_note = note[:200]
        transfer.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        _audit(user, "transfer_accept" if accept else "transfer_refuse", transfer)
        _emit_transfer(transfer)
        if accept:
            incident.centre = centre
            incident.save(update_fields=["centre"])
            event_record(
                stream=events.centre_group(transfer.from_centre_id),
                event_type="dispatch.incident.transferred",
                data={"id": incident.pk, "to_centre": selectors.centre_summary(centre)},
            )
            _emit_incident(incident, "created")
        else:
            _emit_incident(incident, "updated")
    return transfer


def _withdraw(user: Any, transfer: IncidentTransfer, note: str = "") -> None:
    transfer.status = TransferStatus.WITHDRAWN
    transfer.decided_at = timezone.now()
    transfer.decided_by = user
    transfer.decision_note = note
    transfer.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    _audit(user, "transfer_withdraw", transfer)
    _emit_transfer(transfer)


def incident_transfers_withdraw_for_incident(*, user: Any, incident_id: int) -> int:
    """Withdraw the open transfer of an incident being closed (the caller's transaction);
    returns how many there were (0 or 1)."""
    open_ones = list(
        IncidentTransfer.objects.select_for_update(of=("self",))
        .select_related("incident", "from_centre", "to_centre")
        .filter(incident_id=incident_id, status=TransferStatus.PROPOSED)
    )
    for transfer in open_ones:
        _withdraw(user, transfer, "incident closed")
    return len(open_ones)


def incident_transfer_withdraw(*, user: Any, transfer_id: int) -> IncidentTransfer:
    """Withdraw a transfer the dispatcher's centre proposed: it keeps the incident."""
    centre = access_dispatcher_centre(user)
    with transaction.atomic():
        transfer = _open_transfer(transfer_id)
        if transfer.from_centre_id != centre.pk:
            raise PermissionDenied(f"Transfer {transfer_id} was not proposed by your centre.")
        _check_open(transfer)
        _withdraw(user, transfer)
        _emit_incident(Incident.objects.get(pk=transfer.incident_id), "updated")
    return transfer
