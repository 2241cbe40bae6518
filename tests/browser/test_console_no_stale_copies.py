"""No stale copies: an answer that comes back after the incident changed on the server (a route
for the live ETA, the dispatcher's own upgrade) never puts the incident card back to its older
status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch import services
from dispatch.models import Assignment
from tests.browser.test_ed_board import _call
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
KAMPPI = (60.16930, 24.93860)


def test_a_late_route_answer_does_not_write_an_older_incident_status_back(
    browser_context, browser_login, live_server_url, dispatcher, chest_pain_crew
):
    crew, incident = chest_pain_crew
    assignment = Assignment.objects.get(incident=incident)
    token = device_token(crew)
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    card = page.locator(f"#incident-list li[data-incident-id='{incident.pk}']")
    card.locator(".incident-status", has_text="Dispatched").wait_for(timeout=TIMEOUT_MS)

    held = []
    page.route("**/api/v1/routing/route/", lambda route: held.append(route))
    # The unit moves: the console asks for its route to recompute the live ETA, and that
    # answer is held back while the incident moves on.
    _call(
        live_server_url,
        "POST",
        f"/api/v1/units/{crew.unit_id}/positions/",
        token,
        {
            "device_id": "tab-race",
            "positions": [
                {
                    "id": "tab-race:1",
                    "lat": KAMPPI[0],
                    "lon": KAMPPI[1],
                    "recorded_at": datetime.now(UTC).isoformat(),
                }
            ],
        },
    )
    for _ in range(60):
        if held:
            break
        page.wait_for_timeout(250)
    assert held, "the console never asked for the moving unit's route"
    for status in ("en_route", "on_scene"):
        _call(
            live_server_url,
            "POST",
            f"/api/v1/assignments/{assignment.pk}/transition/",
            token,
            {"status": status},
        )
    card.locator(".incident-status", has_text="On scene").wait_for(timeout=TIMEOUT_MS)

    with page.expect_response("**/api/v1/routing/route/") as answer:
        held[0].continue_()
    assert answer.value.ok
    page.wait_for_timeout(500)
    assert card.locator(".incident-status").inner_text() == "On scene"
    assert "On scene" in card.locator(".incident-units").inner_text()
    assert page.evaluate(f"window.GoldenHour.console.incident({incident.pk}).status") == "on_scene"


def test_a_late_upgrade_answer_does_not_write_an_older_incident_status_back(
    browser_context, browser_login, live_server_url, dispatcher, chest_pain_crew
):
    crew, incident = chest_pain_crew
    services.incident_attach_call(
        user=dispatcher, incident=incident, chief_complaint="Not breathing", determinant="ECHO"
    )
    assignment = Assignment.objects.get(incident=incident)
    token = device_token(crew)
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    card = page.locator(f"#incident-list li[data-incident-id='{incident.pk}']")
    card.locator(".incident-status", has_text="Dispatched").wait_for(timeout=TIMEOUT_MS)
    card.click()
    upgrade = page.locator(".leaflet-popup button[data-incident-action='upgrade']")
    upgrade.wait_for(timeout=TIMEOUT_MS)

    held = []

    def hold(route):
        # The upgrade reaches the server; only its answer is held back.
        held.append((route, route.fetch()))

    page.route("**/upgrade/", hold)
    upgrade.click()
    for _ in range(60):
        if held:
            break
        page.wait_for_timeout(250)
    assert held, "the console never sent the upgrade"
    card.locator(".badge.prio", has_text="Echo").wait_for(timeout=TIMEOUT_MS)
    for status in ("en_route", "on_scene"):
        _call(
            live_server_url,
            "POST",
            f"/api/v1/assignments/{assignment.pk}/transition/",
            token,
            {"status": status},
        )
    card.locator(".incident-status", has_text="On scene").wait_for(timeout=TIMEOUT_MS)

    route, answer = held[0]
    with page.expect_response("**/upgrade/") as released:
        route.fulfill(response=answer)
    assert released.value.ok
    page.wait_for_timeout(500)
    assert card.locator(".incident-status").inner_text() == "On scene"
    assert card.locator(".badge.prio").inner_text().lower() == "echo"
    assert page.evaluate(f"window.GoldenHour.console.incident({incident.pk}).status") == "on_scene"
