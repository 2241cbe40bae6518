"""A medication dose outside the plausible range (handoff/clinical/doses.py) is recorded from
the tablet only once the crew confirms it: the server refuses it unconfirmed with its reason,
the tablet shows that and offers the confirmation, and the confirmed dose is stored (audited
as confirmed outside the range). A dose far beyond the range is refused with no confirmation.
"""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from handoff.models import MedicationGiven
from realtime.models import DeviceItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000


def _give(tablet, name: str, dose: str, unit: str, route: str) -> None:
    tablet.fill("#mg-name", name)
    tablet.fill("#mg-dose", dose)
    tablet.select_option("#mg-unit", unit)
    tablet.select_option("#mg-route", route)
    tablet.click("#mg-save")


def test_a_dose_outside_the_range_is_stored_only_after_the_crew_confirms_it(
    browser_context, browser_login, chest_pain_crew
):
    crew, _incident = chest_pain_crew
    tablet = browser_login(browser_context, crew, TABLET)
    tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#record").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#add-patient")
    tablet.locator(".patient-tab", has_text="GH-").wait_for(timeout=TIMEOUT_MS)
    tablet.click("#tab-treatment")

    # Adrenaline IV is 0.001-1 mg: 5 mg needs the crew's confirmation.
    _give(tablet, "Adrenaline", "5", "mg", "IV")
    problem = tablet.locator("#tx-problem")
    confirm = problem.locator("button.tx-confirm-dose")
    confirm.wait_for(timeout=TIMEOUT_MS)
    assert "Adrenaline 5 mg IV is outside the plausible range 0.001-1 mg" in problem.inner_text()
    assert "(dose)" in problem.inner_text()
    refused = tablet.locator("#tx-list .tx-item.tx-rejected", has_text="Adrenaline")
    assert "REFUSED" in refused.inner_text()
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    assert not MedicationGiven.objects.exists()
    [unconfirmed] = DeviceItem.objects.filter(type="medication")
    assert not unconfirmed.accepted
    assert unconfirmed.outcome["code"] == "dose_unconfirmed"

    confirm.click()
    saved = tablet.locator("#tx-list .tx-item", has_text="(dose confirmed)")
    saved.locator(".tx-state", has_text="saved").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    [given] = MedicationGiven.objects.all()
    assert (given.name, given.dose, given.unit, given.route) == ("Adrenaline", 5.0, "mg", "IV")
    [audited] = AuditEvent.objects.filter(action="medication_record")
    assert audited.detail["dose_confirmed_outside_range"] is True
    assert DeviceItem.objects.filter(type="medication", accepted=True).count() == 1

    # 5000 mg is not a dose anyone gives: refused, and no confirmation is offered.
    _give(tablet, "Adrenaline", "5000", "mg", "IV")
    problem.locator("text=is not a plausible dose").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    assert problem.locator("button.tx-confirm-dose").count() == 0
    assert MedicationGiven.objects.count() == 1
