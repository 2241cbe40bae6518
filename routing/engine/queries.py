"""Rank, route, isochrone and coverage queries on a CompiledGraph."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .errors import RoutingError, UnreachableError
from .graph import CCH_SCALE, MIN_WEIGHT_S, CompiledGraph
from .profile import Mode
from .snap import Snap

# First pass of rank: most dispatch candidates are within this drive time, and a bounded
# search is several times cheaper; anything not reached gets a second, unbounded pass.
RANK_FIRST_LIMIT_S = 900.0

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RankResult:
    """Drive time and distance from one source to the target; `index` is into sources."""

    index: int
    eta_s: float
    distance_m: float
    reachable: bool


@dataclass(frozen=True)
class Step:
    """One street-level instruction of a route."""

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


def rank(
    g: CompiledGraph, target: Snap, sources: list[Snap], mode: Mode = "urgent"
) -> list[RankResult]:
    """Drive time from every source to the target with one reverse search."""
    mode = _check_mode(mode)
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


class _CCH:
    """Routingkit CCH with one metric per mode; query objects are per thread."""

    def __init__(self, g: CompiledGraph) -> None:
        import routingkit_cch as rk

        order = g.cch_order.tolist()
        if len(order) != g.n_nodes:
            order = rk.compute_order_degree(g.n_nodes, g.edge_u.tolist(), g.edge_v.tolist())
        self.cch = rk.CCH(order, g.edge_u.tolist(), g.edge_v.tolist(), False)
        self.metrics = {
            m: rk.CCHMetric(self.cch, _to_weights(g.travel_time(m)))
            for m in ("urgent", "non_urgent")
        }
        self.local = threading.local()

    def query(self, mode: Mode) -> Any:
        import routingkit_cch as rk

        q = getattr(self.local, mode, None)
        if q is None:
            q = rk.CCHQuery(self.metrics[mode])
            setattr(self.local, mode, q)
        return q


def _to_weights(tt: F64) -> list[int]:
    return np.rint(tt * CCH_SCALE).astype(np.int64).tolist()  # type: ignore[no-any-return]


def cch(g: CompiledGraph) -> _CCH:
    """The graph's CCH, built on first use (about 0.2 s per 100k nodes)."""
    return g._cached("cch", lambda: _CCH(g))  # type: ignore[no-any-return]


def route(g: CompiledGraph, a: Snap, b: Snap, mode: Mode = "urgent") -> Route:
    """Fastest route from a to b with geometry and street-level steps."""
    mode = _check_mode(mode)
    tt = g.travel_time(mode)
    apos, bpos = a.positions(g), b.positions(g)
    q = cch(g).query(mode)
    res = q.run_multi(
        [(int(g.edge_v[e]), round((1.0 - f) * tt[e] * CCH_SCALE)) for e, f in apos],
        [(int(g.edge_u[e]), round(f * tt[e] * CCH_SCALE)) for e, f in bpos],
    )
    found = res.distance is not None
    node_path = list(res.node_path) if found else []
    arcs = list(res.arc_path) if found else []
    del res  # routingkit refuses a new query while a result object is alive
    best: tuple[float, list[tuple[int, float, float]]] | None = None
    if found:
        start = node_path[0]
        end = node_path[-1]
        sa = min(
            (p for p in apos if int(g.edge_v[p[0]]) == start),
            key=lambda p: (1.0 - p[1]) * tt[p[0]],
        )
        sb = min((p for p in bpos if int(g.edge_u[p[0]]) == end), key=lambda p: p[1] * tt[p[0]])
        legs = [(sa[0], sa[1], 1.0)] + [(int(e), 0.0, 1.0) for e in arcs] + [(sb[0], 0.0, sb[1])]
        best = (_legs_time(tt, legs), legs)
    for ea, fa in apos:
        for eb, fb in bpos:
            if ea == eb and fa <= fb:
                legs = [(ea, fa, fb)]
                t = _legs_time(tt, legs)
                if best is None or t <= best[0]:
                    best = (t, legs)
    if best is None:
        raise UnreachableError("No drivable route connects these two points.")
    return _build_route(g, tt, best[1])


def _legs_time(tt: F64, legs: list[tuple[int, float, float]]) -> float:
    return float(sum((f1 - f0) * float(tt[e]) for e, f0, f1 in legs))


def _bearings(g: CompiledGraph, i0: npt.NDArray[np.int64], i1: npt.NDArray[np.int64]) -> F64:
    """Compass bearing (degrees) from geometry point i0 to i1."""
    lat0 = np.radians(g.geom_lat[i0])
    dx = (g.geom_lon[i1] - g.geom_lon[i0]) * np.cos(lat0)
    dy = g.geom_lat[i1] - g.geom_lat[i0]
    return np.asarray((np.degrees(np.arctan2(dx, dy)) + 360.0) % 360.0, dtype=np.float64)


def _maneuver(turn: float) -> str:
    turn = (turn + 540.0) % 360.0 - 180.0
    a = abs(turn)
    if a < 20:
        return "continue"
    side = "right" if turn > 0 else "left"
    if a < 45:
        return f"slight {side}"
    if a < 150:
        return f"turn {side}"
    return "u-turn"


def _build_route(g: CompiledGraph, tt: F64, legs: list[tuple[int, float, float]]) -> Route:
    le = np.array([e for e, _, _ in legs], dtype=np.int64)
    f0 = np.array([x for _, x, _ in legs])
    f1 = np.array([x for _, _, x in legs])
    part = f1 - f0
    dist = part * g.length_m[le]
    dur = part * tt[le]
    # Geometry: whole middle edges gathered straight from the flat arrays; only the two
    # end legs are cut, which needs the projection.
    pieces_lon: list[Any] = []
    pieces_lat: list[Any] = []
    for i in (0, len(legs) - 1) if len(legs) > 1 else (0,):
        xy = _edge_xy(g, int(le[i]), float(f0[i]), float(f1[i]))
        lat, lon = g.unproject(xy[:, 0], xy[:, 1])
        pieces_lon.append(lon)
        pieces_lat.append(lat)
    if len(legs) > 2:
        mid = le[1:-1]
        starts, ends = g.geom_offsets[mid], g.geom_offsets[mid + 1]
        counts = ends - starts
        take = np.repeat(starts, counts) + (
            np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        pieces_lon.insert(1, g.geom_lon[take])
        pieces_lat.insert(1, g.geom_lat[take])
    lon = np.concatenate(pieces_lon)
    lat = np.concatenate(pieces_lat)
    keep = np.ones(len(lon), dtype=bool)
    keep[1:] = (np.diff(lon) != 0) | (np.diff(lat) != 0)
    geometry = tuple(zip(lon[keep].tolist(), lat[keep].tolist(), strict=True))

    live = np.flatnonzero(part > 0) if len(legs) > 1 else np.arange(1)
    if len(live) == 0:
        live = np.arange(1)
    names = g.edge_name[le[live]]
    starts_g = np.flatnonzero(np.concatenate([[True], names[1:] != names[:-1]]))
    ends_g = np.concatenate([starts_g[1:], [len(live)]]) - 1
    first_pt = g.geom_offsets[le[live]]
    last_pt = g.geom_offsets[le[live] + 1] - 1
    b_in = _bearings(g, first_pt, first_pt + 1)
    b_out = _bearings(g, last_pt - 1, last_pt)
    d_sum = np.add.reduceat(dist[live], starts_g)
    t_sum = np.add.reduceat(dur[live], starts_g)
    steps: list[Step] = []
    for k, (s0, s1) in enumerate(zip(starts_g, ends_g, strict=True)):
        maneuver = "depart" if k == 0 else _maneuver(float(b_in[s0] - b_out[s0 - 1]))
        steps.append(
            _step(g, int(names[s0]), float(d_sum[k]), float(t_sum[k]), maneuver, float(b_in[s0]))
        )
        last = int(s1)
    steps.append(_step(g, int(names[last]), 0.0, 0.0, "arrive", float(b_out[last])))
    return Route(
        duration_s=float(dur.sum()),
        distance_m=float(dist.sum()),
        geometry=geometry,
        steps=tuple(steps),
    )


def _step(g: CompiledGraph, name: int, d: float, t: float, maneuver: str, bearing: float) -> Step:
    street = str(g.street_names[max(name, 0)])
    return Step(street, d, t, maneuver, round(bearing, 1))
