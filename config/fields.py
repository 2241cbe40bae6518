"""Model fields shared by the apps, and the checks of text and times every input path uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ChoiceListField(models.JSONField):  # type: ignore[type-arg]
    """A JSON list whose items must each be one of `item_choices` (a TextChoices class).

    A JSON list rather than a join table because capabilities are a short, closed
    vocabulary read with the row on every recommendation, on SQLite and PostgreSQL alike.
    """

    def __init__(self, *args: Any, item_choices: type[models.TextChoices], **kwargs: Any) -> None:
        self.item_choices = item_choices
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["item_choices"] = self.item_choices
        return name, path, args, kwargs

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        if not isinstance(value, list):
            raise ValidationError("Expected a list of codes.", code="invalid")
        allowed = set(self.item_choices.values)
        unknown = [item for item in value if item not in allowed]
        if unknown:
            raise ValidationError(
                "Unknown code(s): %(unknown)s. Allowed: %(allowed)s.",
                code="invalid_choice",
                params={
                    "unknown": ", ".join(map(str, unknown)),
                    "allowed": ", ".join(sorted(allowed)),
                },
            )
        if len(set(value)) != len(value):
            raise ValidationError("A code is listed twice.", code="duplicate")

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return forms.TypedMultipleChoiceField(
            choices=self.item_choices.choices,
            widget=forms.CheckboxSelectMultiple,
            required=not self.blank,
            label=str(self.verbose_name).capitalize(),
            help_text=self.help_text,
        )


def latitude_field(**kwargs: Any) -> Any:
    """A latitude in degrees (WGS84), validated to -90..90."""
    return models.FloatField(
        validators=[MinValueValidator(-90.0), MaxValueValidator(90.0)], **kwargs
    )


def longitude_field(**kwargs: Any) -> Any:
    """A longitude in degrees (WGS84), validated to -180..180."""
    return models.FloatField(
        validators=[MinValueValidator(-180.0), MaxValueValidator(180.0)], **kwargs
    )


def coordinate_constraint(
    prefix: str, lat: str = "lat", lon: str = "lon", *, nullable: bool = False
) -> models.CheckConstraint:
    """A database check that a coordinate pair is on the globe (and set together if nullable)."""
    on_globe = models.Q(**{f"{lat}__gte": -90.0, f"{lat}__lte": 90.0}) & models.Q(
        **{f"{lon}__gte": -180.0, f"{lon}__lte": 180.0}
    )
    if nullable:
        on_globe |= models.Q(**{f"{lat}__isnull": True, f"{lon}__isnull": True})
    return models.CheckConstraint(condition=on_globe, name=f"{prefix}_{lat}_{lon}_on_globe")


# --- Text and times from the outside (REST bodies, device items, services) -----------------

# Device clocks drift; a time a few minutes "in the future" is a clock, not a lie.
FUTURE_TOLERANCE = timedelta(minutes=5)
# No record of this system's care can be older; year 0001 is a tablet with no clock set.
EARLIEST_CLINICAL_TIME = datetime(2000, 1, 1, tzinfo=UTC)

# C0 controls, DEL and C1 controls. Free text keeps tab and newline; a name keeps neither.
# NUL cannot be stored by PostgreSQL, and CR or the others break HL7 v2 segments and screens.
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as text (a control character), or None."""
    found = (_CONTROL_IN_TEXT if multiline else _CONTROL_IN_LINE).search(value)
    if found is None:
        return None
    allowed = "only tab and newline are allowed" if multiline else "it must be one line"
    return f"must not contain control characters (U+{ord(found.group()):04X}); {allowed}."


def clinical_time_problem(value: datetime, *, now: datetime) -> str | None:
    """Why `value` is not a plausible time of care (before 2000, or in the future), or None.

    Preconditions: `value` and `now` are timezone-aware.
    """
    if value < EARLIEST_CLINICAL_TIME:
        return f"must not be before {EARLIEST_CLINICAL_TIME:%Y-%m-%d}."
    if value > now + FUTURE_TOLERANCE:
        minutes = int(FUTURE_TOLERANCE.total_seconds() // 60)
        return f"cannot be in the future (more than {minutes} minutes ahead of the server)."
    return None
