"""Mutual aid: a centre requests a partner's available unit for one of its incidents, and a
dispatcher of the partner (the lending centre) accepts or refuses (docs/centres.md).

Locks are taken in the order assignments_create takes them (incident, then unit), and the
request row last, so a request decided while its unit is dispatched at home cannot deadlock
with that dispatch. Every change is audited and told to both centres' screens.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from dispatch import events, selectors
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    OPEN_INCIDENT_STATUSES,
    Assignment,
    Incident,
    MutualAidAgreement,
    MutualAidRequest,
    MutualAidStatus,
    Unit,
    UnitStatus,
)
from dispatch.selectors_aid import aid_request_get, aid_request_summary
from dispatch.services import (
    DispatchError,
    InvalidTransition,
    _assignments_create_locked,
    _unranked,
)
from realtime.events import event_record
from routing.engine import RoutingError

AID_UPDATED = "dispatch.aid.updated"


def _emit_aid(request: MutualAidRequest) -> None:
    """The request's summary (no caller identity) to the screens of both centres."""
    data = aid_request_summary(aid_request_get(request.pk))
    for centre_id in sorted({request.requesting_centre_id, request.lending_centre_id}):
        event_record(stream=events.centre_group(centre_id), event_type=AID_UPDATED, data=data)


def _agreement_active(centre_id: int, other_id: int) -> bool:
    low, high = sorted((centre_id, other_id))
    return MutualAidAgreement.objects.filter(
        centre_a_id=low, centre_b_id=high, active=True, share_units=True
    ).exists()


def _unit_committed(unit: Unit) -> str | None:
    """Why the unit cannot be lent now (its status, an active assignment), or None."""
    if unit.status != UnitStatus.AVAILABLE:
        return unit.get_status_display().lower()
    if Assignment.objects.filter(unit=unit, status__in=ACTIVE_ASSIGNMENT_STATUSES).exists():
        return "on an assignment"
    return None


def _locked(request_id: int) -> tuple[MutualAidRequest, Incident, Unit]:
    """The request's incident, unit and the request itself, locked in that order."""
    found = MutualAidRequest.objects.filter(pk=request_id).values("incident_id", "unit_id")
    if not found:
        raise DispatchError(f"No mutual-aid request {request_id}.", field="request")
    incident = Incident.objects.select_for_update().get(pk=found[0]["incident_id"])
    unit = (
        Unit.objects.select_for_update(of=("self",))
        .select_related("home_station", "position_set_by", "centre")
        .get(pk=found[0]["unit_id"])
    )
    request = MutualAidRequest.objects.select_for_update().get(pk=request_id)
    return request, incident, unit


def _still_open(request: MutualAidRequest) -> None:
    if request.status != MutualAidStatus.REQUESTED:
        raise InvalidTransition(
            f"The mutual-aid request is already {request.get_status_display().lower()}."
        )


def mutual_aid_request(*, user: Any, incident_id: int, unit_id: int) -> MutualAidRequest:
    """Ask a partner centre to lend one of its available units to an incident of the
    dispatcher's centre; the unit goes only when the partner accepts (mutual_aid_decide).

    The unit must be of a centre with an active agreement that shares units, available, and
    not already asked for; one the ranking leaves out (capability, off the map, no route)
    cannot be asked for. The ETA and distance are the ranking's, kept for the lender.
    """
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None or incident.centre_id != user.dispatch_centre_id:
            raise DispatchError(f"No incident {incident_id} in your centre.", field="incident")
        if incident.status not in OPEN_INCIDENT_STATUSES:
            raise DispatchError(f"Incident #{incident.pk} is {incident.status}.", field="incident")
        unit = (
            Unit.objects.select_for_update(of=("self",))
            .select_related("home_station", "position_set_by", "centre")
            .filter(pk=unit_id)
            .first()
        )
        if unit is not None and unit.centre_id == incident.centre_id:
            raise DispatchError(
                f"{unit.call_sign} is your own centre's unit: dispatch it directly.",
                field="unit_id",
            )
        # The same answer for a unit that does not exist and one of a centre without an
        # agreement: a centre learns nothing of units it has no business with.
        if unit is None or not _agreement_active(incident.centre_id, unit.centre_id):
            raise DispatchError(
                f"No unit {unit_id} of a partner centre (mutual-aid agreement).", field="unit_id"
            )
        committed = _unit_committed(unit)
        if committed:
            raise DispatchError(
                f"{unit.call_sign} is {committed}, not available to lend.",
                field="unit_id",
                code="unit_unavailable",
            )
        if MutualAidRequest.objects.filter(unit=unit, status=MutualAidStatus.REQUESTED).exists():
            raise DispatchError(
                f"{unit.call_sign} has already been requested; wait for {unit.centre.name}.",
                field="unit_id",
                code="unit_unavailable",
            )
        try:
            [rec] = selectors.incident_recommendations(incident, units=[unit])
        except (RoutingError, RuntimeError):
            # No road map: the request can still be made, without an ETA.
            rec = _unranked(unit, incident)
        if rec.excluded:
            raise DispatchError(
                f"{unit.call_sign} cannot be requested: {rec.excluded}.",
                field="unit_id",
                code="unit_unavailable",
            )
        try:
            with transaction.atomic():
                request = MutualAidRequest.objects.create(
                    incident=incident,
                    unit=unit,
                    requesting_centre_id=incident.centre_id,
                    lending_centre_id=unit.centre_id,
                    eta_s=rec.eta_s,
                    distance_m=rec.distance_m,
                    requested_at=now,
                    requested_by=user,
                )
        except IntegrityError:
            raise DispatchError(
                f"{unit.call_sign} has just been requested by another dispatcher.",
                field="unit_id",
                code="unit_unavailable",
            ) from None
        audit_record(
            actor=user,
            action="mutual_aid_request",
            object_type="mutual_aid_request",
            object_id=request.pk,
            detail={"incident": incident.pk, "unit": unit.pk, "lending_centre": unit.centre_id},
        )
        _emit_aid(request)
    return request


def mutual_aid_decide(
    *, user: Any, request_id: int, accept: bool, note: str = ""
) -> MutualAidRequest:
    """A dispatcher of the lending centre accepts the request (the unit is dispatched to the
    incident as a local dispatch would: same checks, same crew notification) or refuses it
    with a reason.

    Refused when the request is no longer open, the incident has closed, the agreement has
    ended, or the unit is no longer available.
    """
    note = note.strip()
    if not accept and not note:
        raise DispatchError("Say why the unit cannot be lent.", field="note")
    now = timezone.now()
    with transaction.atomic():
        request, incident, unit = _locked(request_id)
        if request.lending_centre_id != user.dispatch_centre_id:
            raise DispatchError(
                f"No mutual-aid request {request_id} to your centre.", field="request"
            )
        _still_open(request)
        if accept:
            if incident.status not in OPEN_INCIDENT_STATUSES:
                raise DispatchError(
                    f"Incident #{incident.pk} is {incident.status}: nothing to lend for.",
                    field="incident",
                )
            if not _agreement_active(request.requesting_centre_id, request.lending_centre_id):
                raise DispatchError(
                    "The mutual-aid agreement with the requesting centre is no longer active.",
                    field="agreement",
                )
            committed = _unit_committed(unit)
            if committed:
                raise DispatchError(
                    f"{unit.call_sign} is {committed} now, no longer available to lend; "
                    "refuse the request with a reason.",
                    field="unit",
                    code="unit_unavailable",
                )
            lender = unit.centre.name
            # The requesting dispatcher chose the unit from the ranking: that choice is the
            # confirmation a unit the ranking has since left out would need.
            [assignment] = _assignments_create_locked(
                user=user,
                incident=incident,
                units=[unit],
                now=now,
                device_id="console",
                override=True,
                override_note="mutual aid",
                lent_note=f"mutual aid from {lender}"[:120],
            )
            request.assignment = assignment
        request.status = MutualAidStatus.ACCEPTED if accept else MutualAidStatus.REFUSED
        request.decided_at = now
        request.decided_by = user
        request.decision_note = note[:200]
        request.save(
            update_fields=["status", "decided_at", "decided_by", "decision_note", "assignment"]
        )
        audit_record(
            actor=user,
            action="mutual_aid_accept" if accept else "mutual_aid_refuse",
            object_type="mutual_aid_request",
            object_id=request.pk,
            detail={
                "incident": incident.pk,
                "unit": unit.pk,
                "requesting_centre": request.requesting_centre_id,
                "assignment": request.assignment_id,
            },
        )
        _emit_aid(request)
    return request


def mutual_aid_withdraw(*, user: Any, request_id: int) -> MutualAidRequest:
    """A dispatcher of the requesting centre takes back a request still waiting."""
    now = timezone.now()
    with transaction.atomic():
        request, incident, unit = _locked(request_id)
        if request.requesting_centre_id != user.dispatch_centre_id:
            raise DispatchError(
                f"No mutual-aid request {request_id} from your centre.", field="request"
            )
        _still_open(request)
        request.status = MutualAidStatus.WITHDRAWN
        request.decided_at = now
        request.decided_by = user
        request.save(update_fields=["status", "decided_at", "decided_by"])
        audit_record(
            actor=user,
            action="mutual_aid_withdraw",
            object_type="mutual_aid_request",
            object_id=request.pk,
            detail={"incident": incident.pk, "unit": unit.pk},
        )
        _emit_aid(request)
    return request


def mutual_aid_withdraw_for_incident(*, user: Any, incident_id: int) -> int:
    """Withdraw every request still open for an incident that has just closed (inside
    incident_close's transaction, which holds the incident); returns how many."""
    open_requests = list(
        MutualAidRequest.objects.select_for_update()
        .filter(incident_id=incident_id, status=MutualAidStatus.REQUESTED)
        .order_by("pk")
    )
    now = timezone.now()
    for request in open_requests:
        request.status = MutualAidStatus.WITHDRAWN
        request.decided_at = now
        request.decided_by = user
        request.decision_note = "incident closed"
        request.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        audit_record(
            actor=user,
            action="mutual_aid_withdraw",
            object_type="mutual_aid_request",
            object_id=request.pk,
            detail={"incident": incident_id, "unit": request.unit_id, "via": "incident_close"},
        )
        _emit_aid(request)
    return len(open_requests)
