"""Safety defect 3 in the browser: with every unit's position stale the incident still
dispatches, and a unit the ranking excludes is sent after one confirmation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from dispatch.models import Assignment, Unit
from tests.dispatch.conftest import SENATE_SQUARE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _every_unit_stale(units, minutes=10):
    for unit in units:
        unit.last_lat, unit.last_lon = unit.home_station.lat, unit.home_station.lon
        unit.last_fix_at = timezone.now() - timedelta(minutes=minutes)
        unit.position_stale = True
        unit.save()


def _new_call(page, complaint, priority):
    page.wait_for_selector("#connection:has-text('Live')", timeout=15000)
    page.fill("#chief_complaint", complaint)
    page.select_option("#priority", priority)
    page.fill("#location_text", "Senate Square")
    page.evaluate(
        "([lat, lon]) => { document.getElementById('location_lat').value = lat;"
        " document.getElementById('location_lon').value = lon; }",
        list(SENATE_SQUARE),
    )
    page.click("#intake-form button[type=submit]")


def test_every_unit_stale_still_dispatches(browser_context, browser_login, dispatcher, demo_units):
    _every_unit_stale(demo_units)
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    _new_call(page, "Fall, hip pain", "CHARLIE")
    offered = page.locator("#recommendations li.rec:not(.excluded)")
    offered.first.wait_for(timeout=20000)
    assert offered.count() == 3
    assert "position 10 min old" in offered.first.inner_text()
    assert page.locator("#recommendations li.rec.excluded").count() == 0
    unit_id = int(offered.first.get_attribute("data-unit-id"))
    offered.first.locator("button.dispatch").click()
    page.wait_for_selector("#intake-result:has-text('dispatched')", timeout=15000)
    assignment = Assignment.objects.get(unit_id=unit_id)
    assert assignment.override_reason == ""
    assert Unit.objects.get(pk=unit_id).status == "dispatched"


def test_an_excluded_unit_is_sent_anyway_after_one_confirmation(
    browser_context, browser_login, dispatcher, demo_units
):
    bls = demo_units[1]
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    _new_call(page, "Chest pain, sweating", "DELTA")
    row = page.locator(f"#recommendations li.rec.excluded[data-unit-id='{bls.pk}']")
    row.wait_for(timeout=20000)
    assert "Delta needs an ALS unit" in row.inner_text()
    button = row.locator("button.dispatch-anyway")
    button.click()
    # The first click only asks; nothing is sent yet.
    assert "Confirm" in button.inner_text()
    page.wait_for_timeout(500)
    assert not Assignment.objects.filter(unit=bls).exists()
    button.click()
    page.wait_for_selector("#intake-result:has-text('sent anyway')", timeout=15000)
    assignment = Assignment.objects.get(unit=bls)
    assert assignment.override_reason == "Delta needs an ALS unit"
    event = AuditEvent.objects.get(action="dispatch_override")
    assert event.object_id == str(assignment.pk)
