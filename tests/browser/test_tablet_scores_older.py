"""The tablet never shows a NEWS2 computed from older vitals as if it were current.

A set recorded after the last scored one (here offline, so still sending) makes the scores
older than the signs on screen: the score panel and the ATMIST card say which vitals the
score is from, with their time; once the server scores the new set the note goes away.
"""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000


@pytest.fixture
def scene(chest_pain_crew):
    return chest_pain_crew[0]


def test_a_score_from_older_vitals_is_marked_older_with_its_time(
    browser_context, browser_login, scene
):
    tablet = browser_login(browser_context, scene, TABLET)
    tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#record").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#add-patient")
    tablet.locator(".patient-tab", has_text="GH-").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#tab-vitals")
    tablet.fill("[data-vital-input='heart_rate']", "88")
    tablet.fill("[data-vital-input='respiratory_rate']", "16")
    tablet.click("#save-vitals")
    tablet.locator("#news2").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    assert tablet.locator("#scores-older").count() == 0
    tablet.click("#tab-patient")
    assert "from vitals at" not in tablet.locator("#atmist").inner_text()
    first_at = tablet.locator("#vitals-history tbody tr").first.locator("td").first.inner_text()

    browser_context.set_offline(True)
    tablet.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#tab-vitals")
    tablet.fill("[data-vital-input='heart_rate']", "132")
    tablet.click("#save-vitals")
    older = tablet.locator("#scores-older")
    older.wait_for(timeout=TIMEOUT_MS)
    assert re.search(r"Scores from vitals at \d\d:\d\d", older.inner_text())
    assert f"at {first_at}" in older.inner_text()
    assert "still sending" in older.inner_text()
    assert "older" in (tablet.locator("#news2").get_attribute("class") or "")
    tablet.click("#tab-patient")
    signs = tablet.locator("#atmist").inner_text()
    assert "HR 132" in signs
    assert f"from vitals at {first_at} (older than these signs)" in signs

    browser_context.set_offline(False)
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    older.wait_for(state="detached", timeout=TIMEOUT_MS)
    assert "older" not in (tablet.locator("#news2").get_attribute("class") or "")
    assert "from vitals at" not in tablet.locator("#atmist").inner_text()
