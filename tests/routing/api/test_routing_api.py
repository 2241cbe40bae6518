"""The routing and geocoding REST API on the demo map (central Helsinki)."""

import pytest

ERottaja = {"lat": 60.16515, "lon": 24.94516}
KAISANIEMI = {"lat": 60.17235, "lon": 24.94660}
HAKANIEMI = {"lat": 60.17830, "lon": 24.95050}
AT_SEA = {"lat": 60.1500, "lon": 24.9700}  # Helsinki harbour, well off any road


@pytest.fixture
def api(client, dispatcher, road_map):
    client.force_login(dispatcher)
    return client


def test_routing_is_for_dispatchers_and_crews_only(client, road_map, paramedic, ed_nurse, admin):
    for user, allowed in ((paramedic, True), (ed_nurse, False), (admin, False)):
        client.force_login(user)
        response = client.get("/api/v1/routing/snap/", ERottaja)
        assert (response.status_code == 200) is allowed, user.role
    client.logout()
    assert client.get("/api/v1/routing/snap/", ERottaja).status_code in {401, 403}


def test_snap_returns_the_point_on_the_road(api):
    body = api.get("/api/v1/routing/snap/", ERottaja).json()
    assert body["distance_m"] < 60
    assert body["street"]
    assert abs(body["lat"] - ERottaja["lat"]) < 0.001


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 91, "lon": 24.9}, "lat"),
        ({"lat": 60.1, "lon": "east"}, "lon"),
        ({"lat": 60.1}, "lon"),
    ],
)
def test_bad_coordinates_are_refused_naming_the_field(api, params, field):
    response = api.get("/api/v1/routing/snap/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_point_at_sea_is_refused_with_the_distance(api):
    response = api.get("/api/v1/routing/snap/", AT_SEA)
    assert response.status_code == 400
    message = " ".join(m for messages in response.json().values() for m in messages)
    assert " m" in message


def test_rank_orders_sources_by_drive_time_and_keeps_their_ids(api, road_map):
    sources = [dict(HAKANIEMI, id="far"), dict(KAISANIEMI, id="near")]
    target = {"lat": 60.1700, "lon": 24.9450}
    body = api.post(
        "/api/v1/routing/rank/",
        {"target": target, "sources": sources},
        content_type="application/json",
    ).json()
    assert [row["id"] for row in body] == [
        r["id"]
        for r in sorted(
            [
                dict(
                    s,
                    eta=road_map.rank((target["lat"], target["lon"]), [(s["lat"], s["lon"])])[
                        0
                    ].eta_s,
                )
                for s in sources
            ],
            key=lambda r: r["eta"],
        )
    ]
    assert all(row["reachable"] and row["eta_s"] > 0 and row["distance_m"] > 0 for row in body)


def test_rank_refuses_an_empty_list_of_sources(api):
    response = api.post(
        "/api/v1/routing/rank/",
        {"target": KAISANIEMI, "sources": []},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "sources" in response.json()


def test_route_has_geometry_duration_and_named_steps(api):
    body = api.post(
        "/api/v1/routing/route/",
        {"origin": ERottaja, "destination": HAKANIEMI, "mode": "urgent"},
        content_type="application/json",
    ).json()
    assert body["geometry"]["type"] == "LineString"
    assert len(body["geometry"]["coordinates"]) >= 2
    assert body["duration_s"] > 0
    assert body["distance_m"] > 500
    assert body["steps"][0]["maneuver"] == "depart"
    assert body["steps"][-1]["maneuver"] == "arrive"
    assert any(step["street"] for step in body["steps"])


def test_non_urgent_transport_is_slower_than_lights_and_sirens(api):
    def duration(mode):
        return api.post(
            "/api/v1/routing/route/",
            {"origin": ERottaja, "destination": HAKANIEMI, "mode": mode},
            content_type="application/json",
        ).json()["duration_s"]

    assert duration("non_urgent") > duration("urgent")


def test_isochrone_is_a_polygon(api):
    body = api.post(
        "/api/v1/routing/isochrone/",
        {"origin": ERottaja, "seconds": 120},
        content_type="application/json",
    ).json()
    assert body["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_coverage_reports_the_covered_fraction(api):
    body = api.post(
        "/api/v1/routing/coverage/",
        {"units": [ERottaja], "demand": [KAISANIEMI, HAKANIEMI], "seconds": 5},
        content_type="application/json",
    ).json()
    assert body["covered"] == [False, False]
    assert body["fraction"] == 0
    body = api.post(
        "/api/v1/routing/coverage/",
        {"units": [ERottaja], "demand": [KAISANIEMI, HAKANIEMI], "seconds": 3600},
        content_type="application/json",
    ).json()
    assert body["covered"] == [True, True]
    assert body["fraction"] == 1


def test_geocode_finds_a_real_address(api):
    body = api.get("/api/v1/geocode/", {"q": "Mannerheimintie 6"}).json()
    top = body["candidates"][0]
    assert top["street"] == "Mannerheimintie"
    assert top["housenumber"] == "6"
    assert top["confidence"] >= 0.9


def test_geocode_accepts_coordinates_and_plus_codes(api):
    assert (
        api.get("/api/v1/geocode/", {"q": "60.1699, 24.9384"}).json()["candidates"][0]["kind"]
        == "latlon"
    )
    assert (
        api.get("/api/v1/geocode/", {"q": "9GG65WCH+2V"}).json()["candidates"][0]["kind"]
        == "pluscode"
    )


def test_geocode_with_no_match_offers_suggestions(api):
    body = api.get("/api/v1/geocode/", {"q": "Qwxzv Plghtrm 999"}).json()
    assert body["candidates"] == []
    assert isinstance(body["suggestions"], list)


def test_geocode_refuses_an_impossible_coordinate_naming_the_field(api):
    response = api.get("/api/v1/geocode/", {"q": "95.0, 24.9"})
    assert response.status_code == 400
    assert "lat" in response.json()


def test_reverse_geocode_names_the_nearest_address(api):
    body = api.get("/api/v1/geocode/reverse/", {"lat": 60.1699, "lon": 24.9384}).json()
    assert body["street"]
    assert body["distance_m"] < 100


def test_without_a_built_map_routing_answers_503(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get("/api/v1/routing/snap/", ERottaja)
    assert response.status_code == 503
    assert "build_map" in response.json()["detail"]


def test_the_online_geocoder_is_chosen_by_setting_and_biased_to_the_map(settings, road_map):
    from routing import services

    settings.GEOCODER = "nominatim"
    services._geocoder.pop("online", None)
    online = services._online_geocoder()
    assert online is not None
    assert type(online).__name__ == "GeopyGeocoder"
    west, south, east, north = road_map.bbox
    assert online.settings.viewbox == (south, west, north, east)
    settings.GEOCODER = "offline"
    services._geocoder.pop("online", None)
    assert services._online_geocoder() is None
