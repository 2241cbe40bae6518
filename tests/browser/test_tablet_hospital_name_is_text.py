"""A hospital's name is shown on the tablet as text, never run as HTML (security issue 24,
item 13): with the page's Content-Security-Policy switched off, so only the page's own
escaping stands between a crafted name and the crew's screen."""

from __future__ import annotations

import re

import pytest

from dispatch.models import Assignment
from handoff.models import Hospital
from tests import factories
from tests.browser.conftest import VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000
EVIL = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def no_csp_context(browser, live_server_url):
    context = browser.new_context(
        viewport=VIEWPORT, base_url=live_server_url, locale="en-GB", bypass_csp=True
    )
    context.route(re.compile(r"^(?!" + re.escape(live_server_url) + r")"), lambda r: r.abort())
    yield context
    context.close()


def test_a_hospital_named_with_markup_shows_as_text_on_the_map_and_the_lists(
    no_csp_context, browser_login, chest_pain_crew
):
    crew, _incident = chest_pain_crew
    evil = factories.HospitalFactory(name=EVIL, lat=60.1850, lon=24.9300)
    # The unit is taking its patient there: the map marks the hospital with its name.
    Assignment.objects.filter(unit=crew.unit).update(destination=evil)
    tablet = browser_login(no_csp_context, crew, TABLET)
    tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)

    tooltip = tablet.locator(".leaflet-tooltip", has_text="onerror")
    tooltip.wait_for(timeout=TIMEOUT_MS)
    assert tooltip.inner_text() == EVIL
    assert tooltip.locator("img").count() == 0
    assert tablet.locator("#destination-name").inner_text() == EVIL

    tablet.click("#add-patient")
    tablet.locator(".patient-tab", has_text="GH-").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#tab-destination")
    option = tablet.locator("#dest-list .dest-option", has_text="onerror")
    option.wait_for(timeout=TIMEOUT_MS)
    assert EVIL in option.inner_text()
    assert tablet.locator("#tablet img, #record img").count() == 0

    # An image that failed to load would have run its handler by now.
    tablet.wait_for_timeout(500)
    assert tablet.evaluate("() => window.__xss") is None
    assert Hospital.objects.filter(name=EVIL).exists()
