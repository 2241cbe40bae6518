"""The ED closes a card that will never be confirmed: a reason is required (the error names
the field), then the card leaves "on their way" for the handed-over section, saying why."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from handoff.models import Encounter
from tests import factories
from tests.browser.test_ed_board import _call, _patient_on_the_way
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOARD = "/ed/"
TIMEOUT_MS = 15_000


def test_closing_a_card_needs_a_reason_and_moves_it_to_handed_over(
    browser_context, browser_login, live_server_url, demo_units, make_incident, dispatcher
):
    hospital = factories.HospitalFactory(name="Close Test Hospital")
    nurse = factories.EDStaffFactory(hospital=hospital)
    crew = factories.CrewFactory(unit=demo_units[0])
    incident = make_incident(determinant="ALPHA", chief_complaint="Minor cut")
    [assignment] = _call(
        live_server_url,
        "POST",
        f"/api/v1/incidents/{incident.pk}/assignments/",
        device_token(dispatcher),
        {"unit_ids": [crew.unit_id]},
    )
    public_id = _patient_on_the_way(
        live_server_url, device_token(crew), assignment["id"], hospital.pk, {}, []
    )
    board = browser_login(browser_context, nurse, BOARD)
    board.wait_for_function("() => window.GoldenHour.edBoard.state.seq !== null")
    card = board.locator(f"#incoming-list li.incoming[data-encounter-id='{public_id}']")
    card.wait_for(timeout=TIMEOUT_MS)

    card.locator("button.ed-close").click()
    error = card.locator("[data-error-for='reason']")
    assert error.inner_text().startswith("reason:")
    assert Encounter.objects.get(public_id=public_id).status == "open"

    card.locator(".close-reason").fill("Crew took the patient to another hospital")
    card.locator("button.ed-close").click()
    closed = board.locator(f"#recent-list li.incoming[data-encounter-id='{public_id}']")
    closed.locator(".handover-state", has_text="Closed by the ED").wait_for(timeout=TIMEOUT_MS)
    assert "another hospital" in closed.locator(".handover-state").inner_text()
    assert board.locator("#incoming-count").inner_text() == "0"
    stored = Encounter.objects.get(public_id=public_id)
    assert (stored.status, stored.closed_by) == ("closed", nurse)
    assert AuditEvent.objects.filter(action="ed_close", actor=nurse).count() == 1

    # A second screen of the same ED opened now shows it handed over, not on its way.
    board.reload()
    board.locator(f"#recent-list li.incoming[data-encounter-id='{public_id}']").wait_for(
        timeout=TIMEOUT_MS
    )
    assert board.locator("#empty-state").is_visible()
