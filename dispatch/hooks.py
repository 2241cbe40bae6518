"""What the apps built on dispatch plug into, so that dispatch never imports them.

handoff builds on dispatch (docs/architecture.md: an encounter belongs to an assignment). It
owns the hospitals a unit takes a patient to, the patient record a crew keeps on the tablet
and the offload times a report counts; dispatch's services, screens and reports reach them
only through what handoff registers here, and tell handoff what happened through the two
signals. handoff registers and connects in its AppConfig.ready, so every process that sets
Django up has them before dispatch runs: the web and socket servers, Celery workers,
management commands and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

# Sent after the commit of an assignment that went to transporting, with `unit_id`: leaving
# the scene starts the ED board's countdown now, not at the unit's next fix.
unit_transporting = Signal()
# Sent after the commit of positions that moved units, with `unit_ids` (those that moved).
units_moved = Signal()


class Hospital(Protocol):
    """A receiving hospital as dispatch shows it (the model is handoff.models.Hospital)."""

    @property
    def pk(self) -> Any: ...
    @property
    def name(self) -> str: ...
    @property
    def lat(self) -> Any: ...
    @property
    def lon(self) -> Any: ...
    @property
    def capabilities(self) -> Any: ...
    @property
    def ed_status(self) -> str: ...
    @property
    def diversion_reason(self) -> str: ...
    @property
    def ed_open(self) -> bool: ...


@dataclass(frozen=True)
class Provided:
    # Every hospital, by name.
    hospitals: Callable[[], Iterable[Hospital]]
    hospital_exists: Callable[[int], bool]
    # The crew tablet's patient record at page load, for (user, current assignment or None).
    crew_record: Callable[[Any, Any], dict[str, Any]]
    # {incident id: [offload seconds of each patient handed over]} of a centre's incidents
    # whose call came in within [since, until).
    offloads: Callable[[int, datetime, datetime], dict[int, list[float]]]
    # The hospitals' outcomes of those incidents' patients, aggregated (no patient):
    # {"handed_over": n, "with_outcome": n, "door_to_treatment_s": {pathway: [seconds]}}.
    outcomes: Callable[[int, datetime, datetime], dict[str, Any]] | None = None
    # The failed hospital deliveries of a centre's open incidents (job ids, hospital, reason;
    # no patient data), for the console at page load.
    delivery_failures: Callable[[int], list[dict[str, Any]]] = lambda centre_id: []


_provided: Provided | None = None


def provide(provided: Provided) -> None:
    """Register what handoff provides to dispatch (once per process, in AppConfig.ready)."""
    global _provided
    _provided = provided


def provided() -> Provided:
    """What handoff registered; a clear error when nothing did (the app is not installed)."""
    if _provided is None:
        raise ImproperlyConfigured(
            "dispatch needs the hospitals, the crew record and the offload times that "
            "handoff registers in its AppConfig.ready (dispatch.hooks.provide); is 'handoff' "
            "in INSTALLED_APPS?"
        )
    return _provided
