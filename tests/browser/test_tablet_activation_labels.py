"""A proposed team activation reads in words on the tablet: its kind's label and a reason that
names the inputs as the vocabulary does ("systolic blood pressure"), never a field key such as
"systolic_bp" or "on_oxygen"."""

from __future__ import annotations

import re

import pytest

from handoff.models import TeamActivation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000
SNAKE_CASE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


def test_a_deterioration_proposal_shows_its_label_and_reason_in_words(
    browser_context, browser_login, chest_pain_crew
):
    crew, _incident = chest_pain_crew
    tablet = browser_login(browser_context, crew, TABLET)
    tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#record").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#add-patient")
    tablet.locator(".patient-tab", has_text="GH-").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#tab-vitals")
    # NEWS2 of at least 9 with no blood pressure, temperature or AVPU: a deterioration alert
    # whose reason says what was not scored.
    tablet.fill("[data-vital-input='heart_rate']", "131")
    tablet.fill("[data-vital-input='respiratory_rate']", "25")
    tablet.fill("[data-vital-input='spo2']", "88")
    tablet.click("#save-vitals")
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)

    activation = tablet.locator("#scores .activations li[data-kind='deterioration']")
    activation.wait_for(timeout=TIMEOUT_MS)
    assert (
        activation.locator(".activation-kind")
        .inner_text()
        .startswith("Deterioration (NEWS2) team proposed")
    )
    reason = activation.locator(".activation-reason").inner_text()
    assert "not scored: systolic blood pressure" in reason
    shown = tablet.locator("#scores").inner_text()
    assert not SNAKE_CASE.search(shown), shown
    stored = TeamActivation.objects.get(kind="deterioration")
    assert stored.reason == reason
