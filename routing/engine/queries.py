"""Rank, route, isochrone and coverage queries on a CompiledGraph."""

from __future__ import annotations

import math
import queue
import threading
import weakref
from concurrent.futures import Future
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
# Many-to-one sweeps with at least this many pinned nodes run as two concurrent halves; a
# sweep costs about 2 us per pin on 100k nodes, so below this the thread hand-off (tens
# of microseconds) would eat the gain.
SPLIT_SWEEP_PINS = 200

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_new = object.__new__
_set = object.__setattr__


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


def _rank_exact(
    g: CompiledGraph, target: Snap, sources: list[Snap], mode: Mode
) -> list[RankResult]:
    """Exact float rank by scipy Dijkstra (fallback of `rank` for undecodable sources)."""
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


_INF = 2**31 - 1  # routingkit's infinity; every weight and answer must stay below it


@dataclass(frozen=True)
class _Lex:
    """Lexicographic metric `t_q << bits | l_q`: fastest path, ties by length.

    t_q = max(1, round(time / time_q)), l_q = round(length / length_q). An answer W with
    high part H = W >> bits is decoded as length (W & mask) * length_q only when
    (H + 1) * per_quantum < 2**bits, where per_quantum = 1.5 * v_max * time_q / length_q
    + 0.5 bounds the length quanta one time quantum can carry (v_max = fastest edge). Then
    no length can carry into the time bits on this path or on any faster one, so W is the
    true lexicographic optimum; otherwise the caller falls back to the exact search.
    """

    bits: int
    time_q: float
    length_q: float
    per_quantum: float

    @property
    def max_high(self) -> int:
        """Largest decodable high part."""
        by_len = int((1 << self.bits) / self.per_quantum) - 2
        return min(by_len, (_INF >> self.bits) - 1)


def _lex_params(bound_s: float, v_max: float) -> _Lex:
    """Quanta whose decodable range covers drive times up to 1.5 x `bound_s`.

    The slack covers quantised path times exceeding the float ones (every edge counts at
    least one time quantum).

    Balances path-selection precision (time quantum against 0.1 s) and length precision
    (length quantum against 4 m): the candidate with the smallest larger ratio wins. On
    the 100k-node grid this (8 m, 0.21 s) halved the p90 distance difference to the exact
    search compared with (2 m, 0.86 s) or (4 m, 0.43 s); length rounding errors are
    unbiased and average out along a path, path-selection errors do not.
    """
    bound = max(bound_s, 60.0) if math.isfinite(bound_s) else 4 * 3600.0
    best: tuple[float, _Lex] | None = None
    for length_q in (0.01, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0):
        for bits in range(8, 28):
            time_q = max(0.001, 1.5 * bound / ((_INF >> bits) - 2))
            lex = _Lex(bits, time_q, length_q, 1.5 * v_max * time_q / length_q + 0.5)
            if lex.max_high * time_q < 1.5 * bound:
                continue
            cost = max(time_q / 0.1, length_q / 4.0)
            if best is None or cost < best[0]:
                best = (cost, lex)
    if best is None:
        return _Lex(17, bound / 8192, 16.0, 1.5 * v_max * bound / 8192 / 16.0 + 0.5)
    return best[1]


class _CCH:
    """Routingkit CCH; metrics are customised per mode on first use; queries per thread.

    Many-to-one sweeps with many pins are split in two halves (by position in the node
    order, so each half is one side of the top separators) and the second half runs on a
    helper thread: routingkit releases the GIL during a sweep, so on two cores the halves
    overlap. Routingkit query objects are bound to the thread that made them, so every
    thread (callers and the helper) keeps its own, together with the pins last set on it.
    """

    def __init__(self, g: CompiledGraph) -> None:
        import routingkit_cch as rk

        self.g = g
        order = g.cch_order
        if len(order) != g.n_nodes:
            order = np.asarray(
                rk.compute_order_degree(g.n_nodes, g.edge_u.tolist(), g.edge_v.tolist()),
                dtype=np.int64,
            )
        self.cch = rk.CCH(order.tolist(), g.edge_u.tolist(), g.edge_v.tolist(), False)
        self.position = np.empty(g.n_nodes, dtype=np.int64)
        self.position[np.asarray(order, dtype=np.int64)] = np.arange(g.n_nodes)
        self._metrics: dict[tuple[Mode, str], Any] = {}
        self._lex: dict[Mode, _Lex] = {}
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Any] | None = None
        self.local = threading.local()

    def scale(self, mode: Mode) -> float:
        """Rank's time unit per second: 0.1 ms when 4x the drive-time bound fits, else 1 ms.

        Rounding every edge to 0.05 ms keeps the ETA within 0.1 % whenever the edges of
        the path average at least 50 ms (about 0.7 m at 50 km/h); at 1 ms the average must
        be 0.5 s, which real maps (tens of metres per edge) also meet.
        """
        bound = float(self.g.eta_bound_s[0 if mode == "urgent" else 1])
        return 10_000.0 if math.isfinite(bound) and bound * 4e4 < _INF else CCH_SCALE

    def lex(self, mode: Mode) -> _Lex:
        self.metric(mode, "lex")
        return self._lex[mode]

    def metric(self, mode: Mode, kind: str) -> Any:
        """`rank` (integer times, see `scale`; route uses it too) or `lex` metric of a mode,
        customised once (0.12 s per metric on 100k nodes)."""
        key = (mode, kind)
        met = self._metrics.get(key)
        if met is None:
            with self._lock:
                met = self._metrics.get(key)
                if met is None:
                    met = self._customise(mode, kind)
                    self._metrics[key] = met
        return met

    def _customise(self, mode: Mode, kind: str) -> Any:
        import routingkit_cch as rk

        g = self.g
        tt = g.travel_time(mode)
        if kind == "rank":
            w = np.rint(tt * self.scale(mode))
        else:
            pos = tt > 0
            v_max = float((g.length_m[pos] / tt[pos]).max()) if pos.any() else 1.0
            lex = _lex_params(float(g.eta_bound_s[0 if mode == "urgent" else 1]), v_max)
            self._lex[mode] = lex
            tq = np.maximum(1.0, np.rint(tt / lex.time_q))
            lq = np.minimum(np.rint(g.length_m / lex.length_q), (1 << lex.bits) - 1)
            w = tq * float(1 << lex.bits) + lq
        weights = np.minimum(w, _INF - 1).astype(np.int64).tolist()
        return rk.CCHMetric(self.cch, weights)

    def query(self, mode: Mode) -> Any:
        import routingkit_cch as rk

        q = getattr(self.local, mode, None)
        if q is None:
            q = rk.CCHQuery(self.metric(mode, "rank"))
            setattr(self.local, mode, q)
        return q

    def _helper(self) -> queue.SimpleQueue[Any]:
        jobs = self._jobs
        if jobs is None:
            with self._lock:
                if self._jobs is None:
                    self._jobs = queue.SimpleQueue()
                    threading.Thread(
                        target=_helper_loop, args=(self._jobs,), name="cch-sweep", daemon=True
                    ).start()
                    # The helper's query objects must be dropped on the helper thread
                    # (routingkit refuses otherwise): when this CCH goes, it clears them
                    # and stops. A daemon thread, so it never holds up interpreter exit.
                    weakref.finalize(self, self._jobs.put, None)
                jobs = self._jobs
        return jobs

    def _sweep_here(
        self,
        mode: Mode,
        kind: str,
        pins: I64,
        seeds: list[tuple[int, int]],
        store: dict[str, list[Any]] | None = None,
    ) -> F64:
        """One many-to-one sweep on this thread's query object for (mode, kind); the pins
        are re-set only when they differ from the ones already pinned there."""
        import routingkit_cch as rk

        if store is None:
            store = getattr(self.local, "m2o", None)
            if store is None:
                store = {}
                self.local.m2o = store
        name = f"{mode}_{kind}"
        entry = store.get(name)
        if entry is None:
            entry = [rk.CCHManyToOne(self.metric(mode, kind), [0]), b""]
            store[name] = entry
        key = pins.tobytes()
        if entry[1] != key:
            entry[0].repin_sources(pins.tolist())
            entry[1] = key
        return _as_float(entry[0].distances_to_multi(seeds))

    def distances(self, mode: Mode, kind: str, pins: I64, seeds: list[tuple[int, int]]) -> F64:
        """Metric distances from every node in `pins` (distinct) to the seeded target
        (nan: unreachable), in one sweep or in two concurrent half sweeps."""
        if len(pins) == 0:
            return np.zeros(0)
        if len(pins) < SPLIT_SWEEP_PINS:
            return self._sweep_here(mode, kind, pins, seeds)
        by_pos = np.argsort(self.position[pins], kind="stable")
        first, second = by_pos[: len(pins) // 2], by_pos[len(pins) // 2 :]
        pending: Future[F64] = Future()
        self._helper().put((self._sweep_here, (mode, kind, pins[second], seeds), pending))
        try:
            near = self._sweep_here(mode, kind, pins[first], seeds)
        finally:
            far = pending.result()
        out = np.empty(len(pins))
        out[first] = near
        out[second] = far
        return out


def _helper_loop(jobs: queue.SimpleQueue[Any]) -> None:
    """Run (function, args, future) jobs with this thread's own query-object store; None
    clears the store here and ends the thread."""
    store: dict[str, list[Any]] = {}
    while True:
        job = jobs.get()
        if job is None:
            store.clear()
            return
        fn, args, pending = job
        del job  # hold no reference to the CCH between jobs, so it can be collected
        try:
            pending.set_result(fn(*args, store))
        except BaseException as exc:  # handed to the waiting caller
            pending.set_exception(exc)
        del fn, args, pending


def cch(g: CompiledGraph) -> _CCH:
    """The graph's CCH topology, built on first use (about 0.2 s per 100k nodes)."""
    return g._cached("cch", lambda: _CCH(g))  # type: ignore[no-any-return]


def _positions(g: CompiledGraph, edge: I64, frac: F64) -> tuple[I64, F64, I64]:
    """(edge, fraction, owner) of every directed position of the sources, twins included."""
    tw = g.edge_twin[edge].astype(np.int64)
    has = tw >= 0
    owner = np.concatenate([np.arange(len(edge)), np.flatnonzero(has)])
    return np.concatenate([edge, tw[has]]), np.concatenate([frac, 1.0 - frac[has]]), owner


def _as_float(values: list[int | None]) -> F64:
    return np.array(values, dtype=np.float64)  # None -> nan


def rank(
    g: CompiledGraph, target: Snap, sources: list[Snap], mode: Mode = "urgent"
) -> list[RankResult]:
    """Drive time and distance from every source to the target (see `rank_positions`)."""
    mode = _check_mode(mode)
    k = len(sources)
    edge = np.fromiter((s.edge for s in sources), dtype=np.int64, count=k)
    frac = np.fromiter((s.fraction for s in sources), dtype=np.float64, count=k)
    return rank_positions(g, target, edge, frac, mode, sources)


def rank_positions(
    g: CompiledGraph,
    target: Snap,
    edge: I64,
    frac: F64,
    mode: Mode = "urgent",
    sources: list[Snap] | None = None,
) -> list[RankResult]:
    """`rank` for sources given as snapped (edge, fraction) arrays (no Snap objects).

    ETAs: one CCH many-to-one sweep on integer times (see `_CCH.scale`) with the distinct
    heads of the sources' edges and twins pinned (split over two threads when there are
    many); the partial edge at each source is added in float afterwards and the target's
    partial edges seed the sweep. Distances: a second sweep on the lexicographic (time,
    length) metric with only the head each source's fastest route leaves by pinned; a
    source whose answer cannot be decoded exactly (`_Lex`), or that the CCH finds
    unreachable, is answered by the exact scipy search.
    """
    mode = _check_mode(mode)
    if len(edge) == 0:
        return []
    tt = g.travel_time(mode)
    length = g.length_m
    c = cch(g)
    scale = c.scale(mode)
    lex = c.lex(mode)
    tpos = target.positions(g)
    pe, pf, owner = _positions(g, np.asarray(edge, dtype=np.int64), np.asarray(frac))
    heads = g.edge_v[pe].astype(np.int64)
    uniq, inv = np.unique(heads, return_inverse=True)
    fine = c.distances(
        mode,
        "rank",
        uniq,
        [(int(g.edge_u[e]), round(f * float(tt[e]) * scale)) for e, f in tpos],
    )
    # Candidates per source: via the head of each directed position, or straight along the
    # target's own edge when the source is behind the target on it (preferred on ties).
    n_pos = len(pe)
    c_eta, c_pos, c_own, c_prio, c_dist = (
        [(1.0 - pf) * tt[pe] + fine[inv] / scale],
        [np.arange(n_pos)],
        [owner],
        [np.ones(n_pos)],
        [np.zeros(n_pos)],
    )
    for te, tf in tpos:
        j = np.flatnonzero((pe == te) & (pf <= tf))
        c_eta.append((tf - pf[j]) * float(tt[te]))
        c_pos.append(np.full(len(j), -1))
        c_own.append(owner[j])
        c_prio.append(np.zeros(len(j)))
        c_dist.append((tf - pf[j]) * float(length[te]))
    ceta = np.concatenate(c_eta)
    ceta = np.where(np.isnan(ceta), np.inf, ceta)
    cown = np.concatenate(c_own)
    order = np.lexsort((np.concatenate(c_prio), ceta, cown))
    first = order[np.concatenate([[True], cown[order][1:] != cown[order][:-1]])]
    eta = ceta[first]
    pos = np.concatenate(c_pos)[first]
    dist = np.concatenate(c_dist)[first]
    ok = np.isfinite(eta)
    via = np.flatnonzero(ok & (pos >= 0))
    bad = via[:0]
    if len(via):
        vpos = pos[via]
        u2, inv2 = np.unique(heads[vpos], return_inverse=True)
        mult = float(1 << lex.bits)
        seeds = [
            (
                int(g.edge_u[e]),
                int(
                    round(f * float(tt[e]) / lex.time_q) * mult
                    + round(f * float(length[e]) / lex.length_q)
                ),
            )
            for e, f in tpos
        ]
        w = c.distances(mode, "lex", u2, seeds)[inv2]
        high = np.floor(w / mult)
        good = np.isfinite(w) & (high <= lex.max_high)
        dist[via] = (1.0 - pf[vpos]) * length[pe[vpos]] + (w - high * mult) * lex.length_q
        bad = via[~good]
    exact = np.union1d(np.flatnonzero(~ok), bad)
    out_eta = np.where(ok, eta, np.inf).tolist()
    out_dist = np.where(ok, dist, np.inf).tolist()
    reach = ok.tolist()
    if len(exact):
        if sources is None:
            redo = [Snap(int(edge[i]), float(frac[i]), 0.0, 0.0, 0.0, 0.0, "") for i in exact]
        else:
            redo = [sources[i] for i in exact]
        for i, r in zip(exact.tolist(), _rank_exact(g, target, redo, mode), strict=True):
            out_eta[i], out_dist[i], reach[i] = r.eta_s, r.distance_m, r.reachable
    out = []
    for i in range(len(out_eta)):
        r = _new(RankResult)  # bulk construction, see `_steps`
        _set(
            r,
            "__dict__",
            {"index": i, "eta_s": out_eta[i], "distance_m": out_dist[i], "reachable": reach[i]},
        )
        out.append(r)
    return out


def route(g: CompiledGraph, a: Snap, b: Snap, mode: Mode = "urgent") -> Route:
    """Fastest route from a to b with geometry and street-level steps."""
    mode = _check_mode(mode)
    tt = g.travel_time(mode)
    apos, bpos = a.positions(g), b.positions(g)
    c = cch(g)
    scale = c.scale(mode)
    q = c.query(mode)
    res = q.run_multi(
        [(int(g.edge_v[e]), round((1.0 - f) * tt[e] * scale)) for e, f in apos],
        [(int(g.edge_u[e]), round(f * tt[e] * scale)) for e, f in bpos],
    )
    found = res.distance is not None
    node_path = res.node_path if found else []
    arcs = np.asarray(res.arc_path if found else [], dtype=np.int64)
    del res  # routingkit refuses a new query while a result object is alive
    best: tuple[float, I64, F64, F64] | None = None
    if found:
        start = node_path[0]
        end = node_path[-1]
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


def _bearings(g: CompiledGraph, i0: npt.NDArray[np.int64], i1: npt.NDArray[np.int64]) -> F64:
    """Compass bearing (degrees) from geometry point i0 to i1."""
    lat0 = np.radians(g.geom_lat[i0])
    dx = (g.geom_lon[i1] - g.geom_lon[i0]) * np.cos(lat0)
    dy = g.geom_lat[i1] - g.geom_lat[i0]
    return np.asarray((np.degrees(np.arctan2(dx, dy)) + 360.0) % 360.0, dtype=np.float64)


_MANEUVERS = ("continue", "slight right", "slight left", "turn right", "turn left", "u-turn")


def _maneuvers(turn: F64) -> list[str]:
    """Instruction per turn angle (degrees, any range): continue / slight / turn / u-turn."""
    turn = (turn + 540.0) % 360.0 - 180.0
    a = np.abs(turn)
    right = turn > 0
    code = np.select(
        [a < 20, (a < 45) & right, a < 45, (a < 150) & right, a < 150], [0, 1, 2, 3, 4], 5
    )
    return [_MANEUVERS[c] for c in code.tolist()]


def _steps(
    streets: list[str], d: list[float], t: list[float], m: list[str], b: list[float]
) -> list[Step]:
    """Step objects in bulk: the frozen dataclass __init__ (five guarded setattrs) is half
    the cost of a long route, so the instance dict is set in one go (same fields, same
    equality, hash and repr)."""
    out = []
    for st, dd, tt, mm, bb in zip(streets, d, t, m, b, strict=True):
        step = _new(Step)
        _set(
            step,
            "__dict__",
            {"street": st, "distance_m": dd, "duration_s": tt, "maneuver": mm, "bearing": bb},
        )
        out.append(step)
    return out


def _round1(x: F64) -> list[float]:
    """`[round(v, 1) for v in x]`, vectorised; Python's exact rounding only near ties."""
    out = np.round(x, 1)
    tie = np.flatnonzero(np.abs(np.abs(x * 10.0) % 1.0 - 0.5) < 1e-6)
    out[tie] = [round(float(v), 1) for v in x[tie]]
    return out.tolist()  # type: ignore[no-any-return]


def _build_route(g: CompiledGraph, tt: F64, le: I64, f0: F64, f1: F64) -> Route:
    n_legs = len(le)
    part = f1 - f0
    dist = part * g.length_m[le]
    dur = part * tt[le]
    # Geometry: whole middle edges gathered straight from the flat arrays; only the two
    # end legs are cut, which needs the projection.
    pieces_lon: list[Any] = []
    pieces_lat: list[Any] = []
    for i in (0, n_legs - 1) if n_legs > 1 else (0,):
        xy = _edge_xy(g, int(le[i]), float(f0[i]), float(f1[i]))
        lat, lon = g.unproject(xy[:, 0], xy[:, 1])
        pieces_lon.append(lon)
        pieces_lat.append(lat)
    if n_legs > 2:
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

    live = np.flatnonzero(part > 0) if n_legs > 1 else np.arange(1)
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
    # Street changes: turn from the last edge of one group into the first of the next.
    maneuver = ["depart", *_maneuvers(b_in[starts_g[1:]] - b_out[starts_g[1:] - 1])]
    streets = g.street_names[np.maximum(names[starts_g], 0)].tolist()
    steps = _steps(streets, d_sum.tolist(), t_sum.tolist(), maneuver, _round1(b_in[starts_g]))
    last = int(ends_g[-1])
    steps.append(
        Step(
            str(g.street_names[max(int(names[last]), 0)]),
            0.0,
            0.0,
            "arrive",
            round(float(b_out[last]), 1),
        )
    )
    return Route(
        duration_s=float(dur.sum()),
        distance_m=float(dist.sum()),
        geometry=geometry,
        steps=tuple(steps),
    )
