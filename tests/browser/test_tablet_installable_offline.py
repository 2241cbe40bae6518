"""The crew tablet is an installable web app that reloads with no network and keeps its outbox.

A service worker (served at /dispatch/tablet/sw.js) keeps the page and its files; vitals
recorded offline survive a reload with no network and are sent, and stored, once when the
link is back. An offline reload shows the newest assignment the tablet knew, not the one the
saved copy of the page was rendered with.
"""

from __future__ import annotations

import pytest

from dispatch import services as dispatch_services
from dispatch.models import Assignment
from handoff.models import Encounter, VitalsSet
from realtime.models import DeviceItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000


@pytest.fixture
def scene(chest_pain_crew):
    return chest_pain_crew


def test_the_tablet_reloads_offline_and_sends_its_queued_vitals_once(
    browser_context, browser_login, scene
):
    crew, _incident = scene
    tablet = browser_login(browser_context, crew, TABLET)
    tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#record").wait_for(timeout=TIMEOUT_MS)
    manifest = tablet.evaluate(
        "() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
    )
    assert manifest["start_url"] == TABLET
    assert manifest["display"] == "standalone"
    tablet.wait_for_function(
        "() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS
    )

    browser_context.set_offline(True)
    tablet.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#add-patient")
    tablet.fill("[data-vital-input='heart_rate']", "88")
    tablet.fill("[data-vital-input='respiratory_rate']", "16")
    tablet.click("#save-vitals")
    tablet.locator("#outbox-state", has_text="2 items waiting to send").wait_for(timeout=TIMEOUT_MS)

    tablet.reload()
    # Served by the service worker: the crew screen, its assignment and the queue are back.
    tablet.locator("#complaint", has_text="Chest pain").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#outbox-state", has_text="2 items waiting to send").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#tab-vitals")
    tablet.locator("#vitals-history tr.set-pending").wait_for(timeout=TIMEOUT_MS)
    assert tablet.evaluate("() => typeof L") == "object"  # Leaflet came from the cache
    assert not Encounter.objects.exists()

    browser_context.set_offline(False)
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    [encounter] = Encounter.objects.all()
    [vitals] = VitalsSet.objects.filter(encounter=encounter)
    assert vitals.heart_rate == 88
    assert DeviceItem.objects.filter(type="encounter").count() == 1
    assert DeviceItem.objects.filter(type="vitals").count() == 1


def test_an_offline_reload_shows_the_newest_assignment_not_the_saved_pages(
    browser_context, browser_login, scene, make_incident, dispatcher
):
    crew, _incident = scene
    tablet = browser_login(browser_context, crew, TABLET)
    tablet.locator("#complaint", has_text="Chest pain").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    # The worker has saved the page as it was rendered: with the chest pain call.
    tablet.wait_for_function(
        "() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS
    )

    # The unit is stood down and sent to another call while the page stays open.
    first = Assignment.objects.get(unit=crew.unit)
    dispatch_services.assignment_transition(
        user=dispatcher, assignment_id=first.pk, to_status="cancelled", note="stood down"
    )
    fall = make_incident(determinant="CHARLIE", chief_complaint="Fall, hip pain, 84-year-old")
    dispatch_services.assignments_create(
        user=dispatcher, incident_id=fall.pk, unit_ids=[crew.unit_id]
    )
    # The test process shares no channel layer with the server: a reconnect replays them.
    browser_context.set_offline(True)
    tablet.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    browser_context.set_offline(False)
    tablet.locator("#complaint", has_text="Fall, hip pain").wait_for(timeout=TIMEOUT_MS)

    browser_context.set_offline(True)
    tablet.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    tablet.reload()
    tablet.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#complaint", has_text="Fall, hip pain").wait_for(timeout=TIMEOUT_MS)
    assert tablet.locator("#determinant").inner_text() == "CHARLIE"
    assert "Chest pain" not in tablet.locator("#assignment").inner_text()
    # It really was the saved copy, rendered with the old call.
    saved = tablet.evaluate("() => document.getElementById('tablet-initial').textContent")
    assert "Chest pain" in saved
