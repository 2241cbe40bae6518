"""The only way to fetch dispatch objects on behalf of a user."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from accounts.access import user_has_role
from accounts.models import Role
from dispatch.models import DispatchCentre, Unit


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
