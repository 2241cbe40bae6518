"""The ED incoming board in a real browser: a patient on the way, with vitals, NEWS2 and
team activations, streamed live from the crew's writes; the nurse acknowledges from the board.

Every write the board must see live goes through the live server's REST API: the test
process's channel layer does not reach the daphne process.
"""

from __future__ import annotations

import json
import re
import tempfile
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from handoff.models import Encounter, Hospital, TeamActivation
from tests import factories
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOARD = "/ed/"
TIMEOUT_MS = 15_000
LIVE_MS = 2_000
SHOTS = Path(tempfile.gettempdir())


def _call(base_url: str, method: str, path: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(  # noqa: S310  (the test's own live server, http only)
        base_url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _ago(minutes: int) -> str:
    return (timezone.now() - timedelta(minutes=minutes)).isoformat()


def _patient_on_the_way(base, crew_token, assignment_id, hospital_id, fields, sets):
    """Open a record, record vitals sets and choose the hospital, all through the server."""
    record = _call(
        base, "POST", f"/api/v1/assignments/{assignment_id}/encounters/", crew_token, fields
    )
    encounter_path = f"/api/v1/encounters/{record['encounter_id']}/"
    for number, (minutes_ago, vitals) in enumerate(sets):
        _call(
            base,
            "POST",
            encounter_path + "vitals/",
            crew_token,
            {"client_id": f"set-{number}", "taken_at": _ago(minutes_ago), "vitals": vitals},
        )
    _call(
        base,
        "POST",
        encounter_path + "destination/",
        crew_token,
        {"hospital": hospital_id, "reason": "closest"},
    )
    return record["encounter_id"]


def _wait_for_snapshot(page) -> None:
    page.wait_for_function("() => window.GoldenHour.edBoard.state.seq !== null")


@pytest.fixture
def scene(demo_units, make_incident, dispatcher, live_server_url):
    hospital = factories.HospitalFactory(
        name="Meilahti Tower Hospital", lat=60.1890, lon=24.9030, capabilities=["general"]
    )
    nurse = factories.EDStaffFactory(hospital=hospital)
    dispatch_token = device_token(dispatcher)
    crews = [factories.CrewFactory(unit=unit) for unit in (demo_units[0], demo_units[2])]
    tokens = [device_token(crew) for crew in crews]
    base = live_server_url
    assignments = []
    for crew, complaint in zip(crews, ("Chest pain, sweaty", "Fall at home"), strict=True):
        incident = make_incident(determinant="DELTA", chief_complaint=complaint)
        [assignment] = _call(
            base,
            "POST",
            f"/api/v1/incidents/{incident.pk}/assignments/",
            dispatch_token,
            {"unit_ids": [crew.unit_id]},
        )
        assignments.append(assignment["id"])
    sick = _patient_on_the_way(
        base,
        tokens[0],
        assignments[0],
        hospital.pk,
        {
            "sex": "male",
            "estimated_age_years": 67,
            "working_impression": "Suspected ACS, cardiogenic shock?",
            "allergies": ["Penicillin"],
            "medications": [{"name": "Apixaban", "anticoagulant": True}],
        },
        [
            (
                14,
                {
                    "heart_rate": 112,
                    "respiratory_rate": 22,
                    "systolic_bp": 104,
                    "diastolic_bp": 70,
                    "spo2": 94,
                    "temperature": 37.4,
                    "avpu": "A",
                },
            ),
            (
                8,
                {
                    "heart_rate": 121,
                    "respiratory_rate": 25,
                    "systolic_bp": 96,
                    "diastolic_bp": 62,
                    "spo2": 92,
                    "temperature": 37.6,
                    "avpu": "A",
                },
            ),
            (
                3,
                {
                    "heart_rate": 128,
                    "respiratory_rate": 28,
                    "systolic_bp": 88,
                    "diastolic_bp": 58,
                    "spo2": 90,
                    "temperature": 37.8,
                    "avpu": "A",
                    "on_oxygen": True,
                },
            ),
        ],
    )
    # The sick patient is on the road: only then does the board count down (never on scene).
    for status in ("en_route", "on_scene", "transporting"):
        _call(
            base,
            "POST",
            f"/api/v1/assignments/{assignments[0]}/transition/",
            tokens[0],
            {"status": status},
        )
    well = _patient_on_the_way(
        base,
        tokens[1],
        assignments[1],
        hospital.pk,
        {"sex": "female", "estimated_age_years": 82, "working_impression": "Wrist fracture"},
        [(5, {"heart_rate": 84, "respiratory_rate": 16, "systolic_bp": 142, "spo2": 97})],
    )
    return {"nurse": nurse, "hospital": hospital, "sick": sick, "well": well, "token": tokens[0]}


def test_ed_board_shows_patients_live_and_acknowledges_from_the_board(
    browser_context, browser_login, live_server_url, scene
):
    sick, well = scene["sick"], scene["well"]
    page = browser_login(browser_context, scene["nurse"], BOARD)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    _wait_for_snapshot(page)

    card = page.locator(f"li.incoming[data-encounter-id='{sick}']")
    card.locator("[data-vital='heart_rate']", has_text="128").wait_for(timeout=TIMEOUT_MS)
    # Sickest first: NEWS2 high before the low-risk patient.
    order = page.eval_on_selector_all("li.incoming", "els => els.map(e => e.dataset.encounterId)")
    assert order == [sick, well]
    badge = card.locator(".news2-badge")
    assert "risk-high" in badge.get_attribute("class")
    assert "high" in badge.inner_text().lower()
    assert card.locator("[data-vital='systolic_bp']").inner_text() == "88"
    assert card.locator(".vital[data-key='heart_rate'] svg.sparkline polyline").count() == 1
    assert "ANTICOAGULANT" in card.inner_text()
    assert "Penicillin" in card.inner_text()
    # The low-risk patient's NEWS2 lacks parameters and says which.
    well_badge = page.locator(f"li.incoming[data-encounter-id='{well}'] .news2-badge")
    assert "incomplete" in well_badge.inner_text()
    assert "temperature" in (well_badge.get_attribute("title") or "")
    # The ETA counts down every second.
    countdown = card.locator(".eta-countdown").inner_text()
    assert re.fullmatch(r"\d\d:\d\d", countdown)
    page.wait_for_function(
        "([id, before]) => document.querySelector(`li.incoming[data-encounter-id='${id}'] "
        ".eta-countdown`).textContent !== before",
        arg=[sick, countdown],
        timeout=3_000,
    )

    # A new set streams to the open board.
    _call(
        live_server_url,
        "POST",
        f"/api/v1/encounters/{sick}/vitals/",
        scene["token"],
        {
            "client_id": "set-live",
            "vitals": {
                "heart_rate": 142,
                "respiratory_rate": 30,
                "systolic_bp": 84,
                "diastolic_bp": 52,
                "spo2": 89,
                "temperature": 38.1,
                "avpu": "A",
                "on_oxygen": True,
            },
        },
    )
    card.locator("[data-vital='heart_rate']", has_text="142").wait_for(timeout=LIVE_MS)

    # A message from the crew reaches the thread.
    _call(
        live_server_url,
        "POST",
        f"/api/v1/encounters/{sick}/messages/",
        scene["token"],
        {"text": "Pads on, 6 min out", "client_id": "m-1"},
    )
    card.locator(".messages .message", has_text="Pads on").wait_for(timeout=LIVE_MS)

    page.screenshot(path=SHOTS / "ed-board.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.screenshot(path=SHOTS / "ed-board-1920.png")
    page.set_viewport_size({"width": 1440, "height": 900})

    card.locator("button.ack-patient").click()
    card.locator("button.ack-patient", has_text="Acknowledged").wait_for(timeout=TIMEOUT_MS)
    encounter = Encounter.objects.get(public_id=sick)
    assert encounter.ed_acknowledged_at is not None
    assert encounter.ed_acknowledged_by == scene["nurse"]

    activation = TeamActivation.objects.get(encounter=encounter, kind="deterioration")
    button = card.locator(f"button.ack-activation[data-activation-id='{activation.pk}']")
    button.click()
    card.locator(f".activation.acknowledged[data-activation-id='{activation.pk}']").wait_for(
        timeout=TIMEOUT_MS
    )
    activation.refresh_from_db()
    assert activation.acknowledged_at is not None
    assert activation.acknowledged_by == scene["nurse"]

    card.locator(".bay-input").fill("Resus 2")
    card.locator("button.assign-bay").click()
    card.locator(".bay-badge", has_text="Resus 2").wait_for(timeout=TIMEOUT_MS)
    encounter.refresh_from_db()
    assert encounter.bay == "Resus 2"


def test_ed_status_needs_a_reason_for_diversion_and_refusals_name_the_field(
    browser_context, browser_login, scene
):
    page = browser_login(browser_context, scene["nurse"], BOARD)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    _wait_for_snapshot(page)
    page.select_option("#ed-status-select", "diversion")
    page.fill("#diversion-reason", "")
    page.click("#ed-status-save")
    page.locator("#ed-status-error", has_text="reason").wait_for(timeout=TIMEOUT_MS)
    page.fill("#diversion-reason", "CT scanner down")
    page.click("#ed-status-save")
    page.locator("#ed-status[data-status='diversion']").wait_for(timeout=TIMEOUT_MS)
    hospital = Hospital.objects.get(pk=scene["hospital"].pk)
    assert hospital.ed_status == "diversion"
    assert hospital.diversion_reason == "CT scanner down"

    # An activation nobody acknowledged in time is escalated to the charge nurse (as the
    # periodic job does); the board's snapshot shows it in red, with the button still there.
    encounter = Encounter.objects.get(public_id=scene["sick"])
    activation = TeamActivation.objects.get(encounter=encounter, kind="deterioration")
    TeamActivation.objects.filter(pk=activation.pk).update(escalated_at=timezone.now())
    page.reload()
    escalated = page.locator(f".activation.escalated[data-activation-id='{activation.pk}']")
    escalated.wait_for(timeout=TIMEOUT_MS)
    assert "charge nurse" in escalated.inner_text()
    assert escalated.locator("button.ack-activation").is_visible()
    page.locator("#ed-status[data-status='diversion']").wait_for(timeout=TIMEOUT_MS)

    # Arrival from the board, then the ED's half of the handover; a refused MRN names the field.
    card = page.locator(f"li.incoming[data-encounter-id='{scene['sick']}']")
    assert card.locator("button.confirm-handover").is_disabled()
    assert card.locator(".reconcile-form").is_hidden()
    card.locator("button.mark-arrived").click()
    card.locator(".eta-countdown", has_text="arrived").wait_for(timeout=TIMEOUT_MS)
    card.locator(".mrn-input").fill("not an mrn!")
    card.locator("button.reconcile").click()
    card.locator("[data-error-for='mrn']", has_text="mrn must be").wait_for(timeout=TIMEOUT_MS)
    card.locator("button.confirm-handover").click()
    card.locator(".handover-state", has_text="ED \u2713").wait_for(timeout=TIMEOUT_MS)
    encounter = Encounter.objects.get(public_id=scene["sick"])
    assert encounter.arrived_at is not None
    assert encounter.ed_confirmed_at is not None
    assert encounter.transfer_of_care_at is None
    assert not encounter.mrn
    page.screenshot(path=SHOTS / "ed-board-diversion.png")
