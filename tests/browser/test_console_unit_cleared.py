"""The unit's badge on the console follows the crew to the end of the job: after Clear (through
the API or on the tablet) the list and the map marker read Available, not the Transporting
they showed on the way to the hospital, even when an answer to the dispatcher's own change by
hand, written before the Clear, arrives after it."""

from __future__ import annotations

import pytest

from dispatch import services
from dispatch.models import Assignment
from handoff.models import Hospital
from tests.browser.conftest import map_at_rest
from tests.browser.test_ed_board import _call
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


def test_unit_badge_reads_available_after_the_crew_clears(
    browser_context, browser_login, live_server_url, dispatcher, chest_pain_crew
):
    crew, incident = chest_pain_crew
    assignment = Assignment.objects.get(incident=incident)
    hospital_id = Hospital.objects.get().pk
    token = device_token(crew)
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    badge = page.locator(f"#unit-list li[data-unit-id='{crew.unit_id}'] .badge[class*='status-']")
    steps = [
        ("en_route", "En route"),
        ("on_scene", "On scene"),
        ("transporting", "Transporting"),
        ("at_destination", "At destination"),
    ]
    for status, label in steps:
        body = {"status": status}
        if status == "transporting":
            body["destination"] = hospital_id
        _call(
            live_server_url, "POST", f"/api/v1/assignments/{assignment.pk}/transition/", token, body
        )
        page.locator(
            f"#unit-list li[data-unit-id='{crew.unit_id}'] .badge.status-{status}",
            has_text=label,
        ).wait_for(timeout=TIMEOUT_MS)
    _call(
        live_server_url,
        "POST",
        f"/api/v1/assignments/{assignment.pk}/transition/",
        token,
        {"status": "cleared"},
    )
    page.locator(
        f"#unit-list li[data-unit-id='{crew.unit_id}'] .badge.status-available",
        has_text="Available",
    ).wait_for(timeout=TIMEOUT_MS)
    assert badge.count() == 1
    assert page.evaluate(f"window.GoldenHour.console.unit({crew.unit_id}).status") == "available"


def test_unit_badge_reads_available_after_clear_on_the_tablet(
    browser, browser_context, browser_login, live_server_url, dispatcher, chest_pain_crew
):
    crew, incident = chest_pain_crew
    assignment = Assignment.objects.get(incident=incident)
    hospital = Hospital.objects.get()
    for status in ("en_route", "on_scene"):
        services.assignment_transition(user=crew, assignment_id=assignment.pk, to_status=status)
    services.assignment_transition(
        user=crew, assignment_id=assignment.pk, to_status="transporting", destination_id=hospital.pk
    )
    console = browser_login(browser_context, dispatcher, "/dispatch/")
    console.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    row = console.locator(f"#unit-list li[data-unit-id='{crew.unit_id}']")
    row.locator(".badge.status-transporting").wait_for(timeout=TIMEOUT_MS)
    tablet_context = browser.new_context(
        viewport={"width": 800, "height": 1280}, base_url=live_server_url
    )
    try:
        tablet = browser_login(tablet_context, crew, "/dispatch/tablet/")
        tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
        tablet.click("#status-buttons button[data-to='at_destination']")
        row.locator(".badge.status-at_destination").wait_for(timeout=TIMEOUT_MS)
        tablet.click("#status-buttons button[data-to='cleared']")
        row.locator(".badge.status-available", has_text="Available").wait_for(timeout=TIMEOUT_MS)
    finally:
        tablet_context.close()
    assert "Transporting" not in row.inner_text()
    marker = console.evaluate(
        f"""(() => {{ const m = [...document.querySelectorAll('.unit-marker')]
          .find(n => n.textContent.trim() === {crew.unit.call_sign!r});
          return m ? m.className : null; }})()"""
    )
    assert marker is not None
    assert "is-available" in marker
    assert "is-transporting" not in marker


def test_a_position_answer_held_back_past_clear_does_not_bring_the_old_status_back(
    browser_context, browser_login, live_server_url, dispatcher, chest_pain_crew
):
    crew, incident = chest_pain_crew
    assignment = Assignment.objects.get(incident=incident)
    hospital = Hospital.objects.get()
    for status in ("en_route", "on_scene"):
        services.assignment_transition(user=crew, assignment_id=assignment.pk, to_status=status)
    services.assignment_transition(
        user=crew, assignment_id=assignment.pk, to_status="transporting", destination_id=hospital.pk
    )
    token = device_token(crew)
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    row = page.locator(f"#unit-list li[data-unit-id='{crew.unit_id}']")
    row.locator(".badge.status-transporting").wait_for(timeout=TIMEOUT_MS)

    # The dispatcher types the unit's position from a radio report; the answer (the unit as it
    # was then, transporting) is held back while the crew reaches the ED and clears.
    row.click()
    popup = page.locator(f".unit-popup[data-unit-id='{crew.unit_id}']")
    popup.wait_for(timeout=TIMEOUT_MS)
    map_at_rest(page)
    popup.locator(".unit-position-text").fill("60.17000, 24.94000")
    held = []
    page.route("**/position/", lambda route: held.append((route, route.fetch())))
    popup.locator("button[data-action=type-position]").click()
    for _ in range(60):
        if held:
            break
        page.wait_for_timeout(250)
    assert held, "the console never sent the position"
    for status in ("at_destination", "cleared"):
        _call(
            live_server_url,
            "POST",
            f"/api/v1/assignments/{assignment.pk}/transition/",
            token,
            {"status": status},
        )
    row.locator(".badge.status-available").wait_for(timeout=TIMEOUT_MS)
    route, answer = held[0]
    assert answer.json()["status"] == "transporting"
    with page.expect_response("**/position/") as released:
        route.fulfill(response=answer)
    assert released.value.ok
    page.wait_for_timeout(500)
    assert row.locator(".badge[class*='status-']").first.inner_text().lower() == "available"
    assert page.evaluate(f"window.GoldenHour.console.unit({crew.unit_id}).status") == "available"
    # The position itself still reaches the map (its own event follows on the socket).
    unit = page.evaluate(f"window.GoldenHour.console.unit({crew.unit_id})")
    assert unit["position_source"] == "manual"
    assert (round(unit["lat"], 4), round(unit["lon"], 4)) == (60.17, 24.94)
