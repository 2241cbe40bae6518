"""The offline map layer of the console and the tablet, drawn from the map in service.

Map tiles may be unreachable (closed networks, a tile server outage, a tablet out of
coverage); the screens then draw these roads with their street names, and the region's
places, so nobody looks at a blank map (static/js/roadmap.js).
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from accounts.access import role_required
from accounts.models import Role
from routing.engine.graph import CompiledGraph
from routing.services import MapNotBuiltError, get_network

COORD_DECIMALS = 6  # about 0.1 m: finer than any road geometry, and short on the wire
CACHE_CONTROL = "private, max-age=3600"


@dataclass(frozen=True)
class _Serialized:
    # The graph is held so its id() cannot be reused by another graph while cached.
    graph: CompiledGraph
    body: bytes
    gzipped: bytes


_cache: dict[int, _Serialized] = {}
_cache_lock = threading.Lock()


def roads_feature_collection(graph: CompiledGraph) -> dict[str, Any]:
    """One LineString per road: the two directions of a two-way street become one feature.

    An edge is kept unless it has a twin (the same line reversed) with a lower edge id;
    `oneway` is true for edges without a twin.
    """
    edge_ids = np.arange(graph.n_edges)
    twin = np.asarray(graph.edge_twin)
    keep = np.flatnonzero((twin < 0) | (twin > edge_ids))
    lon = np.round(np.asarray(graph.geom_lon), COORD_DECIMALS).tolist()
    lat = np.round(np.asarray(graph.geom_lat), COORD_DECIMALS).tolist()
    offsets = np.asarray(graph.geom_offsets).tolist()
    names = [str(n) for n in graph.street_names.tolist()]
    highways = [str(h) for h in graph.highway_names.tolist()]
    edge_name = np.asarray(graph.edge_name).tolist()
    edge_highway = np.asarray(graph.edge_highway).tolist()
    twins = twin.tolist()
    features: list[dict[str, Any]] = []
    for e in keep.tolist():
        start, end = offsets[e], offsets[e + 1]
        features.append(
            {
                "type": "Feature",
                "id": e,
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[lon[i], lat[i]] for i in range(start, end)],
                },
                "properties": {
                    "name": names[edge_name[e]] or None,
                    "highway": highways[edge_highway[e]] or None,
                    "oneway": twins[e] < 0,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _serialized(graph: CompiledGraph) -> _Serialized:
    key = id(graph)
    cached = _cache.get(key)
    if cached is not None and cached.graph is graph:
        return cached
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached.graph is graph:
            return cached
        body = json.dumps(
            roads_feature_collection(graph), separators=(",", ":"), ensure_ascii=False
        ).encode()
        cached = _Serialized(graph=graph, body=body, gzipped=gzip.compress(body, mtime=0))
        # Only the map in service is ever asked for; drop the layers of replaced maps.
        _cache.clear()
        _cache[key] = cached
        return cached


def _accepts_gzip(request: HttpRequest) -> bool:
    accepted = request.headers.get("Accept-Encoding", "")
    return any(part.split(";")[0].strip() == "gzip" for part in accepted.split(","))


@require_GET
@role_required(Role.DISPATCHER, Role.CREW)
def roads_geojson(request: HttpRequest) -> HttpResponse:
    """GeoJSON FeatureCollection of the drivable roads of the map in service."""
    try:
        network = get_network()
    except MapNotBuiltError as exc:
        return JsonResponse({"error": str(exc), "field": None}, status=503)
    serialized = _serialized(network.graph)
    if _accepts_gzip(request):
        response = HttpResponse(serialized.gzipped, content_type="application/geo+json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(serialized.body, content_type="application/geo+json")
    response["Cache-Control"] = CACHE_CONTROL
    response["Vary"] = "Accept-Encoding, Cookie"
    return response


@require_GET
@role_required(Role.DISPATCHER, Role.CREW)
def places_json(request: HttpRequest) -> HttpResponse:
    """The region's named places: stations, hospitals, and squares and landmarks of the map."""
    from dispatch import hooks
    from dispatch.models import Station
    from routing.selectors import map_landmarks

    places: list[dict[str, Any]] = [
        {"name": s.name, "kind": "station", "lat": s.lat, "lon": s.lon}
        for s in Station.objects.order_by("name")
    ]
    places += [
        {"name": h.name, "kind": "hospital", "lat": h.lat, "lon": h.lon}
        for h in hooks.provided().hospitals()
    ]
    places += map_landmarks()
    response = JsonResponse({"places": places})
    response["Cache-Control"] = "private, max-age=300"
    return response
