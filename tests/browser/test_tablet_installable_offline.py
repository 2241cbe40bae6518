"""The crew tablet is an installable web app that reloads with no network and keeps its outbox.

A service worker (served at /dispatch/tablet/sw.js) keeps the page and its files; vitals
recorded offline survive a reload with no network and are sent, and stored, once when the
link is back.
"""

from __future__ import annotations

import pytest

from config.models import DeviceItem
from handoff.models import Encounter, VitalsSet

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
