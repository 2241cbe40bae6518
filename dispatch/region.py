"""Where each dispatch centre's jurisdiction lies: areas as GeoJSON, read with shapely.

`centre_owning(lat, lon)` answers which centre a call belongs to; areas are parsed once per
process and re-read when a centre's area changes (keyed by the area's JSON text).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

AREA_TYPES = ("Polygon", "MultiPolygon")


def area_problem(area: Any) -> str:
    """Why `area` is not a usable jurisdiction ("" when it is, or when there is none)."""
    if area in (None, ""):
        return ""
    if not isinstance(area, dict) or area.get("type") not in AREA_TYPES:
        return "must be a GeoJSON Polygon or MultiPolygon geometry"
    try:
        geometry = shape(area)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        return f"is not valid GeoJSON ({error})"
    if geometry.is_empty:
        return "is empty"
    if not geometry.is_valid:
        return "crosses itself (not a valid polygon)"
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return "has coordinates outside longitude -180..180 / latitude -90..90 (lon, lat order)"
    return ""


@lru_cache(maxsize=64)
def _geometry(text: str) -> BaseGeometry:
    return shape(json.loads(text))


def area_contains(area: Any, lat: float, lon: float) -> bool:
    """True when the point lies inside (or on the edge of) the area."""
    if not area or area_problem(area):
        return False
    return bool(_geometry(json.dumps(area, sort_keys=True)).covers(Point(lon, lat)))


def centre_owning(lat: float, lon: float, *, prefer: int | None = None) -> Any:
    """The centre whose area holds the point (`prefer` wins where areas overlap), or None
    when no centre's area holds it."""
    from dispatch.models import DispatchCentre

    owners = [
        centre
        for centre in DispatchCentre.objects.exclude(area__isnull=True).order_by("pk")
        if area_contains(centre.area, lat, lon)
    ]
    for centre in owners:
        if centre.pk == prefer:
            return centre
    return owners[0] if owners else None
