"""ETAs on real OSM extracts equal the networkx reference on the same compiled graph."""

from __future__ import annotations

import math
import random

import networkx as nx
import pytest

from routing.engine import CompiledGraph, Snap, coverage, isochrone, rank, route, snap_many
from routing.engine.reference import to_networkx, with_snaps

TARGETS, SOURCES = 25, 20  # 500 pairs per graph


def _random_snaps(g: CompiledGraph, count: int, seed: int) -> list[Snap]:
    rnd = random.Random(seed)
    picks = [rnd.randrange(g.n_edges) for _ in range(count)]
    # Points a little off real roads so snapping, not node lookup, places them.
    pts = [
        (
            float(g.node_lat[g.edge_u[e]]) + rnd.uniform(-2e-4, 2e-4),
            float(g.node_lon[g.edge_u[e]]) + rnd.uniform(-2e-4, 2e-4),
        )
        for e in picks
    ]
    return snap_many(g, pts, max_distance_m=5_000.0)


def _reference_etas(
    g: CompiledGraph, dg: nx.DiGraph, target: Snap, sources: list[Snap]
) -> list[float]:
    snaps = {("s", i): s for i, s in enumerate(sources)} | {"t": target}
    h = with_snaps(g, dg, snaps, "urgent")  # type: ignore[arg-type]
    dist = nx.single_source_dijkstra_path_length(h.reverse(copy=False), "t", weight="weight")
    out = []
    for i, s in enumerate(sources):
        direct = [
            (tf - f) * float(g.tt_urgent[e])
            for e, f in s.positions(g)
            for te, tf in target.positions(g)
            if te == e and f <= tf
        ]
        out.append(min([dist.get(("s", i), math.inf), *direct]))
    return out


def _check_against_networkx(g: CompiledGraph, seed: int) -> None:
    dg = to_networkx(g, "urgent")
    snaps = _random_snaps(g, TARGETS * (SOURCES + 1), seed)
    compared = 0
    for t in range(TARGETS):
        group = snaps[t * (SOURCES + 1) : (t + 1) * (SOURCES + 1)]
        target, sources = group[0], group[1:]
        ours = rank(g, target, sources, "urgent")
        ref = _reference_etas(g, dg, target, sources)
        for r, expected in zip(ours, ref, strict=True):
            assert r.reachable == math.isfinite(expected)
            if r.reachable:
                assert r.eta_s == pytest.approx(expected, rel=1e-3, abs=1e-6)
            compared += 1
        # The routed path must be the same optimum, and its length the rank's distance.
        for r in ours[:4]:
            if r.reachable:
                rt = route(g, sources[r.index], target, "urgent")
                assert rt.duration_s == pytest.approx(r.eta_s, rel=1e-5, abs=1e-3)
                assert rt.distance_m == pytest.approx(r.distance_m, rel=1e-5, abs=0.01)
                assert rt.geometry
                assert rt.steps[-1].maneuver == "arrive"
    assert compared == TARGETS * SOURCES


def _check_coverage_and_isochrone(g: CompiledGraph, seed: int) -> None:
    snaps = _random_snaps(g, 60, seed)
    units, demand = snaps[:5], snaps[5:]
    cov = coverage(g, units, demand, 240.0)
    for i, d in enumerate(demand):
        best = min(r.eta_s for r in rank(g, d, units))
        if best <= 240.0:
            assert cov.covered[i]
            # coverage is an exact float64 search; rank sums float32 hierarchy arcs.
            assert cov.eta_s[i] == pytest.approx(best, rel=1e-5, abs=1e-3)
        else:
            assert not cov.covered[i]
    area = isochrone(g, units[0], 240.0)
    assert area.is_valid
    assert not area.is_empty


def test_helsinki_rank_matches_networkx(helsinki: CompiledGraph) -> None:
    _check_against_networkx(helsinki, seed=1)


def test_helsinki_coverage_matches_rank(helsinki: CompiledGraph) -> None:
    _check_coverage_and_isochrone(helsinki, seed=2)


@pytest.mark.maps
def test_andorra_rank_matches_networkx(andorra: CompiledGraph) -> None:
    _check_against_networkx(andorra, seed=3)


@pytest.mark.maps
def test_liechtenstein_rank_matches_networkx(liechtenstein: CompiledGraph) -> None:
    _check_against_networkx(liechtenstein, seed=4)


@pytest.mark.maps
def test_liechtenstein_coverage_matches_rank(liechtenstein: CompiledGraph) -> None:
    _check_coverage_and_isochrone(liechtenstein, seed=5)


def test_helsinki_rank_distances_match_exact_search(helsinki: CompiledGraph) -> None:
    from routing.engine.queries import _rank_exact

    snaps = _random_snaps(helsinki, 201, seed=6)
    target, sources = snaps[0], snaps[1:]
    ours = rank(helsinki, target, sources)
    exact = _rank_exact(helsinki, target, sources, "urgent")
    for a, b in zip(ours, exact, strict=True):
        assert a.reachable == b.reachable
        assert a.eta_s == pytest.approx(b.eta_s, rel=1e-5, abs=1e-3)
        # The length of the same fastest route (float32 sums in the hierarchy).
        assert a.distance_m == pytest.approx(b.distance_m, rel=1e-5, abs=0.01)


def test_helsinki_non_urgent_rank_and_route_agree(helsinki: CompiledGraph) -> None:
    from routing.engine.queries import _rank_exact

    snaps = _random_snaps(helsinki, 41, seed=8)
    target, sources = snaps[0], snaps[1:]
    ours = rank(helsinki, target, sources, "non_urgent")
    exact = _rank_exact(helsinki, target, sources, "non_urgent")
    for a, b in zip(ours, exact, strict=True):
        assert a.eta_s == pytest.approx(b.eta_s, rel=1e-5, abs=1e-3)
        rt = route(helsinki, sources[a.index], target, "non_urgent")
        assert rt.duration_s == pytest.approx(a.eta_s, rel=1e-5, abs=1e-3)
        assert rt.distance_m == pytest.approx(a.distance_m, rel=1e-5, abs=0.01)
    # Non-urgent driving is slower than lights and sirens.
    urgent = rank(helsinki, target, sources, "urgent")
    assert sum(r.eta_s for r in ours) > sum(r.eta_s for r in urgent)


def test_snap_finds_the_nearest_segment_like_brute_force(helsinki: CompiledGraph) -> None:
    import numpy as np

    g = helsinki
    rnd = random.Random(9)
    nodes = [rnd.randrange(g.n_nodes) for _ in range(300)]
    # Exactly on junctions (equally near segments), near them, and anywhere in the box.
    pts = [(float(g.node_lat[i]), float(g.node_lon[i])) for i in nodes[:100]]
    pts += [
        (
            float(g.node_lat[i]) + rnd.uniform(-3e-4, 3e-4),
            float(g.node_lon[i]) + rnd.uniform(-3e-4, 3e-4),
        )
        for i in nodes[100:]
    ]
    min_lon, min_lat, max_lon, max_lat = g.bbox()
    pts += [(rnd.uniform(min_lat, max_lat), rnd.uniform(min_lon, max_lon)) for _ in range(200)]
    snaps = snap_many(g, pts, max_distance_m=10_000.0)
    x0, y0, x1, y1 = g.seg_x0, g.seg_y0, g.seg_x1, g.seg_y1
    dx, dy = x1 - x0, y1 - y0
    len2 = np.maximum(dx * dx + dy * dy, 1e-12)
    for (lat, lon), s in zip(pts, snaps, strict=True):
        px, py = g.project(lat, lon)
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / len2, 0.0, 1.0)
        brute = float(np.hypot(x0 + t * dx - px, y0 + t * dy - py).min())
        assert s.distance_m == pytest.approx(brute, abs=1e-6)
