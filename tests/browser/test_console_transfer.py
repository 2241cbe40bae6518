"""Jurisdiction by area on two consoles: a call the south takes in the north's area is
proposed there, the north's console shows it live (what and where, not who called) and
accepts, and the incident leaves the south's list for the north's."""

from __future__ import annotations

import pytest

from demo.data import area_box
from dispatch.models import Incident
from tests import factories
from tests.browser.conftest import console_page
from tests.browser.test_ed_board import _call
from tests.dispatch.conftest import HAKANIEMI
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


def test_a_call_in_the_neighbours_area_is_accepted_there_and_moves(
    browser_context, second_context, browser_login, live_server_url, centre, dispatcher
):
    centre.area = area_box(60.10, 24.80, 60.1745, 25.10)
    centre.save()
    north = factories.DispatchCentreFactory(
        name="North EMD", area=area_box(60.1745, 24.80, 60.30, 25.10)
    )
    north_dispatcher = factories.DispatcherFactory(dispatch_centre=north)
    south_page = console_page(browser_context, browser_login, dispatcher)
    north_page = console_page(second_context, browser_login, north_dispatcher)

    # The south takes the call (through the server, so both consoles hear it live).
    incident = _call(
        live_server_url,
        "POST",
        "/api/v1/incidents/",
        device_token(dispatcher),
        {
            "caller_name": "Ilmari Soittaja",
            "caller_phone": "+358401112233",
            "chief_complaint": "chest pain, sweating",
            "determinant": "DELTA",
            "location": {"source": "map", "lat": HAKANIEMI[0], "lon": HAKANIEMI[1]},
            "allow_duplicate": True,
        },
    )
    row = south_page.locator(f"#incident-list li[data-incident-id='{incident['id']}']")
    row.locator(".transfer-proposed:has-text('North EMD')").wait_for(timeout=TIMEOUT_MS)
    outgoing = south_page.locator(
        f"#transfer-list li.transfer-out[data-incident-id='{incident['id']}']"
    )
    outgoing.wait_for(timeout=TIMEOUT_MS)
    assert "Waiting for North EMD" in outgoing.inner_text()

    proposal = north_page.locator(
        f"#transfer-list li.transfer-in[data-incident-id='{incident['id']}']"
    )
    proposal.wait_for(timeout=TIMEOUT_MS)
    text = proposal.inner_text()
    assert "chest pain, sweating" in text
    assert "Ilmari" not in north_page.content()
    assert "+358401112233" not in north_page.content()
    assert north_page.locator("#incident-list li").count() == 0

    # Refusing needs a reason; accepting moves the incident.
    proposal.locator("button[data-transfer-action='refuse']").click()
    north_page.wait_for_selector("#transfer-list :text('Say why the transfer is refused.')")
    proposal.locator("button[data-transfer-action='accept']").click()
    north_page.locator(f"#incident-list li[data-incident-id='{incident['id']}']").wait_for(
        timeout=TIMEOUT_MS
    )
    north_page.wait_for_selector(
        f"#transfer-list :text('Incident #{incident['id']} is now yours.')"
    )
    south_page.locator(f"#incident-list li[data-incident-id='{incident['id']}']").wait_for(
        state="detached", timeout=TIMEOUT_MS
    )
    south_page.wait_for_selector("#transfer-list :text('transfer accepted')", timeout=TIMEOUT_MS)
    assert Incident.objects.get(pk=incident["id"]).centre == north
