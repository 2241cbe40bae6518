"""The dispatcher console page: map, intake form, live lists and the vendored map library."""

from __future__ import annotations

import pytest

from tests import factories

URL = "/dispatch/"
INTAKE_FIELDS = [
    "caller_name",
    "caller_phone",
    "chief_complaint",
    "priority",
    "location_text",
    "notes",
    "access_notes",
]


@pytest.fixture
def page(client, dispatcher, unit, hospital):
    client.force_login(dispatcher)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_console_has_the_map_with_tile_and_roads_urls(page):
    assert 'id="map"' in page
    assert 'data-tile-url="' in page
    assert 'data-roads-url="/dispatch/map/roads.geojson"' in page
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert "/static/vendor/leaflet/leaflet.css" in page
    assert '<script type="module" src="/static/dispatch/console.js">' in page
    assert '<script type="module" src="/static/dispatch/intake.js">' in page
    assert "/static/dispatch/console.css" in page
    assert 'id="connection"' in page


def test_tile_url_from_the_view_context_reaches_the_map(dispatcher):
    from django.template.loader import render_to_string

    html = render_to_string(
        "dispatch/console.html",
        {
            "centre": dispatcher.dispatch_centre,
            "units": [],
            "hospitals": [],
            "tile_url": "https://tiles.example/{z}/{x}/{y}.png",
        },
    )
    assert 'data-tile-url="https://tiles.example/{z}/{x}/{y}.png"' in html


def test_without_a_tile_url_the_map_falls_back_to_roads(dispatcher):
    from django.template.loader import render_to_string

    html = render_to_string(
        "dispatch/console.html",
        {"centre": dispatcher.dispatch_centre, "units": [], "hospitals": []},
    )
    # An empty tile URL is the console's cue to draw the road network instead of tiles.
    assert 'data-tile-url=""' in html


def test_intake_form_has_every_field_with_a_stable_id_and_name(page):
    assert 'id="intake-form"' in page
    for name in INTAKE_FIELDS:
        assert f'id="{name}"' in page
        assert f'name="{name}"' in page
    for level in ["ECHO", "DELTA", "CHARLIE", "BRAVO", "ALPHA", "OMEGA"]:
        assert f'<option value="{level}"' in page
    assert 'id="intake-result"' in page
    assert '<ol id="recommendations"' in page


def test_units_and_incidents_lists_render_with_the_units_of_the_centre(page, unit):
    assert '<ul id="incident-list"' in page
    assert "No open incidents." in page
    assert '<ul id="unit-list"' in page
    assert f'data-unit-id="{unit.pk}"' in page
    assert f'data-status="{unit.status}"' in page
    assert unit.call_sign in page
    assert 'id="initial-units"' in page
    assert 'id="initial-hospitals"' in page


def test_units_of_another_centre_are_not_listed(client, dispatcher, unit):
    stranger = factories.UnitFactory()
    client.force_login(dispatcher)
    page = client.get(URL).content.decode()
    assert f'data-unit-id="{unit.pk}"' in page
    assert f'data-unit-id="{stranger.pk}"' not in page
    assert stranger.call_sign not in page


@pytest.mark.parametrize("role_fixture", ["paramedic", "ed_nurse", "admin"])
def test_console_is_for_dispatchers_only(client, request, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/vendor/leaflet/leaflet.js", "text/javascript"),
        ("/static/vendor/leaflet/leaflet.css", "text/css"),
        ("/static/vendor/leaflet/images/marker-icon.png", "image/png"),
        ("/static/vendor/leaflet/images/layers.png", "image/png"),
        ("/static/dispatch/console.js", "text/javascript"),
        ("/static/dispatch/console.css", "text/css"),
    ],
)
def test_vendored_map_assets_are_served(client, db, path, content_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)


def test_vendored_leaflet_is_the_pinned_version_with_its_licence(client, db):
    from pathlib import Path

    from django.conf import settings

    body = b"".join(client.get("/static/vendor/leaflet/leaflet.js").streaming_content)
    assert b'version="1.9.4"' in body
    licence = (Path(settings.BASE_DIR) / "static/vendor/leaflet/LICENSE").read_text()
    assert "BSD 2-Clause" in licence
