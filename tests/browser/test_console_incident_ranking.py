"""Act on any incident at any time: selecting an open incident on the console shows its ranked
units and its actions again, and the ranking follows the units live while it is shown."""

from __future__ import annotations

import pytest

from dispatch.models import Incident
from tests.browser.test_ed_board import _call
from tests.dispatch.conftest import SENATE_SQUARE
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
OFFERED = "#recommendations li.rec:not(.excluded)"


def _open_console(browser_context, browser_login, dispatcher):
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    return page


def _offered_ids(page) -> list[int]:
    return [
        int(i)
        for i in page.locator(OFFERED).evaluate_all("rows => rows.map(r => r.dataset.unitId)")
    ]


def test_selected_incident_is_reranked_live_when_a_unit_moves_closer(
    browser_context, browser_login, live_server_url, dispatcher, demo_units, make_incident
):
    incident = make_incident(determinant="BRAVO", chief_complaint="Fall, hip pain")
    token = device_token(dispatcher)
    page = _open_console(browser_context, browser_login, dispatcher)
    page.click(f"#incident-list li[data-incident-id='{incident.pk}']")
    page.locator(OFFERED).nth(1).wait_for(timeout=TIMEOUT_MS)
    assert f"#{incident.pk}" in page.locator("#rec-incident").inner_text()
    page.locator("#rec-actions button[data-incident-action='close']").wait_for(timeout=TIMEOUT_MS)
    before = _offered_ids(page)
    farthest, nearest = before[-1], before[0]
    # The dispatcher picks a row (its route shows); the re-ranking must keep that choice.
    page.click(f"{OFFERED}[data-unit-id='{nearest}'] .rec-label")
    assert "chosen" in page.locator(f"{OFFERED}[data-unit-id='{nearest}']").get_attribute("class")

    # A radio report puts the farthest unit at the scene: no click on the console after this.
    _call(
        live_server_url,
        "POST",
        f"/api/v1/units/{farthest}/position/",
        token,
        {"lat": SENATE_SQUARE[0], "lon": SENATE_SQUARE[1]},
    )
    for _ in range(40):
        if _offered_ids(page)[:1] == [farthest]:
            break
        page.wait_for_timeout(250)
    after = _offered_ids(page)
    assert after[0] == farthest, (before, after)
    assert sorted(after) == sorted(before)
    row = page.locator(f"{OFFERED}[data-unit-id='{nearest}']")
    assert "chosen" in row.get_attribute("class")
    assert page.locator("#recommendations li.rec.chosen").count() == 1

    # Adding a unit from the ranking: once sent, the ranking goes on following (the unit sent
    # is shown busy), with no click.
    page.click(f"{OFFERED}[data-unit-id='{farthest}'] button.dispatch")
    page.wait_for_selector("#intake-result:has-text('dispatched')", timeout=TIMEOUT_MS)
    page.locator(f"#recommendations li.rec.excluded[data-unit-id='{farthest}']").wait_for(
        timeout=TIMEOUT_MS
    )
    page.locator("#rec-actions .assignment-actions button[data-incident-action='cancel']").wait_for(
        timeout=TIMEOUT_MS
    )


def test_selected_incident_is_closed_from_the_panel_with_a_disposition(
    browser_context, browser_login, dispatcher, chest_pain_crew
):
    _crew, incident = chest_pain_crew
    page = _open_console(browser_context, browser_login, dispatcher)
    page.click(f"#incident-list li[data-incident-id='{incident.pk}']")
    actions = page.locator("#rec-actions")
    # The dispatched unit can be cancelled or replaced from here too.
    actions.locator(".assignment-actions button[data-incident-action='cancel']").wait_for(
        timeout=TIMEOUT_MS
    )
    assert actions.locator("button[data-incident-action='replace']").count() == 1
    actions.locator("select.disposition").select_option("cancelled")
    actions.locator("button[data-incident-action='close']").click()
    page.locator("#rec-incident", has_text="closed").wait_for(timeout=TIMEOUT_MS)
    assert Incident.objects.get(pk=incident.pk).status == "cancelled"
    assert page.locator(f"#incident-list li[data-incident-id='{incident.pk}']").count() == 0
    assert page.locator("#recommendations li.rec").count() == 0
