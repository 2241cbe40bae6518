"""The ED card shows each vital's latest value with its time: a heart rate taken alone does not
blank the blood pressure taken a minute earlier. The patient's name, home medications and
history come from the record for the receiving ED's staff."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tests.browser.test_ed_board import _call, _patient_on_the_way
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOARD = "/ed/"
TIMEOUT_MS = 15_000


def _hhmm(page, when):
    # The board shows the wall clock of the screen's own time zone, on a 24-hour clock.
    return page.evaluate(
        "(iso) => { const d = new Date(iso); return String(d.getHours()).padStart(2, '0') + "
        "':' + String(d.getMinutes()).padStart(2, '0'); }",
        when.isoformat(),
    )


def test_partial_set_keeps_the_earlier_blood_pressure_with_its_time_and_shows_the_record(
    browser_context, browser_login, live_server_url, demo_units, make_incident, dispatcher
):
    hospital = factories.HospitalFactory(name="Vitals Test Hospital")
    nurse = factories.EDStaffFactory(hospital=hospital)
    crew = factories.CrewFactory(unit=demo_units[0])
    token = device_token(crew)
    incident = make_incident(determinant="DELTA", chief_complaint="Chest pain")
    [assignment] = _call(
        live_server_url,
        "POST",
        f"/api/v1/incidents/{incident.pk}/assignments/",
        device_token(dispatcher),
        {"unit_ids": [crew.unit_id]},
    )
    earlier = timezone.now() - timedelta(minutes=3)
    later = timezone.now() - timedelta(minutes=1)
    public_id = _patient_on_the_way(
        live_server_url,
        token,
        assignment["id"],
        hospital.pk,
        {
            "family_name": "Virtanen",
            "given_name": "Aino",
            "medications": [{"name": "Warfarin", "anticoagulant": True}],
            "history": ["atrial fibrillation"],
        },
        [],
    )
    path = f"/api/v1/encounters/{public_id}/vitals/"
    full = {"heart_rate": 120, "systolic_bp": 90, "diastolic_bp": 60, "spo2": 93}
    _call(
        live_server_url,
        "POST",
        path,
        token,
        {"client_id": "full", "taken_at": earlier.isoformat(), "vitals": full},
    )
    _call(
        live_server_url,
        "POST",
        path,
        token,
        {"client_id": "hr", "taken_at": later.isoformat(), "vitals": {"heart_rate": 112}},
    )

    board = browser_login(browser_context, nurse, BOARD)
    card = board.locator(f"li.incoming[data-encounter-id='{public_id}']")
    card.locator("[data-vital='heart_rate']", has_text="112").wait_for(timeout=TIMEOUT_MS)
    assert card.locator("[data-vital='systolic_bp']").inner_text() == "90"
    assert card.locator("[data-vital='diastolic_bp']").inner_text() == "60"
    assert card.locator("[data-vital-at='systolic_bp']").inner_text() == "at " + _hhmm(
        board, earlier
    )
    assert card.locator("[data-vital-at='heart_rate']").inner_text() == _hhmm(board, later)
    assert card.locator("[data-vital-at='spo2']").inner_text() == "at " + _hhmm(board, earlier)

    card.locator(".patient-name", has_text="Virtanen, Aino").wait_for(timeout=TIMEOUT_MS)
    assert "Warfarin (anticoagulant)" in card.locator(".home-meds").inner_text()
    assert "atrial fibrillation" in card.locator(".history").inner_text()
    # A 24-hour clock and no standards codes on the screen.
    text = board.inner_text("body")
    assert re.fullmatch(r"\d\d:\d\d:\d\d", board.locator("#clock").inner_text())
    assert not re.search(r"\b(AM|PM|am|pm)\b", text)
    assert not re.search(r"eDisposition|eTimes|eVitals|eSituation", text)
