"""The console's "Ringing" panel: a call the telephony system rings (REST, its centre's
token) appears with a live age, a partner's call rolled over is marked so, and Answer opens
the intake form with the caller's number, the complaint field focused."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import QueuedCall
from tests import factories
from tests.browser.server import post_json

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
PHONE = "+358 40 765 4321"


def test_a_ringing_call_is_answered_into_the_intake_form(
    browser_context, browser_login, live_server_url, dispatcher, centre
):
    partner = factories.DispatchCentreFactory(name="Partner Centre")
    rolled = QueuedCall.objects.create(
        centre=partner,
        caller_phone="+358 50 111 2222",
        received_at=timezone.now(),
        offered_to=centre,
        offered_at=timezone.now(),
    )
    token = services.telephony_token_issue(centre=centre, label="browser test")
    console = browser_login(browser_context, dispatcher, "/dispatch/")
    console.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
    rolled_row = console.locator(f"#call-queue-list li[data-call-id='{rolled.pk}']")
    rolled_row.locator(".queued-call-from").wait_for(timeout=TIMEOUT_MS)
    assert rolled_row.locator(".queued-call-from").text_content() == (
        "Rolled over from Partner Centre"
    )

    call = post_json(
        live_server_url,
        "/api/v1/call-queue/",
        token,
        {"caller_phone": PHONE, "line": "trunk-2"},
        scheme="Bearer",
    )
    row = console.locator(f"#call-queue-list li[data-call-id='{call['id']}']")
    row.wait_for(timeout=TIMEOUT_MS)
    assert row.locator(".queued-call-phone").text_content() == PHONE
    assert row.locator(".queued-call-from").count() == 0
    # Oldest first: the rolled-over call came in before.
    ids = console.locator("#call-queue-list li").evaluate_all(
        "nodes => nodes.map(n => n.dataset.callId)"
    )
    assert ids == [str(rolled.pk), str(call["id"])]
    first_age = row.locator(".queued-call-age").text_content()
    console.wait_for_function(
        "([id, before]) => document.querySelector(`#call-queue-list li[data-call-id='${id}'] "
        ".queued-call-age`).textContent !== before",
        arg=[call["id"], first_age],
        timeout=TIMEOUT_MS,
    )

    row.locator("button:has-text('Answer')").click()
    console.wait_for_function(
        "phone => document.getElementById('caller_phone').value === phone",
        arg=PHONE,
        timeout=TIMEOUT_MS,
    )
    assert console.evaluate("document.activeElement.id") == "chief_complaint"
    assert console.input_value("#queued_call") == str(call["id"])
    row.wait_for(state="detached", timeout=TIMEOUT_MS)
    answered = QueuedCall.objects.get(pk=call["id"])
    assert answered.status == "answered"
    assert answered.answered_by_id == dispatcher.pk
