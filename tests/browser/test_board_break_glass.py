"""The ED board's break-glass screen (issue 22, Trust), end to end in chromium.

An ED nurse of another hospital opens the patient by the temporary id the crew reads out:
a short reason is refused naming `reason`; a good one logs the grant, flags the read in the
audit log, mails the administrators (a daphne of its own with the file mail backend, since
the server is another process) and shows the record read-only with its expiry, which ends
on screen when the grant does. The patient's own ED needs no break-glass; a dispatcher never
sees the control.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from audit.models import AuditEvent
from handoff.models import BreakGlassGrant
from tests import factories
from tests.browser.conftest import VIEWPORT
from tests.services import processes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
REASON = "Patient re-presented to us unconscious, need the crew's findings"


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("break-glass-mail")


@pytest.fixture(scope="module")
def mailing_server_url(django_db_setup, django_db_blocker, built_map_dir, mail_dir):
    """A daphne like live_server_url's, with ADMINS set and mail written to `mail_dir`."""
    with django_db_blocker.unblock():
        env = processes.child_env(
            MAP_CACHE_DIR=str(built_map_dir),
            ADMINS="security-officer@example.org",
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(mail_dir),
        )
    with processes.daphne(env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def glass_context(browser, mailing_server_url):
    context = browser.new_context(viewport=VIEWPORT, base_url=mailing_server_url, locale="en-GB")
    context.route(re.compile(r"^(?!" + re.escape(mailing_server_url) + r")"), lambda r: r.abort())
    yield context
    context.close()


def _open_panel(page):
    page.locator("#break-glass[data-ready=true]").wait_for(timeout=TIMEOUT_MS)
    page.click("#break-glass-toggle")
    panel = page.locator("#break-glass-panel")
    panel.wait_for(timeout=TIMEOUT_MS)
    return panel


def _submit(page, temp_identifier, reason):
    page.fill("#break-glass-temp-id", temp_identifier)
    page.fill("#break-glass-reason", reason)
    page.click("#break-glass-submit")


def _mails(mail_dir):
    return sorted(path.read_text() for path in mail_dir.iterdir())


def test_nurse_of_another_hospital_breaks_glass_reads_the_record_until_it_expires(
    glass_context, browser_login, transporting, mail_dir
):
    _crew, _own_nurse, encounter = transporting
    stranger = factories.EDStaffFactory()
    sent_before = len(_mails(mail_dir))
    # Fake timers from the start, running at normal speed, so the expiry can be reached.
    glass_context.clock.install()
    page = browser_login(glass_context, stranger, "/ed/")
    assert page.locator(f"li.incoming[data-encounter-id='{encounter.public_id}']").count() == 0
    panel = _open_panel(page)
    warning = panel.locator(".break-glass-warning").inner_text()
    assert "break-glass access" in warning
    assert "logged" in warning
    assert "administrators" in warning

    _submit(page, encounter.temp_identifier, "need it")
    error = page.locator("#break-glass-error-reason")
    error.wait_for(timeout=TIMEOUT_MS)
    assert error.inner_text().startswith("reason")
    assert page.locator("#break-glass-reason").get_attribute("aria-invalid") == "true"
    assert page.locator("#break-glass-record").is_hidden()
    assert not BreakGlassGrant.objects.exists()

    _submit(page, "GH-2026-ZZZZZZ", REASON)
    unknown = page.locator("#break-glass-error-temp_identifier")
    unknown.wait_for(timeout=TIMEOUT_MS)
    assert unknown.inner_text().startswith("temp_identifier")
    assert page.locator("#break-glass-error-reason").is_hidden()
    assert not BreakGlassGrant.objects.exists()

    # Read out over the phone: lower case is fine.
    _submit(page, encounter.temp_identifier.lower(), REASON)
    record = page.locator("#break-glass-record")
    record.wait_for(timeout=TIMEOUT_MS)
    grant = BreakGlassGrant.objects.get(user=stranger, encounter=encounter)
    assert grant.reason == REASON
    assert encounter.temp_identifier in record.locator(".bg-title").inner_text()
    assert "Chest pain" in record.locator(".bg-complaint").inner_text()
    assert f"grant #{grant.pk}" in record.inner_text()
    assert "reported to the administrators" in record.inner_text()
    shown_expiry = page.locator("#break-glass").get_attribute("data-expires-at")
    assert datetime.fromisoformat(shown_expiry) == grant.expires_at
    local_expiry = page.evaluate(
        "iso => { const d = new Date(iso); return String(d.getHours()).padStart(2, '0') + ':'"
        " + String(d.getMinutes()).padStart(2, '0'); }",
        shown_expiry,
    )
    assert record.locator(".bg-until").inner_text() == f"Access until {local_expiry}"
    assert re.fullmatch(r"\d\d:\d\d left", record.locator(".bg-countdown").inner_text())
    # Read-only: nothing to type into, only the button that closes the view.
    assert record.locator("input, textarea, select, form").count() == 0
    assert record.locator("button").all_inner_texts() == ["Close record"]
    # The reason is not left in the page.
    assert REASON not in page.content()

    assert AuditEvent.objects.filter(
        action="break_glass", actor_id=stranger.pk, object_id=str(encounter.public_id)
    ).exists()
    reads = AuditEvent.objects.filter(action="read", actor_id=stranger.pk)
    assert reads.count() == 1
    assert reads.get().detail["break_glass"] is True
    assert reads.get().detail["grant"] == grant.pk

    mails = _mails(mail_dir)
    assert len(mails) == sent_before + 1
    [mail] = [m for m in mails if f"Break-glass read #{grant.pk}" in m]
    assert "security-officer@example.org" in mail
    for secret in (REASON, encounter.temp_identifier, str(encounter.public_id)):
        assert secret not in mail

    # The grant ends: the record leaves the page and the screen says so.
    page.clock.fast_forward(int((grant.expires_at - grant.created_at).total_seconds() + 60) * 1000)
    ended = page.locator("#break-glass-ended")
    ended.wait_for(timeout=TIMEOUT_MS)
    assert f"ended at {local_expiry}" in ended.inner_text()
    assert record.is_hidden()
    assert encounter.temp_identifier not in record.inner_text()
    assert page.locator("#break-glass-form").is_visible()


def test_the_patients_own_ed_needs_no_break_glass(glass_context, browser_login, transporting):
    _crew, nurse, encounter = transporting
    page = browser_login(glass_context, nurse, "/ed/")
    page.locator(f"li.incoming[data-encounter-id='{encounter.public_id}']").wait_for(
        timeout=TIMEOUT_MS
    )
    _open_panel(page)
    _submit(page, encounter.temp_identifier, REASON)
    error = page.locator("#break-glass-error-temp_identifier")
    error.wait_for(timeout=TIMEOUT_MS)
    assert "not needed" in error.inner_text()
    assert page.locator("#break-glass-record").is_hidden()
    assert not BreakGlassGrant.objects.exists()
    assert not AuditEvent.objects.filter(action="break_glass").exists()


def test_a_dispatcher_never_sees_the_control(glass_context, browser_login, dispatcher):
    page = browser_login(glass_context, dispatcher, "/dispatch/")
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#break-glass, #break-glass-toggle").count() == 0
    response = page.goto("/ed/")
    assert response is not None
    assert response.status == 403
    assert page.locator("#break-glass, #break-glass-toggle").count() == 0
