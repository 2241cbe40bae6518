"""The crew tablet keeps working offline: a status pressed without a link is kept, then sent
once when the link is back, and the server applies it exactly once."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from dispatch import services
from dispatch.models import Assignment
from realtime.models import DeviceItem
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
ACCESS_NOTES = "Gate code 4711 · staircase B, 3rd floor"
TIMEOUT_MS = 15_000
# Screens to look at after a run (the landscape one is the reference picture of the tablet).
SHOTS = Path(tempfile.gettempdir())


@pytest.fixture
def dispatched(demo_units, make_incident, dispatcher):
    unit = demo_units[0]
    crew = factories.CrewFactory(unit=unit)
    factories.HospitalFactory(name="Meilahti Tower Hospital")
    factories.HospitalFactory(name="Töölö Hospital")
    incident = make_incident(
        determinant="DELTA",
        chief_complaint="Chest pain, 58-year-old male",
        access_notes=ACCESS_NOTES,
    )
    return crew, incident


def test_status_pressed_offline_is_sent_once_when_back_online(
    browser_context, browser_login, dispatched, dispatcher
):
    crew, incident = dispatched
    page = browser_login(browser_context, crew, TABLET)
    page.get_by_text("Available — waiting for assignment").wait_for(timeout=TIMEOUT_MS)
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)

    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    # The test process and daphne share no channel layer, so the live event cannot reach the
    # page; a reload reconnects from the page's state at the stream head, as after a crash.
    page.reload()
    page.locator("#access-notes", has_text=ACCESS_NOTES).wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#determinant").inner_text() == "DELTA"
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)

    browser_context.set_offline(True)
    page.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    page.click("#status-buttons button[data-to='en_route']")
    page.locator("#outbox-state", has_text="1 item waiting to send").wait_for(timeout=TIMEOUT_MS)
    page.locator("#status-buttons button[data-to='en_route']", has_text="sending").wait_for(
        timeout=TIMEOUT_MS
    )
    page.screenshot(path=SHOTS / "tablet-offline.png")
    # Nothing left the tablet: the server still has the assignment as dispatched.
    assignment.refresh_from_db()
    assert assignment.status == "dispatched"
    assert not DeviceItem.objects.filter(type="status").exists()

    browser_context.set_offline(False)
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    page.locator("#status-buttons button[data-to='on_scene']").wait_for(timeout=TIMEOUT_MS)

    assignment = Assignment.objects.get(pk=assignment.pk)
    assert assignment.status == "en_route"
    items = [
        item
        for item in DeviceItem.objects.filter(type="status")
        if item.outcome.get("assignment_id") == assignment.pk
    ]
    assert len(items) == 1
    assert items[0].accepted
    assert items[0].outcome["status"] == "en_route"
    page.screenshot(path=SHOTS / "tablet.png", full_page=True)


def test_transport_needs_a_destination_hospital(
    browser_context, browser_login, dispatched, dispatcher
):
    crew, incident = dispatched
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    page = browser_login(browser_context, crew, TABLET)
    page.set_viewport_size({"width": 800, "height": 1280})
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    page.click("#ack-button")
    page.locator("#ack-button").wait_for(state="hidden", timeout=TIMEOUT_MS)
    page.click("#status-buttons button[data-to='en_route']")
    page.click("#status-buttons button[data-to='on_scene']", timeout=TIMEOUT_MS)

    transporting = page.locator("#status-buttons button[data-to='transporting']")
    transporting.wait_for(timeout=TIMEOUT_MS)
    assert transporting.is_disabled()
    page.select_option("#destination", label="Töölö Hospital")
    assert page.locator("#status-buttons button[data-to='transporting']").is_enabled()
    page.screenshot(path=SHOTS / "tablet-portrait.png", full_page=True)
    page.click("#status-buttons button[data-to='transporting']")
    page.locator("#status-buttons button[data-to='at_destination']").wait_for(timeout=TIMEOUT_MS)
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)

    assignment = Assignment.objects.select_related("destination").get(pk=assignment.pk)
    assert assignment.status == "transporting"
    assert assignment.acknowledged_at is not None
    assert assignment.destination.name == "Töölö Hospital"
    assert page.locator("#destination-name").inner_text() == "Töölö Hospital"


def test_a_step_refused_by_the_server_is_shown_with_its_reason_and_not_retried(
    browser_context, browser_login, dispatched, dispatcher
):
    crew, incident = dispatched
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    page = browser_login(browser_context, crew, TABLET)
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    browser_context.set_offline(True)
    page.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    page.click("#status-buttons button[data-to='en_route']")
    page.locator("#outbox-state", has_text="1 item waiting to send").wait_for(timeout=TIMEOUT_MS)
    # Meanwhile the dispatcher stands the unit down.
    services.assignment_transition(
        user=dispatcher, assignment_id=assignment.pk, to_status="cancelled", note="stood down"
    )

    browser_context.set_offline(False)
    rejection = page.locator("#rejections .rejection")
    rejection.wait_for(timeout=TIMEOUT_MS)
    assert "Not accepted: En route." in rejection.inner_text()
    assert "cancelled" in rejection.inner_text()
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    [item] = DeviceItem.objects.filter(type="status")
    assert not item.accepted
    assert item.outcome["type"] == "reject"

    page.reload()
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Available — waiting for assignment").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#rejections .rejection").count() == 1
    page.click("#rejections button")
    assert page.locator("#rejections .rejection").count() == 0
    assert DeviceItem.objects.filter(type="status").count() == 1
