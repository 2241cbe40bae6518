"""A pre-arrival message the hospital's system rejects is shown to the crew and the dispatcher.

The crew chooses Töölö Hospital on the tablet; the live server sends ADT^A05 to the
hospital's MLLP receiver (a fake one on 127.0.0.1 started here) which answers AE with an ERR
segment. The tablet record shows "Hospital system rejected the pre-arrival message: <reason>"
and the console the same on the incident, with no patient data; both again after a reload,
and both clear live once a later message is accepted.
"""

from __future__ import annotations

import pytest

from handoff.models import Hospital
from outbox.models import OutboxTask
from tests.handoff.interop.test_delivery import mllp_receiver as mllp_receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000
REASON = "PID-3 authority GOLDEN_HOUR unknown & not mapped"
SHOWN = f"Hospital system rejected the pre-arrival message: {REASON}"


def test_a_rejected_a05_shows_on_the_tablet_and_the_console(
    browser, live_server_url, browser_context, browser_login, dispatcher, chest_pain_crew,
    mllp_receiver,
):  # fmt: skip
    crew, incident = chest_pain_crew
    port, receiver = mllp_receiver
    receiver.answer = "AE"
    receiver.error_text = REASON.replace("&", "\\T\\")
    Hospital.objects.filter(name="Töölö Hospital").update(
        hl7_host="127.0.0.1", hl7_port=port, hl7_receiving_application="HIS_ADT"
    )

    console = browser_login(browser_context, dispatcher, "/dispatch/")
    console.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    tablet_context = browser.new_context(
        viewport={"width": 800, "height": 1280}, base_url=live_server_url, locale="en-GB"
    )
    try:
        tablet = browser_login(tablet_context, crew, TABLET)
        tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
        tablet.locator("#record").wait_for(timeout=TIMEOUT_MS)
        tablet.click("#add-patient")
        tablet.locator(".patient-tab", has_text="GH-").wait_for(timeout=TIMEOUT_MS)
        tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
        tablet.click("#tab-destination")
        tablet.click("#dest-list .dest-option:has-text('Töölö Hospital')")
        tablet.select_option("#dest-reason", "closest")
        tablet.click("#dest-send")

        banner = tablet.locator("#delivery-failed")
        banner.wait_for(timeout=TIMEOUT_MS)
        assert SHOWN in banner.inner_text()
        assert "Töölö Hospital" in banner.inner_text()

        row = console.locator(f"#incident-list li[data-incident-id='{incident.pk}']")
        badge = row.locator(".delivery-failed", has_text="Delivery rejected: Töölö Hospital")
        badge.wait_for(timeout=TIMEOUT_MS)
        assert SHOWN in (badge.get_attribute("title") or "")
        alert = console.locator(f"#delivery-alerts li[data-incident-id='{incident.pk}']")
        alert.wait_for(timeout=TIMEOUT_MS)
        assert SHOWN in alert.inner_text()
        assert crew.unit.call_sign in alert.inner_text()
        assert "GH-" not in alert.inner_text()  # no patient identifier for the dispatcher

        # The delivery ended failed after one attempt: the receiver saw one message.
        (task,) = OutboxTask.objects.filter(kind="handoff.hl7")
        assert (task.status, task.attempts) == (OutboxTask.Status.FAILED, 1)
        assert len(receiver.received) == 1

        tablet.reload()
        tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
        tablet.locator("#delivery-failed", has_text=SHOWN).wait_for(timeout=TIMEOUT_MS)
        console.reload()
        console.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
        badge.wait_for(timeout=TIMEOUT_MS)
        alert.wait_for(timeout=TIMEOUT_MS)

        # The hospital's system takes the next message (an A08 for the crew's update): the
        # warning goes from both screens at once, with no reload.
        receiver.answer, receiver.error_text = "AA", ""
        tablet.click("#tab-patient")
        tablet.fill("#p-impression", "Suspected ACS")
        tablet.click("#save-patient")
        tablet.locator("#delivery-failed").wait_for(state="hidden", timeout=TIMEOUT_MS)
        badge.wait_for(state="detached", timeout=TIMEOUT_MS)
        alert.wait_for(state="detached", timeout=TIMEOUT_MS)
        console.locator("#delivery-section").wait_for(state="hidden", timeout=TIMEOUT_MS)
    finally:
        tablet_context.close()
