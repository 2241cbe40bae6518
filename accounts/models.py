"""People and their roles. A role is tied to the organisation whose data it may see."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class Role(models.TextChoices):
    DISPATCHER = "dispatcher", "Dispatcher"
    CREW = "crew", "Crew member"
    ED_STAFF = "ed_staff", "ED staff"
    ADMIN = "admin", "Administrator"


class GoldenHourUserManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A person who logs in. The organisation link that matches the role is required."""

    role = models.CharField(max_length=16, choices=Role.choices)
    dispatch_centre = models.ForeignKey(
        "dispatch.DispatchCentre",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dispatchers",
    )
    unit = models.ForeignKey(
        "dispatch.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="crew"
    )
    hospital = models.ForeignKey(
        "handoff.Hospital", on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    # The ED's charge nurse/physician gets escalations of unacknowledged team activations.
    is_charge = models.BooleanField(default=False)

    objects: ClassVar[GoldenHourUserManager] = GoldenHourUserManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="user_role_valid"
            ),
            # Least privilege: each role is scoped to exactly one organisation of its own kind,
            # and never carries a link that would widen what it can see.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        role=Role.DISPATCHER,
                        dispatch_centre__isnull=False,
                        unit__isnull=True,
                        hospital__isnull=True,
                    )
                    | models.Q(
                        role=Role.CREW,
                        dispatch_centre__isnull=True,
                        unit__isnull=False,
                        hospital__isnull=True,
                    )
                    | models.Q(
                        role=Role.ED_STAFF,
                        dispatch_centre__isnull=True,
                        unit__isnull=True,
                        hospital__isnull=False,
                    )
                    | models.Q(
                        role=Role.ADMIN,
                        dispatch_centre__isnull=True,
                        unit__isnull=True,
                        hospital__isnull=True,
                    )
                ),
                name="user_role_matches_organisation",
                violation_error_message=(
                    "A dispatcher needs a dispatch centre, a crew member a unit, ED staff a "
                    "hospital, and an administrator none of them."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(is_charge=False) | models.Q(role=Role.ED_STAFF),
                name="user_charge_only_ed_staff",
                violation_error_message="Only ED staff can hold the charge role.",
            ),
        ]

    @property
    def home_url_name(self) -> str:
        """The screen this user lands on after logging in."""
        return {
            Role.DISPATCHER: "dispatch:console",
            Role.CREW: "dispatch:tablet",
            Role.ED_STAFF: "handoff:board",
            Role.ADMIN: "admin:index",
        }[Role(self.role)]


class DeviceToken(models.Model):
    """A device's credential (AVL box, simulator, reference client), acting as `user`.

    Only the SHA-256 of the key is stored: a database dump or an admin page cannot be
    replayed as a unit. The key is shown once when issued (accounts.services); `prefix` is
    its first, non-secret part, so an operator can tell tokens apart and revoke one.
    """

    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="device_tokens"
    )
    label = models.CharField(max_length=100, blank=True)
    # A token issued for a unit acts as that unit only: it stops authenticating once its user
    # no longer crews the unit (accounts.services.device_token_authenticate), so a box moved
    # with its account to another ambulance cannot post that ambulance's fixes or patients.
    unit = models.ForeignKey(
        "dispatch.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="device_tokens",
        help_text="The unit this token may act as; empty for an unbound token.",
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="devicetoken_expires_after_created",
                violation_error_message="A token must expire after it is issued.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    def state_at(self, now: Any) -> str:
        """ "revoked", "expired" or "active" at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"
