"""Device tokens: issue, revoke, authenticate. The only code that writes DeviceToken rows."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import DeviceToken, User
from accounts.sockets import close_sockets, token_group
from audit.services import audit_record

KEY_PREFIX = "gh_"
# last_used_at is written at most this often per token: a box posting every second must not
# turn every request into a write.
TOUCH_EVERY = timedelta(seconds=60)
MAX_DAYS = 3650


class DeviceTokenError(ValueError):
    """A device token request that cannot be carried out; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IssuedToken:
    token: DeviceToken
    key: str  # shown once; never stored


def key_hash(key: str) -> str:
    """The stored form of a key. Lookup by this digest compares no secret byte by byte."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _lifetime(days: int | None) -> timedelta:
    days = settings.DEVICE_TOKEN_DAYS if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise DeviceTokenError("days", f"days must be a whole number from 1 to {MAX_DAYS}.")
    return timedelta(days=days)


def device_token_issue(
    *,
    user: User,
    created_by: User | None,
    label: str = "",
    days: int | None = None,
    unit: Any = None,
) -> IssuedToken:
    """Make a token for `user`; the raw key is in the result and nowhere else.

    Preconditions: `user` is active; `days` 1..MAX_DAYS (DEVICE_TOKEN_DAYS when None);
    `unit`, when given, is the unit `user` crews (the token then acts as that unit only).
    """
    if not user.is_active:
        raise DeviceTokenError("user", f"User {user.get_username()!r} is not active.")
    if unit is not None and user.unit_id != unit.pk:
        raise DeviceTokenError(
            "unit", f"User {user.get_username()!r} is not crew of unit {unit.call_sign!r}."
        )
    if len(label) > 100:
        raise DeviceTokenError("label", "label is at most 100 characters.")
    lifetime = _lifetime(days)
    now = timezone.now()
    for _ in range(5):
        prefix = KEY_PREFIX + secrets.token_hex(4)
        key = f"{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = DeviceToken.objects.create(
                    prefix=prefix,
                    key_hash=key_hash(key),
                    user=user,
                    label=label,
                    unit=unit,
                    created_by=created_by,
                    created_at=now,
                    expires_at=now + lifetime,
                )
                audit_record(
                    actor=created_by,
                    action="device_token_issue",
                    object_type="device_token",
                    object_id=token.pk,
                    detail={
                        "prefix": prefix,
                        "user_id": user.pk,
                        "days": lifetime.days,
                        "unit_id": unit.pk if unit is not None else None,
                    },
                )
        except IntegrityError:
            continue  # a prefix collision (32 bits): draw again
        return IssuedToken(token=token, key=key)
    raise RuntimeError("could not draw an unused token prefix")


def device_token_revoke(*, token_id: int, revoked_by: User | None) -> DeviceToken:
    """Revoke a token and close its open sockets. Revoking a revoked token changes nothing.

    Preconditions: the token exists (DeviceToken.DoesNotExist otherwise).
    """
    with transaction.atomic():
        token = DeviceToken.objects.select_for_update().get(pk=token_id)
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.revoked_by = revoked_by
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            actor=revoked_by,
            action="device_token_revoke",
            object_type="device_token",
            object_id=token.pk,
            detail={"prefix": token.prefix, "user_id": token.user_id},
        )
        transaction.on_commit(lambda: close_sockets([token_group(token_id)], "revoked"))
    return token


@dataclass(frozen=True)
class DeviceCredential:
    """What a socket keeps of the token it was opened with (realtime.consumers)."""

    token_id: int
    expires_at: datetime


def device_token_authenticate(key: str) -> tuple[User, DeviceToken] | None:
    """The active user and token of a raw key, or None for an unknown, revoked or expired
    token, an inactive user, or a token bound to a unit its user no longer crews.
    Touches last_used_at (throttled)."""
    if not key or len(key) > 200:
        return None
    token = DeviceToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
    now = timezone.now()
    if token is None or token.state_at(now) != "active" or not token.user.is_active:
        return None
    if token.unit_id is not None and token.user.unit_id != token.unit_id:
        # Bound to a unit its user no longer crews: it must not act as the user's new unit.
        return None
    if token.last_used_at is None or token.last_used_at < now - TOUCH_EVERY:
        DeviceToken.objects.filter(pk=token.pk).exclude(last_used_at__gte=now - TOUCH_EVERY).update(
            last_used_at=now
        )
    return token.user, token


def device_token_still_valid(token_id: int) -> bool:
    """Whether a socket's token is still active with an active user, and a bound token's
    user still crews its unit (the periodic re-check)."""
    now = timezone.now()
    return (
        DeviceToken.objects.filter(
            pk=token_id, revoked_at__isnull=True, expires_at__gt=now, user__is_active=True
        )
        .filter(Q(unit__isnull=True) | Q(unit_id=F("user__unit_id")))
        .exists()
    )


def session_still_valid(session_key: str, user_id: Any) -> bool:
    """Whether a socket's login session still exists and its user is active.

    Existence, not the idle expiry: a board that only listens makes no requests that would
    slide the expiry, and must not drop mid-shift; logout deletes the session (closing the
    socket at once through its group), as does `clearsessions`.
    """
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not store().exists(session_key):
        return False
    return User.objects.filter(pk=user_id, is_active=True).exists()
