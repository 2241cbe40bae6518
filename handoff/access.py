"""The only way to fetch handoff objects on behalf of a user."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from accounts.access import user_has_role
from accounts.models import Role
from handoff.models import Hospital


def access_staff_hospital(user: Any) -> Hospital:
    """The hospital `user` works in; PermissionDenied for anyone but its ED staff."""
    if not user_has_role(user, Role.ED_STAFF) or user.hospital_id is None:
        raise PermissionDenied("Only ED staff have a hospital.")
    return Hospital.objects.get(pk=user.hospital_id)
