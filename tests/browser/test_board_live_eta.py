"""The ED card's ETA follows the ambulance: a fix from the unit gives the drive time on the
road graph; on scene the card says "ETA from leaving" and does not count down; leaving the
scene starts the countdown at once."""

from __future__ import annotations

import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatch import services as dispatch_services
from handoff.models import Encounter
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open
from tests import factories
from tests.browser.test_ed_board import _call
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOARD = "/ed/"
TIMEOUT_MS = 15_000
SHOTS = Path(tempfile.gettempdir())
# Inside the demo extract: the scene at Kamppi, the ED at Hakaniemi.
KAMPPI = (60.16930, 24.93860)
HAKANIEMI = (60.17830, 24.95050)


@pytest.fixture
def on_scene(demo_units, make_incident, dispatcher):
    crew = factories.CrewFactory(unit=demo_units[0])
    hospital = factories.HospitalFactory(
        name="Hakaniemi Test Hospital", lat=HAKANIEMI[0], lon=HAKANIEMI[1]
    )
    nurse = factories.EDStaffFactory(hospital=hospital)
    incident = make_incident(determinant="DELTA", chief_complaint="Fall, hip pain")
    [assignment] = dispatch_services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    for status in ("en_route", "on_scene"):
        dispatch_services.assignment_transition(
            user=crew, assignment_id=assignment.pk, to_status=status
        )
    encounter = encounter_open(user=crew, assignment_id=assignment.pk)
    destination_set(user=crew, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest")
    # As when the destination was chosen with no route (offline, or before any fix): the
    # ETA comes only from the unit's fixes.
    Encounter.objects.filter(pk=encounter.pk).update(
        eta_at=None, eta_drive_seconds=None, eta_computed_at=None
    )
    return crew, nurse, assignment, str(encounter.public_id)


def _fix(base, unit_id, token, where, n):
    _call(
        base,
        "POST",
        f"/api/v1/units/{unit_id}/positions/",
        token,
        {
            "device_id": "tab-eta",
            "positions": [
                {
                    "id": f"tab-eta:{n}",
                    "lat": where[0],
                    "lon": where[1],
                    "recorded_at": datetime.now(UTC).isoformat(),
                }
            ],
        },
    )


def _row(page, public_id):
    return page.evaluate("(id) => window.GoldenHour.edBoard.row(id)", public_id)


def test_a_fix_gives_the_eta_on_scene_it_waits_and_leaving_starts_the_countdown(
    browser_context, browser_login, live_server_url, on_scene
):
    crew, nurse, assignment, public_id = on_scene
    token = device_token(crew)
    board = browser_login(browser_context, nurse, BOARD)
    board.wait_for_function("() => window.GoldenHour.edBoard.state.seq !== null")
    card = board.locator(f"li.incoming[data-encounter-id='{public_id}']")
    card.locator(".crew-status", has_text="On scene").wait_for(timeout=TIMEOUT_MS)
    assert _row(board, public_id)["eta_drive_seconds"] is None

    # The unit's fixes: the server routes it on the road graph (throttled, in the background).
    deadline = time.monotonic() + 30
    n = 0
    while _row(board, public_id)["eta_drive_seconds"] is None:
        assert time.monotonic() < deadline, "no live ETA from the unit's fixes"
        n += 1
        _fix(live_server_url, crew.unit_id, token, KAMPPI, n)
        time.sleep(1.0)
    drive = _row(board, public_id)["eta_drive_seconds"]
    minutes = max(1, round(drive / 60))
    card.locator(".eta-clock", has_text=f"ETA from leaving ~{minutes} min").wait_for(
        timeout=TIMEOUT_MS
    )
    board.screenshot(path=str(SHOTS / "ed-board-on-scene.png"))
    # On scene nothing counts down, however long the crew stays.
    assert card.locator(".eta-countdown").inner_text() == "on scene"
    time.sleep(1.2)
    assert card.locator(".eta-countdown").inner_text() == "on scene"

    _call(
        live_server_url,
        "POST",
        f"/api/v1/assignments/{assignment.pk}/transition/",
        token,
        {"status": "transporting"},
    )
    card.locator(".crew-status", has_text="Transporting").wait_for(timeout=TIMEOUT_MS)
    board.wait_for_function(
        "(id) => window.GoldenHour.edBoard.row(id).eta_counts_down === true",
        arg=public_id,
        timeout=TIMEOUT_MS,
    )
    countdown = card.locator(".eta-countdown")
    first = countdown.inner_text()
    assert re.fullmatch(r"\d\d:\d\d", first), first
    board.wait_for_function(
        "([id, before]) => document.querySelector(`li.incoming[data-encounter-id='${id}'] "
        ".eta-countdown`).textContent !== before",
        arg=[public_id, first],
        timeout=3_000,
    )
    assert re.fullmatch(r"\d\d:\d\d", card.locator(".eta-clock").inner_text().lstrip("\u2248 "))
