"""A parked ambulance still reports: the tablet sends a fix at least every
CREW_POSITION_HEARTBEAT_SECONDS though `watchPosition` stays silent when nothing moves.

The emulated GPS never changes, so `watchPosition` fires once; Chrome does not answer
`getCurrentPosition` with a position it already gave, so the heartbeat's second fix is the
unit's standing position at the current time. A daphne of its own runs this test with the
shortest heartbeat (10 s).
"""

from __future__ import annotations

import re
import time

import pytest

from dispatch.models import Unit, UnitPosition
from tests import factories
from tests.browser.conftest import VIEWPORT
from tests.services import processes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 15_000
HEARTBEAT_S = 10
PARKED = {"latitude": 60.16940, "longitude": 24.95200, "accuracy": 8}


@pytest.fixture(scope="module")
def heartbeat_server_url(django_db_setup, django_db_blocker, built_map_dir):
    with django_db_blocker.unblock():
        env = processes.child_env(
            MAP_CACHE_DIR=str(built_map_dir), CREW_POSITION_HEARTBEAT_SECONDS=str(HEARTBEAT_S)
        )
    with processes.daphne(env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def parked_context(browser, heartbeat_server_url):
    context = browser.new_context(
        viewport=VIEWPORT,
        base_url=heartbeat_server_url,
        locale="en-GB",
        geolocation=PARKED,
        permissions=["geolocation"],
    )
    context.route(re.compile(r"^(?!" + re.escape(heartbeat_server_url) + r")"), lambda r: r.abort())
    yield context
    context.close()


def _fixes(unit: Unit, count: int, timeout_s: float) -> list[UnitPosition]:
    deadline = time.monotonic() + timeout_s
    fixes: list[UnitPosition] = []
    while time.monotonic() < deadline:
        fixes = list(UnitPosition.objects.filter(unit=unit).order_by("recorded_at"))
        if len(fixes) >= count:
            return fixes
        time.sleep(0.2)
    raise AssertionError(f"{count} fixes expected, the server has {len(fixes)}")


def test_a_stationary_tablet_sends_a_fix_every_heartbeat(parked_context, browser_login, demo_units):
    crew = factories.CrewFactory(unit=demo_units[0])
    page = browser_login(parked_context, crew, TABLET)
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#tablet").get_attribute("data-position-heartbeat-s") == str(HEARTBEAT_S)

    [first] = _fixes(crew.unit, 1, timeout_s=15)
    started = time.monotonic()
    # Two heartbeats later (each within HEARTBEAT_S of the fix before; the wait leaves room).
    fixes = _fixes(crew.unit, 3, timeout_s=2 * (HEARTBEAT_S + 5) + 10)
    assert time.monotonic() - started >= HEARTBEAT_S - 1
    assert {(f.lat, f.lon) for f in fixes} == {(first.lat, first.lon)}
    times = [f.recorded_at for f in fixes]
    assert times == sorted(set(times)), "each heartbeat carries a later time"
    assert (times[-1] - times[0]).total_seconds() >= 2 * HEARTBEAT_S - 2
    unit = Unit.objects.get(pk=crew.unit_id)
    assert unit.last_fix_at == times[-1]
    assert not unit.position_stale
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
