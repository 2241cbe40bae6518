"""Browser tests: a real daphne serving the test database, and Debian's chromium via Playwright.

Reusable by every screen's browser test:

- `live_server_url`: daphne on a free port (session-wide) against pytest-django's test
  database, with the demo map of `built_map_dir`. Tests that write data for it must use
  `@pytest.mark.django_db(transaction=True)` so the server process sees committed rows.
- `browser`: chromium (session-wide); `browser_context`: a fresh 1280x800 context per test,
  with every request outside the test server refused (no map tiles, no telemetry).
- `browser_login(context, user)`: logs in through the real login form.

Screenshots of failed tests are saved under `test-results/`. Without chromium or Playwright
the tests are skipped, or fail when REQUIRE_SERVICES=1 (as in CI).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.dispatch.conftest import demo_units, make_incident  # noqa: F401  (shared fixtures)
from tests.factories import TEST_PASSWORD
from tests.services import processes

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 800}
RESULTS_DIR = processes.ROOT / "test-results"


def _unavailable(message: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(message + " and REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # Fixtures read this to know whether the test body failed (screenshots on failure).
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def playwright_instance():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright==1.65.2)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    # Playwright's sync API keeps an event loop running in this thread, which Django takes for
    # async code; the tests' ORM calls are still plain sync calls between browser steps.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance):
    """Debian's chromium, headless; never a Playwright-downloaded browser."""
    instance = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker, built_map_dir):
    """A daphne process serving the project on the test database; yields its base URL."""
    with django_db_blocker.unblock():
        # HL7 receivers on 127.0.0.1 are allowed: a test's fake hospital system listens there.
        env = processes.child_env(
            MAP_CACHE_DIR=str(built_map_dir), HANDOFF_HL7_ALLOWED_HOSTS="127.0.0.1"
        )
    with processes.daphne(env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def browser_context(request, browser, live_server_url):
    """A fresh browser profile per test (empty localStorage), 1280x800, test server only."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server_url, locale="en-GB")
    context.route(re.compile(r"^(?!" + re.escape(live_server_url) + r")"), lambda r: r.abort())
    yield context
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        RESULTS_DIR.mkdir(exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        for number, page in enumerate(context.pages):
            page.screenshot(path=str(RESULTS_DIR / f"{safe}-{number}.png"), full_page=True)
    context.close()


@pytest.fixture
def second_context(browser, live_server_url):
    """Another workstation (another centre's dispatcher): a browser profile with its own
    session, test server only, screenshots on failure like browser_context."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server_url, locale="en-GB")
    context.route(re.compile(r"^(?!" + re.escape(live_server_url) + r")"), lambda r: r.abort())
    yield context
    context.close()


def console_page(context, browser_login, user, timeout_ms: int = 15_000):
    """A dispatcher's console, signed in and live."""
    page = browser_login(context, user, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=timeout_ms)
    return page


_MAP_VIEW = """(() => {
  const m = window.GoldenHour.console.map;
  const moving = Boolean((m._panAnim && m._panAnim._inProgress) || m._animatingZoom);
  return [m.getCenter().lat, m.getCenter().lng, m.getZoom(), moving];
})()"""


def map_at_rest(page, *, still_polls: int = 3) -> None:
    """Wait until the console map has ended every move (a selection's pan, a popup's auto-pan,
    a zoom animation) and stayed still for `still_polls` reads 150 ms apart. A click sent while
    a popup still slides lands where its button was, not where it is."""
    last, still = None, 0
    for _ in range(80):
        now = page.evaluate(_MAP_VIEW)
        still = still + 1 if (now == last and not now[3]) else 0
        if still >= still_polls:
            return
        last = now
        page.wait_for_timeout(150)
    raise AssertionError("the map never came to rest")


@functools.cache
def _production_hash() -> str:
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    return hasher.encode(TEST_PASSWORD, hasher.salt())


def _server_password(user) -> None:
    # The test process hashes with MD5 for speed; the server keeps the production hashers, so
    # the login form checks a real PBKDF2 hash (made once per process: it takes half a second).
    user.password = _production_hash()
    user.save(update_fields=["password"])


@pytest.fixture
def browser_login():
    """Log a user in through the login form of the live server; returns the open page."""

    def login(context, user, next_path: str = "/"):
        _server_password(user)
        page = context.new_page()
        page.goto(f"/login/?next={next_path}")
        landed = re.compile(re.escape(next_path) + "$")
        if landed.search(urlsplit(page.url).path):
            # This browser profile is signed in already (the login page sends it on): as the
            # user asked for, or the test is wrong.
            me = page.evaluate("fetch('/api/v1/me/').then(r => r.json())")
            assert me.get("username") == user.username, f"signed in as {me}, not {user}"
            return page
        page.fill("#id_username", user.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(re.escape(next_path) + "$"))
        return page

    return login


@pytest.fixture
def chest_pain_crew(demo_units, make_incident, dispatcher):  # noqa: F811 - the fixtures above
    """The crew of the first demo unit, dispatched to a chest pain (DELTA), with Töölö Hospital
    to go to: the tablet tests' starting point. Returns (crew, incident)."""
    from dispatch import services as dispatch_services
    from tests import factories

    crew = factories.CrewFactory(unit=demo_units[0])
    factories.HospitalFactory(name="Töölö Hospital", lat=60.1803, lon=24.9238)
    incident = make_incident(determinant="DELTA", chief_complaint="Chest pain, 67-year-old male")
    dispatch_services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    return crew, incident


@pytest.fixture
def transporting(demo_units, make_incident, dispatcher):  # noqa: F811 - the fixtures above
    """A crew transporting a patient to the nurse's hospital (written before the screens open).
    Returns (crew, nurse, encounter)."""
    from dispatch import services as dispatch_services
    from handoff.services.destination import destination_set
    from handoff.services.encounters import encounter_open
    from tests import factories

    crew = factories.CrewFactory(unit=demo_units[0])
    hospital = factories.HospitalFactory(name="Kamppi Test Hospital", lat=60.1693, lon=24.9386)
    nurse = factories.EDStaffFactory(hospital=hospital)
    incident = make_incident(determinant="DELTA", chief_complaint="Chest pain, sweaty")
    [assignment] = dispatch_services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    for status in ("en_route", "on_scene"):
        dispatch_services.assignment_transition(
            user=crew, assignment_id=assignment.pk, to_status=status
        )
    encounter = encounter_open(
        user=crew, assignment_id=assignment.pk, data={"chief_complaint": "Chest pain"}
    )
    destination_set(user=crew, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest")
    dispatch_services.assignment_transition(
        user=crew, assignment_id=assignment.pk, to_status="transporting", destination_id=hospital.pk
    )
    return crew, nurse, encounter
