"""Sockets follow the end of a login: logout, deactivation and a change of the role or
organisation close them (accounts.sockets).

Signals, not services, because a logout is Django's view and a deactivation may be an admin
form, a shell or a command: each of them must close the user's open sockets.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from accounts.models import User
from accounts.sockets import close_sockets, session_group, user_group


@receiver(user_logged_out)
def _close_sockets_of_the_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        # Django sends this just before it deletes the session; a socket that reconnects in
        # between finds no session at its next re-check (DEVICE_TOKEN_RECHECK_SECONDS).
        transaction.on_commit(lambda: close_sockets([session_group(session_key)], "logout"))


# What a socket's stream is resolved from (realtime.consumers.ScreenConsumer.resolve): an ED
# nurse moved to another hospital must not keep the old hospital's board streaming.
SCOPE_FIELDS = ("role", "dispatch_centre_id", "unit_id", "hospital_id")


def _scope(user: Any) -> tuple[Any, ...]:
    return tuple(getattr(user, field) for field in SCOPE_FIELDS)


@receiver(pre_save, sender=User)
def _remember_the_scope(sender: Any, instance: User, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if instance.pk is None or (
        update_fields is not None
        and not {"role", "dispatch_centre", "unit", "hospital"} & set(update_fields)
    ):
        return  # a login's last_login update, say: no scope can change
    before = User.objects.filter(pk=instance.pk).values_list(*SCOPE_FIELDS).first()
    instance._scope_before = before  # type: ignore[attr-defined]


@receiver(post_save, sender=User)
def _close_sockets_of_a_deactivated_or_moved_user(
    sender: Any, instance: User, created: bool, **kwargs: Any
) -> None:
    if created:
        return
    before = instance.__dict__.pop("_scope_before", None)
    moved = before is not None and tuple(before) != _scope(instance)
    if not instance.is_active or moved:
        user_id = instance.pk
        reason = "deactivated" if not instance.is_active else "moved"
        transaction.on_commit(lambda: close_sockets([user_group(user_id)], reason))
