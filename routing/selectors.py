"""Reads of the map in service beyond routing: the named places an offline map draws."""

from __future__ import annotations

from typing import Any

from routing.services import _offline_index

# Place categories of the offline index worth a label on a map without tiles: where people
# meet, and what a caller names as "by the ...". Shops, offices and restaurants are too many.
LANDMARK_CATEGORIES: dict[str, str] = {
    "place=square": "square",
    "railway=station": "landmark",
    "amenity=place_of_worship": "landmark",
    "amenity=theatre": "landmark",
    "amenity=library": "landmark",
    "tourism=museum": "landmark",
    "leisure=park": "landmark",
    "historic=monument": "landmark",
}


def map_landmarks() -> list[dict[str, Any]]:
    """Squares and landmarks of the offline index of the map in service, one per name.

    Empty when the map has no offline index (a map built from .osm or .graphml).
    """
    index = _offline_index()
    if index is None:
        return []
    seen: set[str] = set()
    places: list[dict[str, Any]] = []
    for name, category, lat, lon in zip(
        index.place_name.tolist(),
        index.place_category.tolist(),
        index.place_lat.tolist(),
        index.place_lon.tolist(),
        strict=True,
    ):
        kind = LANDMARK_CATEGORIES.get(str(category))
        if kind is None or not name or name in seen:
            continue
        seen.add(str(name))
        places.append({"name": str(name), "kind": kind, "lat": lat, "lon": lon})
    return places
