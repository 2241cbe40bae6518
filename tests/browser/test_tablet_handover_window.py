"""The tablet keeps a patient under "Handovers to confirm" after "Clear" for the server's
CREW_HANDOVER_MINUTES_AFTER_CLEAR, not a fixed hour: this module's server runs with 3 minutes.
"""

from __future__ import annotations

import pytest

from tests.services import processes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000
WINDOW_MINUTES = 3


@pytest.fixture(scope="module")
def live_server_url(django_db_setup, django_db_blocker, built_map_dir):
    """Its own daphne, with a handover window other than the default 60 minutes."""
    with django_db_blocker.unblock():
        env = processes.child_env(
            MAP_CACHE_DIR=str(built_map_dir),
            CREW_HANDOVER_MINUTES_AFTER_CLEAR=str(WINDOW_MINUTES),
        )
    with processes.daphne(env) as port:
        yield f"http://127.0.0.1:{port}"


def test_the_handover_to_confirm_stays_for_the_servers_window_after_clear(
    browser_context, browser_login, transporting
):
    crew, _nurse, _encounter = transporting
    tablet = browser_login(browser_context, crew, TABLET)
    tablet.clock.install()
    tablet.reload()
    tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#status-buttons button[data-to='at_destination']", timeout=TIMEOUT_MS)
    tablet.locator("#ed-ack-box .handover-confirm").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#status-buttons button[data-to='cleared']", timeout=TIMEOUT_MS)
    pending = tablet.locator("#handover-pending .handover-confirm")
    pending.wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)

    tablet.clock.run_for((WINDOW_MINUTES - 1) * 60_000)
    assert pending.is_visible()
    # Past the server's window (far inside the old fixed hour) the control is gone.
    tablet.clock.run_for(2 * 60_000)
    pending.wait_for(state="detached", timeout=TIMEOUT_MS)
    assert tablet.locator("#handover-pending").is_hidden()
