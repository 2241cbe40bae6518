"""Role checks for views: each screen belongs to exactly one role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import Role


def user_has_role(user: Any, *roles: Role) -> bool:
    """True when `user` is logged in, active, and holds one of `roles`."""
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def role_required(
    *roles: Role,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view decorator that answers 403 to any other role (login is enforced by middleware)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not user_has_role(request.user, *roles):
                raise PermissionDenied("This screen is for another role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
