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
