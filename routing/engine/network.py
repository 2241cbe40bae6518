"""RoadNetwork: the thread-safe facade Django services call with plain lat/lon pairs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .build import BuildReport, load_or_build
from .graph import CompiledGraph
from .profile import MODES, Mode, SpeedProfile
from .queries import (
    Coverage,
    RankResult,
    Route,
    coverage,
    isochrone,
    rank_positions,
    rank_start,
    route,
)
from .snap import DEFAULT_MAX_SNAP_M, Snap, snap, snap_many, snap_positions

LatLon = tuple[float, float]


class RoadNetwork:
    """Queries by coordinates on one compiled graph; arrays are never written after load."""

    def __init__(
        self,
        graph: CompiledGraph,
        report: BuildReport | None = None,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> None:
        self.graph = graph
        self.report = report
        self.max_snap_m = max_snap_m

    @classmethod
    def from_file(
        cls,
        source: str | Path,
        profile: SpeedProfile | None = None,
        cache_dir: str | Path = ".cache/routing",
    ) -> RoadNetwork:
        """Load from the cache or build from a map file."""
        graph, report = load_or_build(source, profile, cache_dir)
        return cls(graph, report)

    def warm(self) -> float:
        """Get everything the first query needs ready: the hierarchy's views, the pages of
        the file the first queries touch, the compiled numba kernels (from numba's on-disk
        cache, compiled into it the first time) and the rank tables of both modes
        (`Hierarchy.tables`). Returns the seconds it took."""
        t0 = time.perf_counter()
        g = self.graph
        a = (float(g.node_lat[g.edge_u[0]]), float(g.node_lon[g.edge_u[0]]))
        b = (float(g.node_lat[g.edge_v[0]]), float(g.node_lon[g.edge_v[0]]))
        for mode in MODES:
            self.rank(a, [a, b], mode)
            self.route(a, b, mode)
            g.hierarchy().tables(MODES.index(mode))  # rank tables, if the map has them
        return time.perf_counter() - t0

    def snap(self, lat: float, lon: float, field: str = "location") -> Snap:
        """Snap one coordinate to the nearest road."""
        return snap(self.graph, lat, lon, self.max_snap_m, field=field)

    def rank(
        self, target_latlon: LatLon, sources_latlon: list[LatLon], mode: Mode = "urgent"
    ) -> list[RankResult]:
        """Drive times from every source to the target, in source order.

        On large graphs the search down from the target runs on the helper thread while
        this one snaps the sources (`rank_start`)."""
        target = self.snap(*target_latlon, field="target")
        sources = list(sources_latlon)
        started = rank_start(self.graph, target, len(sources), mode)
        try:
            edge, frac = snap_positions(self.graph, sources, self.max_snap_m, field="sources")
        except BaseException:
            if started is not None:
                started.cancel()  # the helper writes this thread's scratch until it is done
            raise
        return rank_positions(self.graph, target, edge, frac, mode, started=started)

    def route(self, a_latlon: LatLon, b_latlon: LatLon, mode: Mode = "urgent") -> Route:
        """Fastest route between two coordinates."""
        a = self.snap(*a_latlon, field="origin")
        b = self.snap(*b_latlon, field="destination")
        return route(self.graph, a, b, mode)

    def isochrone(self, latlon: LatLon, seconds: float, mode: Mode = "urgent") -> Any:
        """Shapely (Multi)Polygon reachable from a coordinate within `seconds`."""
        return isochrone(self.graph, self.snap(*latlon, field="origin"), seconds, mode)

    def coverage(
        self,
        units_latlon: list[LatLon],
        demand_latlon: list[LatLon],
        seconds: float,
        mode: Mode = "urgent",
    ) -> Coverage:
        """Which demand points some unit reaches within `seconds`."""
        units = snap_many(self.graph, list(units_latlon), self.max_snap_m, field="units")
        demand = snap_many(self.graph, list(demand_latlon), self.max_snap_m, field="demand")
        return coverage(self.graph, units, demand, seconds, mode)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat)."""
        return self.graph.bbox()

    def stats(self) -> dict[str, Any]:
        """Sizes and provenance for health checks and the admin page."""
        meta = self.graph.meta
        return {
            "nodes": self.graph.n_nodes,
            "edges": self.graph.n_edges,
            "bbox": self.bbox,
            "source_sha256": meta.get("source_sha256", ""),
            "report": meta.get("report", {}),
        }
