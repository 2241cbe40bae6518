"""The only way to fetch dispatch objects on behalf of a user."""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from accounts.access import user_has_role
from accounts.models import Role
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Assignment,
    DispatchCentre,
    Incident,
    MutualAidRequest,
    QueuedCall,
    Unit,
)


def access_dispatcher_centre(user: Any) -> DispatchCentre:
    """The dispatch centre `user` works for; PermissionDenied for anyone but its dispatchers."""
    if not user_has_role(user, Role.DISPATCHER) or user.dispatch_centre_id is None:
        raise PermissionDenied("Only dispatchers have a dispatch centre.")
    return DispatchCentre.objects.get(pk=user.dispatch_centre_id)


def access_crew_unit(user: Any) -> Unit:
    """The unit `user` crews; PermissionDenied for anyone but its crew."""
    if not user_has_role(user, Role.CREW) or user.unit_id is None:
        raise PermissionDenied("Only crew members have a unit.")
    return Unit.objects.select_related("home_station", "centre").get(pk=user.unit_id)


def access_incident(user: Any, incident_id: int) -> Incident:
    """An incident of the dispatcher's centre; PermissionDenied or DoesNotExist otherwise."""
    centre = access_dispatcher_centre(user)
    return Incident.objects.get(pk=incident_id, centre=centre)


def access_assignment(user: Any, assignment_id: int) -> Assignment:
    """An assignment the user may act on: a dispatcher of its centre or the crew of its unit."""
    assignment = Assignment.objects.select_related("incident", "unit").get(pk=assignment_id)
    if (
        user_has_role(user, Role.DISPATCHER)
        and assignment.incident.centre_id == user.dispatch_centre_id
    ):
        return assignment
    if user_has_role(user, Role.CREW) and assignment.unit_id == user.unit_id:
        return assignment
    raise PermissionDenied("This assignment is not yours.")


def access_unit(user: Any, unit_id: int) -> Unit:
    """A unit the user may act on: a dispatcher of its centre or its own crew (and devices);
    while lent through mutual aid, also a dispatcher of the centre whose incident it serves
    (the crew reports to that centre by radio)."""
    unit = Unit.objects.select_related("home_station").get(pk=unit_id)
    if user_has_role(user, Role.DISPATCHER) and unit.centre_id == user.dispatch_centre_id:
        return unit
    if (
        user_has_role(user, Role.DISPATCHER)
        and user.dispatch_centre_id is not None
        and Assignment.objects.filter(
            unit=unit,
            status__in=ACTIVE_ASSIGNMENT_STATUSES,
            incident__centre_id=user.dispatch_centre_id,
        ).exists()
    ):
        return unit
    if user_has_role(user, Role.CREW) and unit.pk == user.unit_id:
        return unit
    raise PermissionDenied("This unit is not yours.")


def access_aid_request(
    user: Any, request_id: int, *, side: Literal["lending", "requesting"]
) -> MutualAidRequest:
    """A mutual-aid request for a dispatcher of its lending centre (to accept or refuse it)
    or of its requesting centre (to withdraw it); PermissionDenied for anyone else.

    The lender gets the request only: the incident itself stays the requester's
    (access_incident), callers' data with it.
    """
    centre = access_dispatcher_centre(user)
    request = MutualAidRequest.objects.get(pk=request_id)
    centre_id = request.lending_centre_id if side == "lending" else request.requesting_centre_id
    if centre_id != centre.pk:
        way = "to" if side == "lending" else "from"
        raise PermissionDenied(f"This mutual-aid request is not {way} your centre.")
    return request


def access_queued_call(user: Any, call_id: int) -> QueuedCall:
    """A queued call the dispatcher may answer: one of their centre's, or one offered to their
    centre by a partner's rollover; PermissionDenied or DoesNotExist otherwise."""
    centre = access_dispatcher_centre(user)
    return QueuedCall.objects.filter(Q(centre=centre) | Q(offered_to=centre)).get(pk=call_id)


def crew_replay_visible(user: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replayed unit events with the incident of a job the unit no longer holds reduced to
    its id (sync; the crew socket's replay).

    The log keeps every job the unit had; a tablet replaying from an old seq must learn that
    those jobs moved on (id, status, times), not where their patients were or what they said.
    """
    current = set(
        Assignment.objects.filter(
            unit_id=user.unit_id, status__in=ACTIVE_ASSIGNMENT_STATUSES
        ).values_list("pk", flat=True)
    )
    visible = []
    for event in events:
        data = event.get("data")
        if (
            str(event.get("type", "")).startswith("dispatch.assignment.")
            and isinstance(data, dict)
            and isinstance(data.get("incident"), dict)
            and data.get("id") not in current
        ):
            incident = {"id": data["incident"].get("id")}
            event = {**event, "data": {**data, "incident": incident, "route": None}}
        visible.append(event)
    return visible
