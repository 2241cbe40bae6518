"""Exact answers on hand-built graphs: one-ways, partial edges, same edge, unreachable."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from routing.engine import (
    CompiledGraph,
    SnapError,
    SpeedProfile,
    UnreachableError,
    compile_graph,
    coverage,
    isochrone,
    rank,
    route,
    snap,
)

FLAT = SpeedProfile(urgent_factors={}, urgent_default=1.0, name="flat")
# Square A(0,0) B(1,0) C(1,1) D(0,1) in steps of 0.002 deg lon / 0.001 deg lat at 60 N.
LON0, LAT0, DLON, DLAT = 24.0, 60.0, 0.002, 0.001
POS = {"A": (0, 0), "B": (1, 0), "C": (1, 1), "D": (0, 1), "E": (2, 0)}


def _graph(extra_dead_end: bool = False) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    nodes = ["A", "B", "C", "D"] + (["E"] if extra_dead_end else [])
    for i, name in enumerate(nodes):
        x, y = POS[name]
        g.add_node(i + 1, x=LON0 + x * DLON, y=LAT0 + y * DLAT)
    ids = {name: i + 1 for i, name in enumerate(nodes)}

    def road(a: str, b: str, tt: float, name: str, two_way: bool = True) -> None:
        g.add_edge(ids[a], ids[b], length=111.0, travel_time=tt, highway="primary", name=name)
        if two_way:
            g.add_edge(ids[b], ids[a], length=111.0, travel_time=tt, highway="primary", name=name)

    road("A", "B", 100.0, "South Street")
    road("B", "C", 10.0, "East One-way", two_way=False)
    road("C", "D", 10.0, "North Street")
    road("D", "A", 10.0, "West Street")
    if extra_dead_end:
        road("B", "E", 10.0, "Dead End", two_way=False)
    return g


@pytest.fixture(scope="module")
def square() -> CompiledGraph:
    compiled, stats = compile_graph(_graph(), FLAT, compute_order=False)
    assert stats["nodes_dropped"] == 0
    return compiled


@pytest.fixture(scope="module")
def square_with_dead_end() -> CompiledGraph:
    compiled, _ = compile_graph(
        _graph(extra_dead_end=True), FLAT, compute_order=False, keep_largest_scc=False
    )
    return compiled


def at(x: float, y: float) -> tuple[float, float]:
    return LAT0 + y * DLAT, LON0 + x * DLON


def test_largest_scc_drops_one_way_dead_end() -> None:
    _, stats = compile_graph(_graph(extra_dead_end=True), FLAT, compute_order=False)
    assert stats["nodes_dropped"] == 1
    assert stats["edges_dropped"] == 1


def test_snap_projects_onto_edge_with_fraction_and_distance(square: CompiledGraph) -> None:
    lat, lon = at(0.25, -0.1)  # ~11 m south of South Street, a quarter from A
    s = snap(square, lat, lon)
    assert s.street == "South Street"
    assert s.distance_m == pytest.approx(11.1, abs=0.2)
    assert s.lat == pytest.approx(LAT0, abs=1e-9)
    forward = s.fraction if square.edge_u[s.edge] < square.edge_v[s.edge] else 1 - s.fraction
    assert forward == pytest.approx(0.25, abs=1e-6)
    assert s.offset_m == pytest.approx(111.0 * s.fraction)


def test_snap_refuses_point_too_far_and_reports_distance(square: CompiledGraph) -> None:
    lat, lon = at(0.5, 0.5)  # centre of the block, ~55 m from every street
    with pytest.raises(SnapError) as exc:
        snap(square, lat, lon, max_distance_m=20.0)
    assert exc.value.limit_m == 20.0
    assert exc.value.distance_m == pytest.approx(55.6, abs=1.0)
    assert "20 m" in str(exc.value)


def test_route_follows_one_way_direction(square: CompiledGraph) -> None:
    b_side, c_side = snap(square, *at(1, 0.1)), snap(square, *at(1, 0.9))
    assert route(square, b_side, c_side).duration_s == pytest.approx(8.0)
    # Against the one-way: finish B->C (1 s), C->D->A (20 s), A->B (100 s), then 1 s in.
    back = route(square, c_side, b_side)
    assert back.duration_s == pytest.approx(122.0)
    assert back.steps[0].maneuver == "depart"
    assert back.steps[-1].maneuver == "arrive"
    assert [s.street for s in back.steps[:-1]] == [
        "East One-way",
        "North Street",
        "West Street",
        "South Street",
        "East One-way",
    ]


def test_route_steps_name_each_turn_with_bearings_and_distances(square: CompiledGraph) -> None:
    # Round the block anticlockwise: four left turns, headings north, west, south, east.
    loop = route(square, snap(square, *at(1, 0.9)), snap(square, *at(1, 0.1)))
    assert [s.maneuver for s in loop.steps] == ["depart", *["turn left"] * 4, "arrive"]
    assert [s.bearing for s in loop.steps] == [0.0, 270.0, 180.0, 90.0, 0.0, 0.0]
    assert [s.distance_m for s in loop.steps] == pytest.approx(
        [11.1, 111.0, 111.0, 111.0, 11.1, 0.0], abs=0.01
    )
    assert loop.distance_m == pytest.approx(sum(s.distance_m for s in loop.steps))
    # North up West Street, then right into North Street.
    right = route(square, snap(square, *at(0, 0.5)), snap(square, *at(0.9, 1)))
    assert [(s.street, s.maneuver, s.bearing) for s in right.steps] == [
        ("West Street", "depart", 0.0),
        ("North Street", "turn right", 90.0),
        ("North Street", "arrive", 90.0),
    ]
    assert [s.duration_s for s in right.steps] == pytest.approx([5.0, 9.0, 0.0])
    assert right.geometry[0] == pytest.approx((LON0, LAT0 + 0.5 * DLAT))
    assert right.geometry[1] == pytest.approx((LON0, LAT0 + DLAT))
    assert right.geometry[-1] == pytest.approx((LON0 + 0.9 * DLON, LAT0 + DLAT))
    assert len(right.geometry) == 3


def test_same_edge_source_before_target_drives_straight(square: CompiledGraph) -> None:
    a, b = snap(square, *at(0.2, 0)), snap(square, *at(0.8, 0))
    assert route(square, a, b).duration_s == pytest.approx(60.0)
    # Two-way street: the reverse twin makes the opposite direction direct as well.
    assert route(square, b, a).duration_s == pytest.approx(60.0)


def test_rank_uses_partial_edges_at_both_ends(square: CompiledGraph) -> None:
    target = snap(square, *at(0.5, 1))  # middle of North Street
    sources = [
        snap(square, *at(0.25, 0)),  # South Street, quarter from A: 25 + 10 + 5
        snap(square, *at(1, 0.5)),  # one-way, half-way up: 5 + 5
        snap(square, *at(0.1, 1)),  # same street, 0.4 of it away
    ]
    results = rank(square, target, sources)
    assert [r.eta_s for r in results] == pytest.approx([40.0, 10.0, 4.0])
    expected = [27.75 + 111 + 55.5, 111.0, 44.4]
    assert [r.distance_m for r in results] == pytest.approx(expected, rel=1e-6)
    assert all(r.reachable for r in results)
    assert [r.index for r in results] == [0, 1, 2]


def test_rank_matches_route_for_same_edge_wrong_way_on_one_way(square: CompiledGraph) -> None:
    target = snap(square, *at(1, 0.2))
    source = snap(square, *at(1, 0.8))
    [result] = rank(square, target, [source])
    # 2 s to C, around the block (120 s), 2 s up from B: never backwards on the one-way.
    assert result.eta_s == pytest.approx(124.0)
    assert route(square, source, target).duration_s == pytest.approx(124.0)


def test_unreachable_source_is_reported_not_dropped(square_with_dead_end: CompiledGraph) -> None:
    g = square_with_dead_end
    target = snap(g, *at(0.5, 1))
    stuck = snap(g, *at(1.5, 0))  # on the one-way dead end B -> E
    fine = snap(g, *at(0.5, 0))
    results = rank(g, target, [stuck, fine])
    assert results[0].reachable is False
    assert math.isinf(results[0].eta_s)
    assert results[1].reachable is True
    with pytest.raises(UnreachableError):
        route(g, stuck, target)


def test_coverage_counts_points_within_limit(square: CompiledGraph) -> None:
    unit = snap(square, *at(0.5, 1))
    demand = [snap(square, *at(0.0, 0.5)), snap(square, *at(0.5, 0))]
    cov = coverage(square, [unit], demand, seconds=30.0)
    assert cov.covered == (True, False)
    assert cov.eta_s[0] == pytest.approx(10.0)
    assert cov.fraction == pytest.approx(0.5)


def test_isochrone_contains_origin_and_not_far_corner(square: CompiledGraph) -> None:
    shapely = pytest.importorskip("shapely")
    origin = snap(square, *at(0.5, 1))
    area = isochrone(square, origin, 6.0)
    assert area.contains(shapely.Point(LON0 + 0.5 * DLON, LAT0 + DLAT))
    assert not area.contains(shapely.Point(LON0 + 0.5 * DLON, LAT0))


def test_modes_use_their_own_factors() -> None:
    fast = SpeedProfile(urgent_factors={"primary": 2.0}, urgent_default=1.0)
    g, _ = compile_graph(_graph(), fast, compute_order=False)
    a, b = snap(g, *at(0.2, 0)), snap(g, *at(0.8, 0))
    assert route(g, a, b, mode="urgent").duration_s == pytest.approx(30.0)
    assert route(g, a, b, mode="non_urgent").duration_s == pytest.approx(60.0)
