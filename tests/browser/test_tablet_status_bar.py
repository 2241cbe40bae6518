"""The tablet's status buttons stay in reach however long the patient record grows, times are
24-hour whatever the browser's locale, and no standards code (eDisposition.20, eVitals.10)
is shown to the crew.

The browser runs in en-US, whose default time format is "02:05 PM": the tablet must still
say "14:05".
"""

from __future__ import annotations

import re

import pytest

from dispatch import services
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000
SETS = 12
CODE = re.compile(r"\be(Disposition|Vitals|Times|Situation|Medications|Procedures)\.\d")


@pytest.fixture
def on_scene(demo_units, make_incident, dispatcher):
    crew = factories.CrewFactory(unit=demo_units[0])
    factories.HospitalFactory(name="Töölö Hospital", lat=60.1803, lon=24.9238)
    incident = make_incident(determinant="DELTA", chief_complaint="Breathing problems")
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    for status in ("en_route", "on_scene"):
        services.assignment_transition(user=crew, assignment_id=assignment.pk, to_status=status)
    return crew


def _in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None
    assert size is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 0.5


def test_status_buttons_stay_in_reach_under_a_long_record_with_24_hour_times_and_no_codes(
    browser, live_server_url, browser_login, on_scene
):
    context = browser.new_context(
        viewport={"width": 800, "height": 1280}, base_url=live_server_url, locale="en-US"
    )
    try:
        crew = on_scene
        page = browser_login(context, crew, TABLET)
        page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
        page.click("#add-patient")
        page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
        for n in range(SETS):
            page.fill("[data-vital-input='heart_rate']", str(80 + n))
            page.fill("[data-vital-input='respiratory_rate']", str(14 + n % 5))
            # A set taken in the afternoon: 24-hour, typed as text.
            page.fill("#taken-at", f"{13 + n % 2}:{10 + n:02d}")
            page.click("#save-vitals")
        page.locator("#vitals-history tbody tr", has_text="✓ saved").nth(SETS - 1).wait_for(
            timeout=TIMEOUT_MS
        )
        for pane in ("treatment", "patient", "destination", "ed", "vitals"):
            page.click(f"#tab-{pane}")
            page.mouse.wheel(0, 20_000)
            page.wait_for_timeout(150)
            assert page.evaluate("document.documentElement.scrollHeight") > 1280 * 1.5 or (
                pane != "vitals"
            )
            text = page.locator("body").inner_text()
            assert not CODE.search(text), f"standards code shown on the {pane} pane"
            assert not re.search(r"\b(AM|PM)\b", text), f"12-hour time on the {pane} pane"
            # Scrolled to the very bottom, the status buttons are still on the screen.
            assert _in_viewport(page, "#status-buttons button[data-to='transporting']")
            assert _in_viewport(page, "#status-buttons button[data-to='cleared']")

        times = page.locator("#vitals-history tbody tr td:first-child").all_inner_texts()
        assert len(times) == SETS
        assert all(re.fullmatch(r"1[34]:\d\d", t) for t in times), times
        assert "14:21" in times
        # Still a working button at the bottom of a long page: clear needs a second tap.
        page.click("#status-buttons button[data-to='cleared']")
        page.locator("#status-buttons button[data-to='cleared']", has_text="Tap again").wait_for(
            timeout=TIMEOUT_MS
        )
    finally:
        context.close()
