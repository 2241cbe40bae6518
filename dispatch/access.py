"""The only way to fetch dispatch objects on behalf of a user."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from accounts.access import user_has_role
from accounts.models import Role
from dispatch.models import Assignment, DispatchCentre, Incident, Unit


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
    """A unit the user may act on: a dispatcher of its centre or its own crew (and devices)."""
    unit = Unit.objects.select_related("home_station").get(pk=unit_id)
    if user_has_role(user, Role.DISPATCHER) and unit.centre_id == user.dispatch_centre_id:
        return unit
    if user_has_role(user, Role.CREW) and unit.pk == user.unit_id:
        return unit
    raise PermissionDenied("This unit is not yours.")
