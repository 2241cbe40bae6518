"""Maps people can read offline: with the tile server unreachable, the console and the
tablet draw the road graph with street names and the region's places (stations, hospitals,
squares), not bare grey lines."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from accounts.models import User
from dispatch import services
from dispatch.models import Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
TILE_HOST = re.compile(r"^https?://[^/]*tile\.openstreetmap\.org/")
SENATE_SQUARE = (60.16940, 24.95200)


@pytest.fixture
def demo(live_server_url, road_map):
    call_command("seed_demo", verbosity=0)


def _block_tiles(page) -> list[str]:
    blocked: list[str] = []

    def abort(route):
        blocked.append(route.request.url)
        route.abort()

    page.route(TILE_HOST, abort)
    return blocked


def _zoom_to_labels(page, map_selector: str) -> None:
    # Street names show from zoom 15; zoom in until the labels pane is shown.
    for _ in range(4):
        if page.locator(f"{map_selector}.gh-hide-street-labels").count() == 0:
            return
        page.click(f"{map_selector} .leaflet-control-zoom-in")
        page.wait_for_timeout(400)


def test_console_without_tiles_draws_street_names_and_places(browser_context, browser_login, demo):
    dispatcher = User.objects.get(username="dispatcher")
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    blocked = _block_tiles(page)
    page.reload()
    page.locator("#map.gh-offline-map").wait_for(timeout=TIMEOUT_MS)
    streets = page.locator("#map .gh-street-label")
    streets.first.wait_for(state="attached", timeout=TIMEOUT_MS)
    names = set(streets.all_text_contents())
    assert {"Mannerheimintie", "Bulevardi", "Erottajankatu"} <= names, sorted(names)
    page.locator("#map .gh-place-label", has_text="Senaatintori").wait_for(
        state="attached", timeout=TIMEOUT_MS
    )
    places = set(page.locator("#map .gh-place-label").all_text_contents())
    assert "Erottaja fire station" in places
    assert "Senaatintori" in places
    # Hospitals are the console's own live markers, labelled by name.
    page.locator("#map", has_text="Demo Trauma ED (Mehiläinen site)").wait_for(timeout=TIMEOUT_MS)
    _zoom_to_labels(page, "#map")
    page.locator("#map .gh-street-label span", has_text="Mannerheimintie").first.wait_for(
        state="visible", timeout=TIMEOUT_MS
    )
    assert blocked, "the page asked for map tiles, and they were refused"


def test_tablet_route_map_without_tiles_draws_the_road_graph_with_names_and_hospitals(
    browser_context, browser_login, demo
):
    dispatcher = User.objects.get(username="dispatcher")
    crew = User.objects.get(username="paramedic")
    incident = services.incident_create(
        user=dispatcher,
        chief_complaint="chest pain",
        determinant="DELTA",
        location=services.LocationInput(source="map", lat=SENATE_SQUARE[0], lon=SENATE_SQUARE[1]),
        allow_duplicate=True,
    )
    services.assignments_create(
        user=dispatcher,
        incident_id=incident.pk,
        unit_ids=[Unit.objects.get(call_sign="HE101").pk],
    )
    page = browser_login(browser_context, crew, "/dispatch/tablet/")
    blocked = _block_tiles(page)
    page.reload()
    page.locator("#route-map.gh-offline-map").wait_for(timeout=TIMEOUT_MS)
    page.locator("#route-map .gh-street-label").first.wait_for(state="attached", timeout=TIMEOUT_MS)
    # The road graph itself is drawn (a canvas in the roads pane), under the route line.
    assert page.locator("#route-map .leaflet-gh-roads-pane canvas").count() == 1
    page.locator("#route-map .gh-place-hospital").first.wait_for(
        state="attached", timeout=TIMEOUT_MS
    )
    names = set(page.locator("#route-map .gh-street-label").all_text_contents())
    assert "Mannerheimintie" in names, sorted(names)
    hospitals = set(page.locator("#route-map .gh-place-hospital").all_text_contents())
    assert "Demo Trauma ED (Mehiläinen site)" in hospitals, sorted(hospitals)
    stations = set(page.locator("#route-map .gh-place-station").all_text_contents())
    assert "Erottaja fire station" in stations
    _zoom_to_labels(page, "#route-map")
    page.locator("#route-map .gh-place-hospital span").first.wait_for(
        state="visible", timeout=TIMEOUT_MS
    )
    assert blocked, "the tablet asked for map tiles, and they were refused"
