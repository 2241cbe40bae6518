"""Rank, route, isochrone and coverage queries on a CompiledGraph."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .errors import RoutingError, UnreachableError
from .graph import EARTH_RADIUS_M, MIN_WEIGHT_S, CompiledGraph
from .profile import MODES, Mode
from .snap import Snap

if TYPE_CHECKING:
    from .hierarchy import Started

# First pass of rank: most dispatch candidates are within this drive time, and a bounded
# search is several times cheaper; anything not reached gets a second, unbounded pass.
RANK_FIRST_LIMIT_S = 900.0

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class RankResult(NamedTuple):
    """Drive time and distance from one source to the target; `index` is into sources.

    A NamedTuple: built 500 at a time in a third of a frozen dataclass's time."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, on purpose
    eta_s: float
    distance_m: float
    reachable: bool


class Step(NamedTuple):
    """One street-level instruction of a route (a NamedTuple: a long route builds hundreds)."""

    street: str
    distance_m: float
    duration_s: float
    maneuver: str
    bearing: float


@dataclass(frozen=True)
class Route:
    """The fastest path between two snapped points."""

    duration_s: float
    distance_m: float
    geometry: tuple[tuple[float, float], ...]  # (lon, lat)
    steps: tuple[Step, ...]

    def geojson(self) -> dict[str, Any]:
        """GeoJSON Feature with a LineString geometry."""
        return {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [list(p) for p in self.geometry]},
            "properties": {"duration_s": self.duration_s, "distance_m": self.distance_m},
        }


@dataclass(frozen=True)
class Coverage:
    """Which demand points some unit reaches within the time limit."""

    covered: tuple[bool, ...]
    eta_s: tuple[float, ...]  # math.inf when beyond the limit
    fraction: float


def _check_mode(mode: str) -> Mode:
    if mode not in ("urgent", "non_urgent"):
        raise RoutingError(f"mode must be 'urgent' or 'non_urgent', not {mode!r}", field="mode")
    return mode  # type: ignore[return-value]


def _search(
    g: CompiledGraph,
    mode: Mode,
    *,
    reverse: bool,
    nodes: npt.NDArray[np.int64],
    costs: F64,
    limit: float = np.inf,
    predecessors: bool = False,
) -> tuple[F64, npt.NDArray[np.int32] | None]:
    """Dijkstra from a virtual node n joined to `nodes` at `costs` (per-start offsets)."""
    c = g.collapsed(mode, reverse)
    n = g.n_nodes
    order = np.lexsort((costs, nodes))
    nodes, costs = nodes[order], costs[order]
    first = np.ones(len(nodes), dtype=bool)
    first[1:] = nodes[1:] != nodes[:-1]
    nodes, costs = nodes[first], np.maximum(costs[first], MIN_WEIGHT_S)
    # A fresh matrix per query keeps the shared arrays read-only for concurrent threads.
    indptr = np.concatenate([c.indptr, [c.indptr[-1] + len(nodes)]]).astype(np.int32)
    indices = np.concatenate([c.indices, nodes.astype(np.int32)])
    data = np.concatenate([c.data, costs])
    mat = sp.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1), copy=False)
    if predecessors:
        dist, pred = dijkstra(mat, directed=True, indices=n, limit=limit, return_predecessors=True)
        return dist, pred.astype(np.int32)
    dist = dijkstra(mat, directed=True, indices=n, limit=limit)
    return dist, None


def _tree_lengths(
    g: CompiledGraph,
    mode: Mode,
    reverse: bool,
    dist: F64,
    pred: npt.NDArray[np.int32],
    root_len: dict[int, float],
) -> F64:
    """Length in metres from every reached node to the virtual root along the tree."""
    n = g.n_nodes
    c = g.collapsed(mode, reverse)
    up = np.full(n + 1, n, dtype=np.int64)
    w = np.zeros(n + 1)
    reached = np.flatnonzero(np.isfinite(dist[:n]) & (pred[:n] >= 0))
    p = pred[reached].astype(np.int64)
    inner = p != n
    rx, px = reached[inner], p[inner]
    # Tree edge p -> x in the searched matrix; the matrix row is p.
    pos = np.searchsorted(c.key, px * n + rx)
    w[rx] = g.length_m[c.best_edge[pos]]
    up[rx] = px
    for node, length in root_len.items():
        if pred[node] == n:
            w[node] = length
    while not (up[:n] == n).all():
        w = w + w[up]
        up = up[up]
    return w


def _rank_exact(
    g: CompiledGraph, target: Snap, sources: list[Snap], mode: Mode
) -> list[RankResult]:
    """Exact float rank by scipy Dijkstra (the reference the tests and the bench compare
    `rank` with)."""
    tt = g.travel_time(mode)
    length = g.length_m
    tpos = target.positions(g)
    t_nodes = np.array([int(g.edge_u[e]) for e, _ in tpos], dtype=np.int64)
    t_costs = np.array([f * tt[e] for e, f in tpos])
    root_len = {int(g.edge_u[e]): f * float(length[e]) for e, f in tpos}
    spos = [s.positions(g) for s in sources]
    start_nodes = np.array([int(g.edge_v[e]) for ps in spos for e, _ in ps] or [0], dtype=np.int64)
    dist, pred = _search(
        g,
        mode,
        reverse=True,
        nodes=t_nodes,
        costs=t_costs,
        limit=RANK_FIRST_LIMIT_S,
        predecessors=True,
    )
    if sources and not np.isfinite(dist[start_nodes]).all():
        dist, pred = _search(g, mode, reverse=True, nodes=t_nodes, costs=t_costs, predecessors=True)
    if pred is None:
        raise RoutingError("internal: search returned no predecessors")
    lens = _tree_lengths(g, mode, True, dist, pred, root_len)
    out: list[RankResult] = []
    for i, ps in enumerate(spos):
        best_t, best_d = math.inf, math.inf
        for e, f in ps:
            v = int(g.edge_v[e])
            eta = (1.0 - f) * float(tt[e]) + float(dist[v])
            if eta < best_t:
                best_t, best_d = eta, (1.0 - f) * float(length[e]) + float(lens[v])
            for te, tf in tpos:
                if te == e and f <= tf:
                    direct = (tf - f) * float(tt[e])
                    if direct <= best_t:
                        best_t, best_d = direct, (tf - f) * float(length[e])
        ok = math.isfinite(best_t)
        out.append(RankResult(i, best_t if ok else math.inf, best_d if ok else math.inf, ok))
    return out


def coverage(
    g: CompiledGraph,
    units: list[Snap],
    demand: list[Snap],
    seconds: float,
    mode: Mode = "urgent",
) -> Coverage:
    """Which demand points the nearest unit reaches within `seconds` (one search)."""
    mode = _check_mode(mode)
    tt = g.travel_time(mode)
    if not units or not demand:
        inf = tuple(math.inf for _ in demand)
        return Coverage(tuple(False for _ in demand), inf, 0.0)
    upos = [p for u in units for p in u.positions(g)]
    ue = np.array([e for e, _ in upos], dtype=np.int64)
    uf = np.array([f for _, f in upos])
    dist, _ = _search(
        g,
        mode,
        reverse=False,
        nodes=g.edge_v[ue].astype(np.int64),
        costs=(1.0 - uf) * tt[ue],
        limit=float(seconds),
    )
    de_list: list[int] = []
    df_list: list[float] = []
    owner: list[int] = []
    for i, d in enumerate(demand):
        for e, f in d.positions(g):
            de_list.append(e)
            df_list.append(f)
            owner.append(i)
    de, df = np.array(de_list, dtype=np.int64), np.array(df_list)
    via = dist[g.edge_u[de]] + df * tt[de]
    # A unit already on the demand point's edge, behind it, drives straight there.
    by_edge: dict[int, list[float]] = {}
    for e, f in upos:
        by_edge.setdefault(e, []).append(f)
    for j in np.flatnonzero(np.isin(de, ue)):
        e = int(de[j])
        behind = [f for f in by_edge[e] if f <= df[j]]
        if behind:
            via[j] = min(via[j], (df[j] - max(behind)) * tt[e])
    eta = np.full(len(demand), np.inf)
    np.minimum.at(eta, np.array(owner), via)
    eta[eta > seconds] = np.inf
    covered = np.isfinite(eta)
    return Coverage(
        tuple(bool(c) for c in covered), tuple(float(x) for x in eta), float(covered.mean())
    )


def isochrone(g: CompiledGraph, origin: Snap, seconds: float, mode: Mode = "urgent") -> Any:
    """Shapely polygon of everything reachable from `origin` within `seconds`."""
    import shapely

    mode = _check_mode(mode)
    tt = g.travel_time(mode)
    opos = origin.positions(g)
    dist, _ = _search(
        g,
        mode,
        reverse=False,
        nodes=np.array([int(g.edge_v[e]) for e, _ in opos], dtype=np.int64),
        costs=np.array([(1.0 - f) * tt[e] for e, f in opos]),
        limit=float(seconds),
    )
    du = dist[g.edge_u]
    live = np.flatnonzero(du < seconds)
    reach = np.minimum(1.0, (seconds - du[live]) / np.maximum(tt[live], MIN_WEIGHT_S))
    # Whole reached edges contribute their stored geometry points; frontier edges are cut
    # where the time runs out so the outline stops mid-street, not at the next junction.
    whole = live[reach >= 1.0]
    counts = g.geom_offsets[whole + 1] - g.geom_offsets[whole]
    take = np.repeat(g.geom_offsets[whole], counts) + (
        np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    gx, gy = g.project(g.geom_lat[take], g.geom_lon[take])
    parts = [np.column_stack([gx, gy])]
    parts += [_edge_xy(g, int(e), 0.0, float(r)) for e, r in zip(live, reach, strict=True) if r < 1]
    for e, f in opos:
        parts.append(_edge_xy(g, e, f, min(1.0, f + seconds / max(float(tt[e]), MIN_WEIGHT_S))))
    pts = shapely.multipoints(np.concatenate(parts))
    # The hull follows the reached streets; the buffer gives single-street areas a width.
    area = shapely.buffer(shapely.concave_hull(pts, ratio=0.3), 25.0, quad_segs=2)

    def to_lonlat(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lat, lon = g.unproject(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(area, to_lonlat)


def _edge_xy(g: CompiledGraph, e: int, f0: float, f1: float) -> npt.NDArray[np.float64]:
    """Local-metre coordinates of edge `e` between fractions f0 <= f1 of its length."""
    s, t = int(g.geom_offsets[e]), int(g.geom_offsets[e + 1])
    x, y = g.project(g.geom_lat[s:t], g.geom_lon[s:t])
    if f0 <= 0.0 and f1 >= 1.0:
        return np.column_stack([x, y])
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    total = cum[-1]
    if total <= 0:
        return np.column_stack([x[:1], y[:1]])
    a, b = f0 * total, f1 * total
    inside = (cum > a) & (cum < b)
    xs = np.concatenate([[np.interp(a, cum, x)], x[inside], [np.interp(b, cum, x)]])
    ys = np.concatenate([[np.interp(a, cum, y)], y[inside], [np.interp(b, cum, y)]])
    return np.column_stack([xs, ys])


def _metric(mode: Mode) -> int:
    return MODES.index(mode)


def _seeds(
    rank_of: npt.NDArray[np.int32], nodes: list[int], t: list[float], ln: list[float]
) -> tuple[npt.NDArray[np.int32], F64, F64]:
    """Hierarchy seeds: (rank, time, length) per node."""
    return (
        rank_of[np.asarray(nodes, dtype=np.int64)].astype(np.int32),
        np.asarray(t, dtype=np.float64),
        np.asarray(ln, dtype=np.float64),
    )


def rank(
    g: CompiledGraph, target: Snap, sources: list[Snap], mode: Mode = "urgent"
) -> list[RankResult]:
    """Drive time and distance from every source to the target (see `rank_positions`)."""
    mode = _check_mode(mode)
    k = len(sources)
    edge = np.fromiter((s.edge for s in sources), dtype=np.int64, count=k)
    frac = np.fromiter((s.fraction for s in sources), dtype=np.float64, count=k)
    return rank_positions(g, target, edge, frac, mode)


def _target_seeds(g: CompiledGraph, target: Snap, mode: Mode) -> tuple[Any, F64, F64]:
    """Hierarchy seeds of a rank's target: the tails of its edge(s), with the partial
    edge still to drive."""
    tt = g.travel_time(mode)
    tpos = target.positions(g)
    return _seeds(
        g.hierarchy().rank,
        [int(g.edge_u[e]) for e, _ in tpos],
        [f * float(tt[e]) for e, f in tpos],
        [f * float(g.length_m[e]) for e, f in tpos],
    )


def rank_start(
    g: CompiledGraph, target: Snap, sources: int, mode: Mode = "urgent"
) -> Started | None:
    """Start the target's part of a rank of `sources` units (`Hierarchy.search_down`) on
    the helper thread while the caller snaps them; hand the result to
    `rank_positions(started=)`, or `cancel()` it if the rank goes no further."""
    mode = _check_mode(mode)
    h = g.hierarchy()
    return h.search_down(_metric(mode), _target_seeds(g, target, mode), 2 * sources)


def rank_positions(
    g: CompiledGraph,
    target: Snap,
    edge: I64,
    frac: F64,
    mode: Mode = "urgent",
    started: Started | None = None,
) -> list[RankResult]:
    """`rank` for sources given as snapped (edge, fraction) arrays (no Snap objects).

    One many-to-one sweep of the customised hierarchy (`hierarchy.py`) from the heads of
    the sources' edges and reverse twins to the target, whose partial edge(s) seed it;
    the partial edge at each source is added afterwards (`kernels.best_per_source`), and a
    source behind the target on the target's own edge drives straight there. Distances
    are the lengths of the fastest routes found.
    """
    from . import kernels

    mode = _check_mode(mode)
    if len(edge) == 0:
        if started is not None:
            started.cancel()
        return []
    tt = g.travel_time(mode)
    length = g.length_m
    h = g.hierarchy()
    tpos = target.positions(g)
    pe, pf, owner, pins = kernels.source_positions(
        np.asarray(edge, dtype=np.int64),
        np.asarray(frac, dtype=np.float64),
        g.edge_twin,
        g.edge_v,
        h.rank,
    )
    # Pins may repeat (units on the same edge); the sweep takes them as they are.
    seeds = _target_seeds(g, target, mode) if started is None else started.seeds
    via_t, via_l = h.many_to_one(_metric(mode), pins, seeds, started=started)
    eta, dist = kernels.best_per_source(
        len(edge),
        pe,
        pf,
        owner,
        via_t,
        via_l,
        tt,
        length,
        np.array([e for e, _ in tpos], dtype=np.int64),
        np.array([f for _, f in tpos]),
    )
    make = tuple.__new__
    return [
        make(RankResult, row)
        for row in zip(
            range(len(eta)), eta.tolist(), dist.tolist(), np.isfinite(eta).tolist(), strict=True
        )
    ]


def route(g: CompiledGraph, a: Snap, b: Snap, mode: Mode = "urgent") -> Route:
    """Fastest route from a to b with geometry and street-level steps."""
    mode = _check_mode(mode)
    tt = g.travel_time(mode)
    length = g.length_m
    apos, bpos = a.positions(g), b.positions(g)
    h = g.hierarchy()
    found_t, first, last, arcs = h.path(
        _metric(mode),
        _seeds(
            h.rank,
            [int(g.edge_v[e]) for e, _ in apos],
            [(1.0 - f) * float(tt[e]) for e, f in apos],
            [(1.0 - f) * float(length[e]) for e, f in apos],
        ),
        _seeds(
            h.rank,
            [int(g.edge_u[e]) for e, _ in bpos],
            [f * float(tt[e]) for e, f in bpos],
            [f * float(length[e]) for e, f in bpos],
        ),
    )
    best: tuple[float, I64, F64, F64] | None = None
    if math.isfinite(found_t):
        start, end = int(h.order[first]), int(h.order[last])
        sa = min(
            (p for p in apos if int(g.edge_v[p[0]]) == start),
            key=lambda p: (1.0 - p[1]) * tt[p[0]],
        )
        sb = min((p for p in bpos if int(g.edge_u[p[0]]) == end), key=lambda p: p[1] * tt[p[0]])
        k = len(arcs)
        le = np.concatenate([[sa[0]], arcs, [sb[0]]]).astype(np.int64)
        f0 = np.zeros(k + 2)
        f1 = np.ones(k + 2)
        f0[0], f1[-1] = sa[1], sb[1]
        best = (float(((f1 - f0) * tt[le]).sum()), le, f0, f1)
    for ea, fa in apos:
        for eb, fb in bpos:
            if ea == eb and fa <= fb:
                t = (fb - fa) * float(tt[ea])
                if best is None or t <= best[0]:
                    best = (t, np.array([ea], dtype=np.int64), np.array([fa]), np.array([fb]))
    if best is None:
        raise UnreachableError("No drivable route connects these two points.")
    return _build_route(g, tt, best[1], best[2], best[3])


_MANEUVERS = ("continue", "slight right", "slight left", "turn right", "turn left", "u-turn")


def _steps(
    streets: list[str], d: list[float], t: list[float], m: list[str], b: list[float]
) -> list[Step]:
    """Step tuples in bulk (tuple.__new__ skips the NamedTuple's Python-level __new__)."""
    make = tuple.__new__
    return [make(Step, row) for row in zip(streets, d, t, m, b, strict=True)]


def _round1(x: F64) -> list[float]:
    """`[round(v, 1) for v in x]`, vectorised; Python's exact rounding only near ties."""
    out = np.round(x, 1)
    tie = np.flatnonzero(np.abs(np.abs(x * 10.0) % 1.0 - 0.5) < 1e-6)
    out[tie] = [round(float(v), 1) for v in x[tie]]
    return out.tolist()  # type: ignore[no-any-return]


def _build_route(g: CompiledGraph, tt: F64, le: I64, f0: F64, f1: F64) -> Route:
    """Route of the legs (edge, from fraction, to fraction): geometry and steps from one
    numba kernel (`kernels.route_parts`), turned into tuples here."""
    from . import kernels

    lat0, lon0 = float(g.origin[0]), float(g.origin[1])
    lon, lat, name, dist, dur, turn, bearing, tail = kernels.route_parts(
        le, f0, f1, tt, g.length_m, g.edge_name, g.geom_offsets, g.geom_lat, g.geom_lon,
        lat0, lon0, math.pi / 180.0 * EARTH_RADIUS_M, math.cos(math.radians(lat0)),
    )  # fmt: skip
    maneuver = [_MANEUVERS[c] if c >= 0 else "depart" for c in turn.tolist()]
    steps = _steps(
        g.street_names[name].tolist(), dist.tolist(), dur.tolist(), maneuver, _round1(bearing)
    )
    total_t, total_d, last_name, last_bearing = tail.tolist()
    steps.append(
        Step(str(g.street_names[int(last_name)]), 0.0, 0.0, "arrive", round(last_bearing, 1))
    )
    return Route(
        duration_s=total_t,
        distance_m=total_d,
        geometry=tuple(zip(lon.tolist(), lat.tolist(), strict=True)),
        steps=tuple(steps),
    )
