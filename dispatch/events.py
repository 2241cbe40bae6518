"""Dispatch group names and the units' position event."""

from __future__ import annotations

from typing import Final

from realtime.fanout import register_state_event

# Every unit that moved in one ingest tick, on its centre's stream: positions are state, so a
# screen that lags gets these merged, newest place per unit (realtime.fanout).
UNITS_MOVED: Final = "dispatch.units.moved"
register_state_event(UNITS_MOVED, list_key="units")


def centre_group(centre_id: int) -> str:
    """The group every dispatcher screen of one centre follows."""
    return f"dispatch.center.{centre_id}"


def unit_group(unit_id: int) -> str:
    """The group a unit's crew tablets follow."""
    return f"dispatch.unit.{unit_id}"
