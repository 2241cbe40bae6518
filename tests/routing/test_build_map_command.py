"""`manage.py build_map`: what it prints, and bad sources leave the map in service alone."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from routing import services


@pytest.fixture
def map_dir(settings, tmp_path):
    settings.MAP_CACHE_DIR = tmp_path / "maps"
    return settings.MAP_CACHE_DIR


def test_build_prints_sizes_and_puts_the_map_in_service(map_dir, settings):
    out = StringIO()
    call_command("build_map", settings.MAP_SOURCE, stdout=out)
    text = out.getvalue()
    assert "nodes" in text
    assert "edges" in text
    assert "peak memory" in text
    assert "strongly connected" in text
    assert "Offline geocoder index" in text
    assert services.network_status()["source"] == "Helsinki.osm.pbf"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.osm.pbf", b"", "empty"),
        ("garbage.osm.pbf", b"this is not a protobuf", "Could not read"),
        ("roads.txt", b"hello", "Unsupported map format"),
        ("missing.osm.pbf", None, "does not exist"),
    ],
)
def test_a_bad_map_file_is_refused_and_the_old_map_stays(
    map_dir, settings, tmp_path, name, content, message
):
    call_command("build_map", settings.MAP_SOURCE, stdout=StringIO())
    before = services.network_status()
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CommandError) as excinfo:
        call_command("build_map", str(path), stdout=StringIO())
    assert message in str(excinfo.value)
    assert "map in service was not changed" in str(excinfo.value)
    assert "Traceback" not in str(excinfo.value)
    assert services.network_status() == before


def test_a_place_name_while_offline_says_so(map_dir, monkeypatch):
    import osmnx

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(osmnx, "graph_from_place", offline)
    monkeypatch.setattr(osmnx, "graph_from_bbox", offline)
    with pytest.raises(CommandError, match="offline"):
        call_command("build_map", "Espoo, Finland", stdout=StringIO())
    with pytest.raises(CommandError, match="offline"):
        call_command("build_map", "24.90,60.15,24.96,60.18", stdout=StringIO())


def test_a_place_download_is_saved_as_graphml_and_built(map_dir, monkeypatch, tmp_path):
    """The online path with a recorded answer: osmnx returns a graph read from a file."""
    import networkx as nx
    import osmnx

    recorded = tmp_path / "recorded.graphml"
    graph = nx.MultiDiGraph(crs="epsg:4326")
    coords = {1: (24.940, 60.170), 2: (24.945, 60.170), 3: (24.945, 60.172)}
    for node, (x, y) in coords.items():
        graph.add_node(node, x=x, y=y)
    for u, v in ((1, 2), (2, 1), (2, 3), (3, 2), (3, 1), (1, 3)):
        graph.add_edge(
            u,
            v,
            highway="residential",
            oneway=False,
            reversed=False,
            name="Testikatu",
            length=300.0,
        )
    osmnx.save_graphml(graph, recorded)
    monkeypatch.setattr(osmnx, "graph_from_place", lambda query, **kw: osmnx.load_graphml(recorded))
    out = StringIO()
    call_command("build_map", "Testville, Finland", stdout=out)
    assert (map_dir / "downloads" / "testville-finland.graphml").exists()
    assert services.network_status()["nodes"] == 3
    assert "No offline address index" in out.getvalue()
