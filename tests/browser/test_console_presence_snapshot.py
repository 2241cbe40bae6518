"""A console opened after a tablet connected shows that unit's tablet online from its first
snapshot (before, every unit read "offline" until the next presence event), and offline again
once the tablet goes away."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


def test_console_opened_after_the_tablet_shows_it_online(
    browser, browser_context, browser_login, live_server_url, dispatcher, chest_pain_crew
):
    crew, _incident = chest_pain_crew
    tablet_context = browser.new_context(
        viewport={"width": 800, "height": 1280}, base_url=live_server_url, locale="en-GB"
    )
    try:
        tablet = browser_login(tablet_context, crew, "/dispatch/tablet/")
        tablet.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)

        # Opened only now: no online event will come, the snapshot has to say it.
        console = browser_login(browser_context, dispatcher, "/dispatch/")
        console.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
        row = console.locator(f"#unit-list li[data-unit-id='{crew.unit_id}']")
        row.locator(".presence.online").wait_for(timeout=TIMEOUT_MS)
        others = console.locator("#unit-list li .presence.online")
        assert others.count() == 1

        tablet_context.close()
        row.locator(".presence.offline").wait_for(timeout=TIMEOUT_MS)
    finally:
        tablet_context.close()  # a second close is a no-op
