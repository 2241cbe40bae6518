"""Alerts people notice on the ED board: a sound and an announcement for a new incoming
patient and for an activation proposal; "Silence alerts" stops the sound and is remembered;
the wall-board mode has large type and no controls."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests import factories
from tests.browser.test_ed_board import _call, _patient_on_the_way
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOARD = "/ed/"
TIMEOUT_MS = 15_000
SHOTS = Path(tempfile.gettempdir())

# Counts the tones the board plays (Web Audio oscillators started) and the alerts it raises.
PROBE = """
window.__tones = 0;
window.__alerts = [];
document.addEventListener("gh:ed-alert", function (e) { window.__alerts.push(e.detail); });
class FakeAudio {
  constructor() { this.state = "running"; this.currentTime = 0; this.destination = {}; }
  resume() { return Promise.resolve(); }
  createGain() {
    return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} },
             connect(node) { return node; } };
  }
  createOscillator() {
    return { frequency: {}, connect(node) { return node; },
             start() { window.__tones += 1; }, stop() {} };
  }
}
window.AudioContext = FakeAudio;
"""

SICK = {
    "heart_rate": 138,
    "respiratory_rate": 30,
    "systolic_bp": 84,
    "diastolic_bp": 50,
    "spo2": 88,
    "temperature": 38.9,
    "avpu": "V",
}


@pytest.fixture
def crews(demo_units, make_incident, dispatcher, live_server_url):
    hospital = factories.HospitalFactory(name="Alert Test Hospital", capabilities=["general"])
    nurse = factories.EDStaffFactory(hospital=hospital)
    dispatch_token = device_token(dispatcher)
    found = []
    for unit in (demo_units[0], demo_units[2]):  # both ALS: a DELTA call needs one
        crew = factories.CrewFactory(unit=unit)
        incident = make_incident(determinant="DELTA", chief_complaint="Short of breath")
        [assignment] = _call(
            live_server_url,
            "POST",
            f"/api/v1/incidents/{incident.pk}/assignments/",
            dispatch_token,
            {"unit_ids": [crew.unit_id]},
        )
        found.append((device_token(crew), assignment["id"]))
    return hospital, nurse, found


def _alerts(page):
    return page.evaluate("() => window.__alerts")


def test_new_patient_and_activation_alert_and_silence_stops_the_sound(
    browser_context, browser_login, live_server_url, crews
):
    hospital, nurse, found = crews
    browser_context.add_init_script(PROBE)
    board = browser_login(browser_context, nurse, BOARD)
    board.wait_for_function("() => window.GoldenHour.edBoard.state.seq !== null")
    assert _alerts(board) == []

    token, assignment_id = found[0]
    first = _patient_on_the_way(
        live_server_url, token, assignment_id, hospital.pk, {"sex": "female"}, []
    )
    board.locator(f"li.incoming[data-encounter-id='{first}']").wait_for(timeout=TIMEOUT_MS)
    board.wait_for_function("() => window.__alerts.length >= 1", timeout=TIMEOUT_MS)
    [incoming] = _alerts(board)
    assert (incoming["kind"], incoming["sound"]) == ("incoming", True)
    assert board.evaluate("() => window.__tones") > 0
    live = board.locator("#alert-live")
    assert "New incoming patient GH-" in live.inner_text()

    # A NEWS2 of 7 or more proposes the deterioration activation: a second, distinct alert.
    _call(
        live_server_url,
        "POST",
        f"/api/v1/encounters/{first}/vitals/",
        token,
        {"client_id": "sick-1", "vitals": SICK},
    )
    board.wait_for_function(
        "() => window.__alerts.some(a => a.kind === 'activation')", timeout=TIMEOUT_MS
    )
    assert "Activation proposed" in live.inner_text()
    assert [a["kind"] for a in _alerts(board)].count("activation") == 1

    # Silenced: remembered across a reload; the next patient is announced without a sound.
    board.check("#alert-silence")
    board.reload()
    board.wait_for_function("() => window.GoldenHour.edBoard.state.seq !== null")
    assert board.is_checked("#alert-silence")
    token, assignment_id = found[1]
    second = _patient_on_the_way(
        live_server_url, token, assignment_id, hospital.pk, {"sex": "male"}, []
    )
    board.locator(f"li.incoming[data-encounter-id='{second}']").wait_for(timeout=TIMEOUT_MS)
    board.wait_for_function("() => window.__alerts.length >= 1", timeout=TIMEOUT_MS)
    [quiet] = _alerts(board)
    assert (quiet["kind"], quiet["sound"]) == ("incoming", False)
    assert board.evaluate("() => window.__tones") == 0
    assert "New incoming patient" in live.inner_text()


def test_wall_board_mode_is_large_and_has_no_controls(browser_context, browser_login, crews):
    _hospital, nurse, _found = crews
    board = browser_login(browser_context, nurse, BOARD)
    board.goto(BOARD + "?wall=1")
    board.wait_for_function("() => document.body.classList.contains('wall')")
    size = board.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert size >= 22
    assert not board.locator(".ed-controls").is_visible()
    assert not board.locator("#alert-silence").is_visible()
    assert not board.get_by_role("button", name="Log out").is_visible()
    board.screenshot(path=str(SHOTS / "ed-board-wall.png"))
    board.click("#wall-toggle")
    assert "wall=1" not in board.url
    assert board.locator(".ed-controls").is_visible()
