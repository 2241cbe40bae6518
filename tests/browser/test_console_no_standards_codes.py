"""No standards code (eTimes.03, eDisposition.20) is shown on the dispatcher's screens: the
console with an incident's popup and ranking open, and the response-time report."""

from __future__ import annotations

import re

import pytest

from dispatch import services
from dispatch.models import Assignment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
CODE = re.compile(r"\be(Times|Disposition|Situation|Vitals|Response)\.\d|\.\d\d \u2192")


def test_console_and_report_show_no_standards_codes(
    browser_context, browser_login, dispatcher, chest_pain_crew
):
    crew, incident = chest_pain_crew
    assignment = Assignment.objects.get(incident=incident)
    for status in ("en_route", "on_scene"):
        services.assignment_transition(user=crew, assignment_id=assignment.pk, to_status=status)
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    page.click(f"#incident-list li[data-incident-id='{incident.pk}']")
    page.locator(".leaflet-popup .incident-actions").wait_for(timeout=TIMEOUT_MS)
    page.locator("#rec-actions select.disposition").wait_for(timeout=TIMEOUT_MS)
    text = page.locator("body").inner_text()
    assert "Treated on scene" in text  # dispositions by their labels
    assert not CODE.search(text), CODE.search(text)

    page.goto("/dispatch/reports/")
    table = page.locator("#intervals")
    table.wait_for(timeout=TIMEOUT_MS)
    assert "call received \u2192 first unit alerted" in table.inner_text()
    text = page.locator("body").inner_text()
    assert not CODE.search(text), CODE.search(text)
