"""How handoff plugs into dispatch and the real-time platform (HandoffConfig.ready).

dispatch never imports handoff (docs/architecture.md): handoff provides it the hospitals,
the crew tablet's patient record and the offload times (dispatch.hooks.provide), adds its
items to the crew socket, reacts to dispatch's signals with the ED board's live ETA, and
masks replayed events about encounters a user can no longer see.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dispatch import hooks as dispatch_hooks
from dispatch.devices import register_crew_items
from handoff import eta
from handoff.access import replay_visible
from handoff.delivery_jobs import centre_delivery_failures
from handoff.devices import HANDOFF_ITEM_TYPES
from handoff.models import Hospital
from handoff.selectors import incident_offloads, incident_outcomes
from handoff.views import crew_record_initial
from realtime.consumers import register_replay_filter


def _hospitals() -> Iterable[Hospital]:
    return Hospital.objects.order_by("name")


def _hospital_exists(hospital_id: int) -> bool:
    return Hospital.objects.filter(pk=hospital_id).exists()


def _eta_unit_transporting(sender: Any, *, unit_id: int, **_: Any) -> None:
    eta.unit_changed(unit_id)


def _eta_units_moved(sender: Any, *, unit_ids: list[int], **_: Any) -> None:
    eta.units_moved(unit_ids)


def connect() -> None:
    """Register and connect everything above; idempotent (ready may run more than once)."""
    dispatch_hooks.provide(
        dispatch_hooks.Provided(
            hospitals=_hospitals,
            hospital_exists=_hospital_exists,
            crew_record=crew_record_initial,
            offloads=incident_offloads,
            outcomes=incident_outcomes,
            delivery_failures=centre_delivery_failures,
        )
    )
    register_crew_items(HANDOFF_ITEM_TYPES)
    # Synchronous receivers, called where dispatch sends: after its commit, as before.
    dispatch_hooks.unit_transporting.connect(_eta_unit_transporting, dispatch_uid="handoff.eta")
    dispatch_hooks.units_moved.connect(_eta_units_moved, dispatch_uid="handoff.eta")
    register_replay_filter(replay_visible)
