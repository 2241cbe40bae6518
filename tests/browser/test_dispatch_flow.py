"""A dispatcher's whole job in a real browser: a call by address to a unit moving on the map."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from accounts.models import User
from tests.services import processes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    return 6371000.0 * math.hypot(x, math.radians(b[0] - a[0]))


@pytest.fixture
def simulator(live_server_url, built_map_dir, tmp_path):
    """`manage.py simulate` against the live server: units drive, no calls of its own."""
    call_command("seed_demo", verbosity=0)
    env = processes.child_env(MAP_CACHE_DIR=str(built_map_dir))
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "simulate",
            "--base-url",
            live_server_url,
            "--no-calls",
            # Every unit drives here, the demo crews' own too: whichever is recommended moves.
            "--person-driven",
            "",
            "--speedup",
            "4",
            "--tick",
            "0.5",
            "--scene-minutes",
            "10",
            "--outbox-dir",
            str(tmp_path / "outboxes"),
            "--duration",
            "120",
        ],
        cwd=processes.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proc
    processes.stop(proc)


def test_call_by_address_to_a_dispatched_unit_moving_on_the_map(
    browser_context, browser_login, simulator
):
    page = browser_login(browser_context, User.objects.get(username="dispatcher"), "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=15000)

    page.fill("#chief_complaint", "Chest pain, conscious, sweating")
    page.select_option("#priority", "DELTA")
    page.fill("#location_text", "Mannerheimintie 6")
    page.fill("#access_notes", "Entrance from the courtyard, code 2580")
    page.click("#intake-form button[type=submit]")

    first = page.locator("#recommendations li.rec:not(.excluded)").first
    first.wait_for(timeout=20000)
    assert "ETA" in first.inner_text()
    excluded = page.locator("#recommendations li.rec.excluded").all_inner_texts()
    assert any("needs an ALS unit" in text for text in excluded)
    unit_id = int(first.get_attribute("data-unit-id"))

    first.locator("button.dispatch").click()
    page.wait_for_selector("#intake-result:has-text('dispatched')", timeout=15000)

    def unit_on_map() -> tuple[float, float, str]:
        data = page.evaluate(f"window.GoldenHour.console.unit({unit_id})")
        return float(data["lat"]), float(data["lon"]), data["status"]

    start = unit_on_map()
    deadline = time.monotonic() + 60
    moved = 0.0
    status = start[2]
    while time.monotonic() < deadline and moved < 30:
        page.wait_for_timeout(500)
        lat, lon, status = unit_on_map()
        moved = _metres(start[:2], (lat, lon))
    assert moved >= 30, f"the unit did not move on the map (status {status})"
    assert status in {"en_route", "on_scene"}
    incident_text = page.locator("#incident-list").inner_text()
    assert "Chest pain" in incident_text
