"""A new assignment alerts the crew: a banner, a Web Audio tone and vibration, once per
assignment per tablet; the crew can silence sound and vibration (kept in localStorage).

The assignment is made by the test process, whose channel layer does not reach daphne: the
tablet gets it the way a tablet out of coverage does, replayed when its link comes back.
The address and the road stop point travel with it.
"""

from __future__ import annotations

import pytest

from dispatch import services
from dispatch.models import Incident
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000


@pytest.fixture
def idle_crew(demo_units):
    return factories.CrewFactory(unit=demo_units[0])


def _assign_while_offline(context, page, dispatcher, make_incident, crew):
    context.set_offline(True)
    page.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    incident = make_incident(determinant="ECHO", chief_complaint="Not breathing")
    # The address as the dispatcher chose it, and the road point where to stop.
    Incident.objects.filter(pk=incident.pk).update(
        address="Kalevankatu 6", road_street="Kalevankatu", road_distance_m=7.0
    )
    services.assignments_create(user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id])
    context.set_offline(False)


def test_a_new_assignment_rings_once_and_shows_where_to_stop(
    browser_context, browser_login, idle_crew, dispatcher, make_incident
):
    page = browser_login(browser_context, idle_crew, TABLET)
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    page.click("#idle")  # a touch on the page unlocks audio, as on a real tablet
    _assign_while_offline(browser_context, page, dispatcher, make_incident, idle_crew)

    banner = page.locator("#alert-banner")
    banner.wait_for(timeout=TIMEOUT_MS)
    assert "New assignment: ECHO" in banner.inner_text()
    [alert] = page.evaluate("GoldenHour.tablet.alerts()")
    assert alert["kind"] == "assignment"
    assert alert["sound"] is True
    assert alert["muted"] is False
    assert page.locator("#address").inner_text() == "Kalevankatu 6"
    assert page.locator("#stop-point").inner_text() == "Stop: Kalevankatu · 7 m from the address"

    page.reload()
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    assert page.evaluate("GoldenHour.tablet.alerts()") == []
    page.click("#ack-button")
    banner.wait_for(state="hidden", timeout=TIMEOUT_MS)


def test_silenced_alerts_still_show_the_banner(
    browser_context, browser_login, idle_crew, dispatcher, make_incident
):
    page = browser_login(browser_context, idle_crew, TABLET)
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    page.uncheck("#alert-sound")
    assert page.locator("#alert-sound-state").inner_text() == "off"
    assert page.evaluate("localStorage.getItem('gh.alerts.muted')") == "true"
    page.reload()
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    assert not page.locator("#alert-sound").is_checked()
    _assign_while_offline(browser_context, page, dispatcher, make_incident, idle_crew)

    page.locator("#alert-banner").wait_for(timeout=TIMEOUT_MS)
    [alert] = page.evaluate("GoldenHour.tablet.alerts()")
    assert alert["muted"] is True
    assert alert["sound"] is False
    assert alert["vibrate"] is False
