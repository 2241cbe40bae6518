"""Road routing engine (no Django): build, compile, snap, rank, route; hot loops in numba."""

from .build import BuildReport, build_graph, compile_graph, graph_from_place, load_or_build
from .errors import MapSourceError, RoutingError, SnapError, UnreachableError
from .graph import CompiledGraph, compile_arrays
from .network import RoadNetwork
from .profile import Mode, SpeedProfile
from .queries import Coverage, RankResult, Route, Step, coverage, isochrone, rank, route
from .snap import Snap, snap, snap_many

__all__ = [
    "BuildReport",
    "CompiledGraph",
    "Coverage",
    "MapSourceError",
    "Mode",
    "RankResult",
    "RoadNetwork",
    "Route",
    "RoutingError",
    "Snap",
    "SnapError",
    "SpeedProfile",
    "Step",
    "UnreachableError",
    "build_graph",
    "compile_arrays",
    "compile_graph",
    "coverage",
    "graph_from_place",
    "isochrone",
    "load_or_build",
    "rank",
    "route",
    "snap",
    "snap_many",
]
