"""The road network in service: build it, switch to it, and hand it to queries.

A build writes a compiled graph into MAP_CACHE_DIR and then, only when it succeeded, points
`current.json` at it; a failed build leaves the pointer (and so the map in service) alone.
Running servers notice a new pointer on their next query and swap atomically.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from django.conf import settings

from routing.engine import BuildReport, RoadNetwork, SpeedProfile, load_or_build
from routing.engine.build import cache_path
from routing.engine.geocode import Candidate, OnlineGeocoder, resolve, reverse, suggest
from routing.engine.geocode_index import GeocodeIndex, load_or_build_index
from routing.engine.graph import CompiledGraph
from routing.engine.online_geocoders import make_online_geocoder

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: tuple[tuple[str, float], RoadNetwork] | None = None


class MapNotBuiltError(RuntimeError):
    """No map has been built yet (run `python manage.py build_map`)."""


def speed_profile() -> SpeedProfile:
    """The speed profile from the settings, over the engine's defaults."""
    base = SpeedProfile()
    urgent = dict(settings.ROUTING_URGENT_FACTORS)
    non_urgent = dict(settings.ROUTING_NON_URGENT_FACTORS)
    return replace(
        base,
        urgent_factors={
            **base.urgent_factors,
            **{k: v for k, v in urgent.items() if k != "default"},
        },
        urgent_default=urgent.get("default", base.urgent_default),
        non_urgent_factors={
            **base.non_urgent_factors,
            **{k: v for k, v in non_urgent.items() if k != "default"},
        },
        non_urgent_default=non_urgent.get("default", base.non_urgent_default),
    )


def _pointer() -> Path:
    return Path(settings.MAP_CACHE_DIR) / "current.json"


def map_build(*, source: str | Path) -> BuildReport:
    """Build (or load from cache) the map from a file and put it in service.

    Raises MapSourceError for a bad source; the map in service does not change then.
    """
    path = Path(source)
    cache_dir = Path(settings.MAP_CACHE_DIR)
    profile = speed_profile()
    graph, report = load_or_build(path, profile, cache_dir)
    compiled = cache_path(path, profile, cache_dir)
    pointer = _pointer()
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps({"compiled": str(compiled), "report": asdict(report)}, indent=2))
    # rename is atomic, so a server reading the pointer never sees half a file.
    os.replace(tmp, pointer)
    _set_loaded(RoadNetwork(graph, report, max_snap_m=settings.ROUTING_SNAP_MAX_DISTANCE_M))
    return report


def _set_loaded(network: RoadNetwork) -> None:
    global _loaded
    pointer = _pointer()
    with _lock:
        _loaded = ((str(pointer), pointer.stat().st_mtime), network)


def get_network() -> RoadNetwork:
    """The map in service, loading (or reloading after a new build) as needed."""
    global _loaded
    pointer = _pointer()
    try:
        # Keyed by path and mtime: a new build (or another MAP_CACHE_DIR) means another map.
        key = (str(pointer), pointer.stat().st_mtime)
    except FileNotFoundError:
        raise MapNotBuiltError(
            "No road map has been built yet; run `python manage.py build_map`."
        ) from None
    current = _loaded
    if current is not None and current[0] == key:
        return current[1]
    with _lock:
        if _loaded is not None and _loaded[0] == key:
            return _loaded[1]
        info = json.loads(pointer.read_text())
        try:
            graph = CompiledGraph.load(Path(info["compiled"]))
        except Exception as exc:
            if _loaded is not None and _loaded[0][0] == key[0]:
                # Keep serving the map we have rather than go blind.
                logger.error(
                    "new map %s unreadable (%s); keeping the old one", info["compiled"], exc
                )
                return _loaded[1]
            raise MapNotBuiltError(
                f"The built map cannot be read ({type(exc).__name__}); "
                "run `python manage.py build_map` again."
            ) from exc
        report = BuildReport(**{**info["report"], "from_cache": True})
        network = RoadNetwork(graph, report, max_snap_m=settings.ROUTING_SNAP_MAX_DISTANCE_M)
        _loaded = (key, network)
        return network


def network_status() -> dict[str, Any]:
    """Size and provenance of the map in service (raises when there is none)."""
    network = get_network()
    report = network.report
    return {
        "nodes": network.graph.n_nodes,
        "edges": network.graph.n_edges,
        "source": Path(report.source).name if report else None,
        "bbox": list(network.bbox),
    }


def warm_up() -> None:
    """Load the map before the first request, so the first dispatch is not the slow one."""
    try:
        status = network_status()
    except MapNotBuiltError as exc:
        logger.warning("%s", exc)
    else:
        seconds = get_network().warm()
        logger.info(
            "road map loaded: %s nodes, %s edges; queries ready in %.2f s",
            status["nodes"],
            status["edges"],
            seconds,
        )


# --- Geocoding ------------------------------------------------------------------------------

_geocoder_lock = threading.Lock()
_geocoder: dict[str, Any] = {}


def geocode_index_build(*, source: str | Path) -> GeocodeIndex | None:
    """Build (or load from cache) the offline address index of an .osm.pbf extract.

    Other formats carry no addresses we can read, so they get no offline index: coordinates,
    plus codes and the online geocoder (if configured) still work.
    """
    path = Path(source)
    if not path.name.endswith(".pbf"):
        return None
    index = load_or_build_index(path, Path(settings.MAP_CACHE_DIR) / "geocode")
    with _geocoder_lock:
        _geocoder["index"] = (str(path), index)
    return index


def _offline_index() -> GeocodeIndex | None:
    source = _current_source()
    cached = _geocoder.get("index")
    if cached is not None and cached[0] == source:
        return cached[1]  # type: ignore[no-any-return]
    if source is None or not source.endswith(".pbf") or not Path(source).is_file():
        return None
    with _geocoder_lock:
        cached = _geocoder.get("index")
        if cached is not None and cached[0] == source:
            return cached[1]  # type: ignore[no-any-return]
        index = load_or_build_index(Path(source), Path(settings.MAP_CACHE_DIR) / "geocode")
        _geocoder["index"] = (source, index)
        return index


def _current_source() -> str | None:
    try:
        network = get_network()
    except MapNotBuiltError:
        return None
    return network.report.source if network.report else None


def _online_geocoder() -> OnlineGeocoder | None:
    key = (settings.GEOCODER, settings.GEOCODER_USER_AGENT, settings.GEOCODER_TIMEOUT_SECONDS)
    cached = _geocoder.get("online")
    if cached is None or cached[0] != key:
        viewbox = None
        try:
            west, south, east, north = get_network().bbox
            # Bias the online geocoder to the map in service: "Main Street 1" means ours.
            viewbox = (south, west, north, east)
        except MapNotBuiltError:
            pass
        geocoder = make_online_geocoder(
            settings.GEOCODER,
            user_agent=settings.GEOCODER_USER_AGENT,
            timeout_s=settings.GEOCODER_TIMEOUT_SECONDS,
            viewbox=viewbox,
        )
        cached = (key, geocoder)
        _geocoder["online"] = cached
    return cached[1]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class GeocodeAnswer:
    """Ranked candidates; when there are none, the nearest partial matches to offer."""

    candidates: list[Candidate]
    suggestions: list[Candidate]


def geocode_forward(
    *, text: str, limit: int = 5, near: tuple[float, float] | None = None
) -> GeocodeAnswer:
    """Coordinates, plus codes, then addresses and places (offline, then online if configured).

    Raises GeocodeError when the text is clearly a coordinate but an invalid one.
    """
    index = _offline_index()
    candidates = resolve(text, index, online=_online_geocoder(), ref=near, limit=limit)
    suggestions = [] if candidates or index is None else suggest(text, index, limit)
    return GeocodeAnswer(candidates=candidates[:limit], suggestions=suggestions)


def geocode_reverse(*, lat: float, lon: float) -> Candidate | None:
    """The nearest address, else the nearest named street (None when nothing is near)."""
    index = _offline_index()
    if index is None:
        return None
    return reverse(lat, lon, index)
