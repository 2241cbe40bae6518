"""Every screen's ES modules load and start in a real browser with no script error.

A module that imports a name another module does not export, or a module evaluated before
one it needs, fails the whole screen at load; this catches it before a behaviour test does.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


def _errors(page) -> list[str]:
    """Uncaught errors and console errors; a refused map tile (the test blocks the internet)
    is a network message, not a script error. A missing module never gets the screen live."""
    errors: list[str] = []

    def console(msg) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", console)
    return errors


@pytest.mark.parametrize(
    ("who", "path"),
    [("dispatcher", "/dispatch/"), ("paramedic", "/dispatch/tablet/"), ("ed_nurse", "/ed/")],
)
def test_the_screen_starts_live_with_no_script_error(
    request, browser_context, browser_login, who, path
):
    user = request.getfixturevalue(who)
    page = browser_login(browser_context, user, path)
    errors = _errors(page)
    page.reload()
    try:
        page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    except PlaywrightTimeoutError:
        pytest.fail(f"{path} never went live; script errors: {errors}")
    assert errors == []
