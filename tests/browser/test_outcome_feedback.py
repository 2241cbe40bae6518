"""The loop closes on screen: the ED records the outcome on a handed-over card (a bad ICD-10
code is refused naming the field), and the crew's tablet shows it under past patients."""

from __future__ import annotations

import pytest

from handoff.models import HospitalOutcome
from handoff.services.handover import patient_arrived, transfer_of_care_confirm

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOARD = "/ed/"
TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000


def test_ed_records_the_outcome_and_the_crew_sees_it_on_the_closed_record(
    browser, browser_context, browser_login, live_server_url, transporting
):
    crew, nurse, encounter = transporting
    # The handover is written before the screens open (the server is another process).
    patient_arrived(user=crew, encounter_id=encounter.pk)
    transfer_of_care_confirm(user=crew, encounter_id=encounter.pk)
    transfer_of_care_confirm(user=nurse, encounter_id=encounter.pk)
    public_id = str(encounter.public_id)

    board = browser_login(browser_context, nurse, BOARD)
    board.wait_for_function("() => window.GoldenHour.edBoard.state.seq !== null")
    card = board.locator(f"#recent-list li.incoming[data-encounter-id='{public_id}']")
    card.wait_for(timeout=TIMEOUT_MS)
    card.locator(".outcome-summary").click()
    card.locator(".outcome-diagnosis").fill("Anterior STEMI")
    card.locator(".outcome-icd10").fill("21.0")
    card.locator(".outcome-disposition").select_option("09")
    card.locator(".outcome-where").fill("Cardiac ICU")
    card.locator("button.save-outcome").click()
    error = card.locator("[data-error-for='outcome']")
    error.wait_for(timeout=TIMEOUT_MS)
    assert error.inner_text().startswith("diagnosis_icd10")
    assert not HospitalOutcome.objects.exists()

    card.locator(".outcome-icd10").fill("I21.0")
    card.locator("button.save-outcome").click()
    card.locator(".outcome-saved", has_text="Admitted as an inpatient").wait_for(timeout=TIMEOUT_MS)
    stored = HospitalOutcome.objects.get(encounter=encounter)
    assert (stored.diagnosis_icd10, stored.admitted_unit, stored.recorded_by) == (
        "I21.0",
        "Cardiac ICU",
        nurse,
    )

    # Another screen of the ED opens the form on what is recorded, ready for a correction.
    board.reload()
    card.locator(".outcome-summary").click()
    card.locator(".outcome-saved", has_text="Admitted as an inpatient").wait_for(timeout=TIMEOUT_MS)
    assert card.locator(".outcome-where").input_value() == "Cardiac ICU"

    # The tablet is another device: its own browser profile and session.
    tablet_context = browser.new_context(
        viewport={"width": 800, "height": 1280}, base_url=live_server_url, locale="en-GB"
    )
    try:
        tablet = browser_login(tablet_context, crew, TABLET)
        past = tablet.locator(f"#outcome-list li.past-patient[data-encounter-id='{public_id}']")
        past.wait_for(timeout=TIMEOUT_MS)
        assert tablet.locator("#past-patients").is_visible()
        assert "Anterior STEMI (I21.0)" in past.locator(".outcome-diagnosis").inner_text()
        assert "Cardiac ICU" in past.locator(".outcome-disposition").inner_text()
        assert encounter.temp_identifier in past.inner_text()
    finally:
        tablet_context.close()
