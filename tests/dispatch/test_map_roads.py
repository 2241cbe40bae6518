"""The road layer the dispatcher map draws when tiles cannot load."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from dispatch import map_views

URL = "/dispatch/map/roads.geojson"
PLACES_URL = "/dispatch/map/places.json"


@pytest.fixture(autouse=True)
def _fresh_cache():
    map_views._cache.clear()
    yield
    map_views._cache.clear()


def _geojson(response):
    body = response.content
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return json.loads(body)


def test_anonymous_is_sent_to_login(client, road_map):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role_fixture", ["ed_nurse", "admin"])
def test_other_roles_are_refused(client, road_map, request, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get(URL).status_code == 403
    assert client.get(PLACES_URL).status_code == 403


def test_crew_get_the_roads_for_the_tablets_offline_map(client, road_map, paramedic, dispatcher):
    client.force_login(paramedic)
    theirs = client.get(URL)
    client.force_login(dispatcher)
    assert theirs.status_code == 200
    assert theirs.content == client.get(URL).content


def test_anonymous_is_sent_to_login_for_places(client, road_map):
    response = client.get(PLACES_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role_fixture", ["dispatcher", "paramedic"])
def test_places_are_the_regions_stations_hospitals_and_squares(
    client, db, road_map, request, role_fixture
):
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
    client.force_login(request.getfixturevalue(role_fixture))
    response = client.get(PLACES_URL)
    assert response.status_code == 200
    places = response.json()["places"]
    by_kind: dict[str, set[str]] = {}
    for place in places:
        assert set(place) == {"name", "kind", "lat", "lon"}
        by_kind.setdefault(place["kind"], set()).add(place["name"])
    assert "Erottaja fire station" in by_kind["station"]
    assert "Demo Trauma ED (Mehiläinen site)" in by_kind["hospital"]
    assert {"Senaatintori", "Hakaniemen tori"} <= by_kind["square"]
    assert "Helsingin tuomiokirkko" in by_kind["landmark"]
    # Landmarks are a chosen few, not every shop and restaurant of the index.
    assert len(places) < 120
    assert "restaurant" not in {p["kind"] for p in places}


def test_dispatcher_of_another_centre_gets_the_same_roads(client, road_map, dispatcher, outsider):
    # Roads are the shared map, not centre data: every dispatcher sees the same layer.
    client.force_login(dispatcher)
    mine = client.get(URL)
    client.force_login(outsider)
    theirs = client.get(URL)
    assert mine.status_code == theirs.status_code == 200
    assert mine.content == theirs.content


def test_roads_are_geojson_with_one_feature_per_street_segment(client, road_map, dispatcher):
    client.force_login(dispatcher)
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response["Cache-Control"] == "private, max-age=3600"
    collection = _geojson(response)
    assert collection["type"] == "FeatureCollection"

    graph = road_map.graph
    twins = int((graph.edge_twin >= 0).sum())
    assert twins > 0, "the demo map has two-way streets"
    assert len(collection["features"]) == graph.n_edges - twins // 2

    min_lon, min_lat, max_lon, max_lat = graph.bbox()
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "LineString"
        coords = feature["geometry"]["coordinates"]
        assert len(coords) >= 2
        for lon, lat in coords:
            assert min_lon - 1e-6 <= lon <= max_lon + 1e-6
            assert min_lat - 1e-6 <= lat <= max_lat + 1e-6
            assert round(lon, 6) == lon
            assert round(lat, 6) == lat
        assert set(feature["properties"]) == {"name", "highway", "oneway"}


def test_each_feature_is_the_edge_geometry_with_its_street_name(client, road_map, dispatcher):
    client.force_login(dispatcher)
    collection = _geojson(client.get(URL))
    graph = road_map.graph
    ids = [f["id"] for f in collection["features"]]
    assert len(set(ids)) == len(ids)
    kept = set(ids)
    for e in range(graph.n_edges):
        twin = int(graph.edge_twin[e])
        if twin < 0:
            assert e in kept
        else:
            # Exactly one direction of each two-way street is drawn.
            assert (e in kept) != (twin in kept)
    named = [f for f in collection["features"] if f["properties"]["name"]]
    assert named, "the demo map has street names"
    for feature in named[:20]:
        e = feature["id"]
        assert feature["properties"]["name"] == str(graph.street_names[graph.edge_name[e]])
        assert feature["properties"]["highway"] == str(graph.highway_names[graph.edge_highway[e]])
        start, end = int(graph.geom_offsets[e]), int(graph.geom_offsets[e + 1])
        expected = np.column_stack([graph.geom_lon[start:end], graph.geom_lat[start:end]])
        assert np.allclose(feature["geometry"]["coordinates"], expected, atol=1e-6)


def test_gzip_is_served_when_accepted_and_is_the_same_document(client, road_map, dispatcher):
    client.force_login(dispatcher)
    plain = client.get(URL)
    zipped = client.get(URL, headers={"accept-encoding": "gzip, deflate"})
    assert plain.get("Content-Encoding") is None
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert "Accept-Encoding" in zipped["Vary"]


def test_serialized_once_per_loaded_graph(client, road_map, dispatcher):
    client.force_login(dispatcher)
    first = client.get(URL).content
    assert list(map_views._cache) == [id(road_map.graph)]
    cached = map_views._cache[id(road_map.graph)]
    assert client.get(URL).content == first
    assert map_views._cache[id(road_map.graph)] is cached


def test_without_a_built_map_the_answer_is_503_json(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["field"] is None
    assert "build_map" in body["error"]


def test_only_get_is_allowed(client, road_map, dispatcher):
    client.force_login(dispatcher)
    assert client.post(URL).status_code == 405
