"""Reads for the dispatch screens."""

from __future__ import annotations

from typing import Any

from dispatch.models import Unit
from handoff.models import Hospital


def unit_summary(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.pk,
        "call_sign": unit.call_sign,
        "unit_type": unit.unit_type,
        "capabilities": unit.capabilities,
        "status": unit.status,
        "station": unit.home_station.name,
        "lat": unit.last_lat if unit.last_lat is not None else unit.home_station.lat,
        "lon": unit.last_lon if unit.last_lon is not None else unit.home_station.lon,
        "last_fix_at": unit.last_fix_at.isoformat() if unit.last_fix_at else None,
    }


def hospital_summary(hospital: Hospital) -> dict[str, Any]:
    return {
        "id": hospital.pk,
        "name": hospital.name,
        "lat": hospital.lat,
        "lon": hospital.lon,
        "capabilities": hospital.capabilities,
        "ed_status": hospital.ed_status,
        "diversion_reason": hospital.diversion_reason,
    }


def dispatch_board_snapshot(*, centre_id: int) -> dict[str, Any]:
    """Everything a dispatcher screen of one centre shows: its units and every hospital."""
    units = Unit.objects.filter(centre_id=centre_id).select_related("home_station")
    return {
        "units": [unit_summary(unit) for unit in units],
        "hospitals": [hospital_summary(h) for h in Hospital.objects.all()],
    }
