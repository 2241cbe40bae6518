"""Free text typed by people (complaints, notes, names, messages, history) is shown as text on
every screen, never run as HTML (issue 22, Trust). Every field carries its own markup payload
whose image handler records the field's name; the pages are opened with their
Content-Security-Policy switched off, so only the screens' own escaping protects them.
Control characters never reach a screen: the API refuses them naming the field."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from dispatch import services as dispatch_services
from handoff.models import BreakGlassGrant
from handoff.services.board import (
    crew_message_send,
    ed_assign_bay,
    ed_message_send,
    ed_status_set,
)
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open
from handoff.services.handover import ed_encounter_close
from handoff.services.treatment import intervention_record, medication_record
from handoff.services.vitals import vitals_record
from tests import factories
from tests.browser.conftest import VIEWPORT
from tests.browser.server import post_json
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


def evil(field: str) -> str:
    """Markup whose failing image pushes `field` onto window.__xss if it is ever parsed."""
    return f"<img src=x onerror=\"(window.__xss=window.__xss||[]).push('{field}')\">{field}"


@pytest.fixture
def no_csp_contexts(browser, live_server_url):
    """Fresh profiles (one per signed-in user) with the Content-Security-Policy off."""
    contexts = []

    def make():
        context = browser.new_context(
            viewport=VIEWPORT, base_url=live_server_url, locale="en-GB", bypass_csp=True
        )
        context.route(re.compile(r"^(?!" + re.escape(live_server_url) + r")"), lambda r: r.abort())
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def marked_up(demo_units, make_incident, dispatcher):
    """A crew transporting a patient whose every free-text field is a markup payload."""
    centre = dispatcher.dispatch_centre
    centre.name = evil("centre")
    centre.save(update_fields=["name"])
    crew = factories.CrewFactory(unit=demo_units[0])
    hospital = factories.HospitalFactory(name=evil("hospital"), lat=60.1693, lon=24.9386)
    nurse = factories.EDStaffFactory(hospital=hospital)
    incident = make_incident(
        determinant="DELTA",
        chief_complaint=evil("incident_cc"),
        caller_name=evil("caller"),
        notes=evil("notes"),
        access_notes=evil("access"),
    )
    [assignment] = dispatch_services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    for status in ("en_route", "on_scene"):
        dispatch_services.assignment_transition(
            user=crew, assignment_id=assignment.pk, to_status=status
        )
    encounter = encounter_open(
        user=crew,
        assignment_id=assignment.pk,
        data={
            "family_name": evil("family"),
            "given_name": evil("given"),
            "chief_complaint": evil("enc_cc"),
            "mechanism": evil("mechanism"),
            "injuries": evil("injuries"),
            "allergies": [evil("allergy")],
            "history": [evil("history")],
            "medications": [{"name": evil("home_med"), "anticoagulant": False}],
        },
    )
    destination_set(user=crew, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest")
    dispatch_services.assignment_transition(
        user=crew, assignment_id=assignment.pk, to_status="transporting", destination_id=hospital.pk
    )
    intervention_record(
        user=crew, encounter_id=encounter.pk, client_id="iv-1", text=evil("intervention")
    )
    medication_record(user=crew, encounter_id=encounter.pk, client_id="med-1", name=evil("drug"))
    crew_message_send(user=crew, encounter_id=encounter.pk, text=evil("crew_msg"))
    ed_message_send(user=nurse, encounter_id=encounter.pk, text=evil("ed_msg"))
    return crew, nurse, incident, encounter


def short(field: str) -> str:
    """evil() for fields too short for it (a cardiac rhythm is 64 characters)."""
    return f"<img src=x onerror=__xss=['{field}']>{field}"


# A bay is 32 characters: room for a handler that only says that something ran.
BAY = "<img src=x onerror=__xss=1>bay"


def _nothing_ran(page) -> None:
    # A broken image runs its handler as soon as it is parsed; give it a moment anyway.
    page.wait_for_timeout(500)
    ran = page.evaluate("() => window.__xss || null")
    assert ran is None, f"markup ran on {page.url}: {ran}"
    assert page.locator("img[src=x]").count() == 0


def _shows(page, *fields: str) -> None:
    text = page.inner_text("body")
    for field in fields:
        assert evil(field) in text, f"{field} not shown as text on {page.url}"


def test_markup_in_every_free_text_field_shows_as_text_on_every_screen(
    no_csp_contexts, browser_login, marked_up, dispatcher
):
    crew, nurse, incident, encounter = marked_up

    console = browser_login(no_csp_contexts(), dispatcher, "/dispatch/")
    console.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    row = console.locator(f"#incident-list li[data-incident-id='{incident.pk}']")
    row.wait_for(timeout=TIMEOUT_MS)
    row.click()
    popup = console.locator(".leaflet-popup-content")
    popup.wait_for(timeout=TIMEOUT_MS)
    _shows(console, "incident_cc")
    _nothing_ran(console)
    console.close()

    tablet = browser_login(no_csp_contexts(), crew, "/dispatch/tablet/")
    tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    tablet.locator("body", has_text="incident_cc").wait_for(timeout=TIMEOUT_MS)
    # The ED's message is in the (hidden) messages panel: present, parsed as text only.
    tablet.locator("body", has_text="ed_msg").wait_for(state="attached", timeout=TIMEOUT_MS)
    _shows(tablet, "incident_cc", "access", "hospital")
    _nothing_ran(tablet)
    tablet.close()

    board = browser_login(no_csp_contexts(), nurse, "/ed/")
    card = board.locator(f"li.incoming[data-encounter-id='{encounter.public_id}']")
    card.wait_for(timeout=TIMEOUT_MS)
    card.locator(".history", has_text="history").wait_for(timeout=TIMEOUT_MS)
    board.locator("body", has_text="crew_msg").wait_for(timeout=TIMEOUT_MS)
    _shows(board, "family", "given", "enc_cc", "allergy", "history", "home_med", "crew_msg")
    _nothing_ran(board)
    board.close()

    report = browser_login(no_csp_contexts(), dispatcher, "/dispatch/reports/")
    _shows(report, "centre")
    _nothing_ran(report)


def test_a_control_character_is_refused_naming_the_field_not_rendered(live_server_url, marked_up):
    crew, _nurse, _incident, encounter = marked_up
    request = urllib.request.Request(  # noqa: S310  (the test's own live server, http only)
        f"{live_server_url}/api/v1/encounters/{encounter.public_id}/",
        data=json.dumps({"chief_complaint": "Chest\u0007 pain\u001b[2J"}).encode(),
        method="PATCH",
        headers={
            "Authorization": f"Token {device_token(crew)}",
            "Content-Type": "application/json",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310
    assert refused.value.code == 400
    body = refused.value.read().decode()
    assert "chief_complaint" in body
    assert "U+0007" in body
    encounter.refresh_from_db()
    assert encounter.chief_complaint == evil("enc_cc")


def test_every_ed_board_panel_shows_markup_as_text(
    no_csp_contexts, browser_login, live_server_url, marked_up
):
    """Every panel of the ED board that shows free text, with the payloads, in chromium: the
    card (identity, record, complaint, allergies, treatment), the vitals, the bay, the crew
    messages both ways, the handover state of a card the ED closed (recent list), the ED's
    diversion reason, the announcement of a patient arriving live, and the break-glass view
    of another hospital's clinician."""
    crew, nurse, _incident, encounter = marked_up
    hospital = nurse.hospital
    vitals_record(
        user=crew,
        encounter_id=encounter.pk,
        client_id="v-1",
        data={"heart_rate": 88, "cardiac_rhythm": short("rhythm")},
    )
    ed_assign_bay(user=nurse, encounter_id=encounter.pk, bay=BAY)
    ed_status_set(user=nurse, hospital_id=hospital.pk, status="diversion", reason=evil("diversion"))
    # A second patient of the same crew, closed by the ED: the recent list's handover state.
    second = encounter_open(
        user=crew, assignment_id=encounter.assignment_id, data={"chief_complaint": "Fall"}
    )
    destination_set(user=crew, encounter_id=second.pk, hospital_id=hospital.pk, reason="closest")
    ed_encounter_close(user=nurse, encounter_id=second.pk, reason=evil("closed_reason"))

    board = browser_login(no_csp_contexts(), nurse, "/ed/")
    card = board.locator(f"li.incoming[data-encounter-id='{encounter.public_id}']")
    card.wait_for(timeout=TIMEOUT_MS)
    card.locator(".history", has_text="history").wait_for(timeout=TIMEOUT_MS)
    board.locator("#recent-list", has_text="closed_reason").wait_for(timeout=TIMEOUT_MS)
    board.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    # A third patient arrives while the board is open (through the server, so the event
    # reaches its socket): its card and its announcement.
    token = device_token(crew)
    third = post_json(
        live_server_url,
        f"/api/v1/assignments/{encounter.assignment_id}/encounters/",
        token,
        {"chief_complaint": evil("live_cc")},
    )
    post_json(
        live_server_url,
        f"/api/v1/encounters/{third['encounter_id']}/destination/",
        token,
        {"hospital": hospital.pk, "reason": "closest"},
    )
    board.locator(f"li.incoming[data-encounter-id='{third['encounter_id']}']").wait_for(
        timeout=TIMEOUT_MS
    )
    board.locator("#alert-live", has_text=third["temp_identifier"]).wait_for(timeout=TIMEOUT_MS)
    _shows(
        board,
        "family",
        "given",
        "enc_cc",
        "allergy",
        "history",
        "home_med",
        "intervention",
        "drug",
        "crew_msg",
        "ed_msg",
        "diversion",
        "closed_reason",
        "live_cc",
    )
    assert short("rhythm") in card.inner_text()
    assert BAY in card.inner_text()
    _nothing_ran(board)
    board.close()

    # Another hospital's clinician reads the same record under a break-glass grant.
    stranger = factories.EDStaffFactory()
    glass = browser_login(no_csp_contexts(), stranger, "/ed/")
    glass.locator("#break-glass[data-ready=true]").wait_for(timeout=TIMEOUT_MS)
    glass.click("#break-glass-toggle")
    # The form's own error slots take the input's markup as text too.
    glass.fill("#break-glass-temp-id", evil("temp_id_input"))
    glass.fill("#break-glass-reason", evil("reason_input"))
    glass.click("#break-glass-submit")
    glass.locator("#break-glass-error-temp_identifier").wait_for(timeout=TIMEOUT_MS)
    glass.fill("#break-glass-temp-id", encounter.temp_identifier)
    glass.click("#break-glass-submit")
    record = glass.locator("#break-glass-record")
    record.wait_for(timeout=TIMEOUT_MS)
    assert BreakGlassGrant.objects.filter(user=stranger, encounter=encounter).exists()
    text = record.inner_text()
    for field in (
        "family",
        "given",
        "enc_cc",
        "mechanism",
        "injuries",
        "allergy",
        "history",
        "home_med",
        "intervention",
        "drug",
        "crew_msg",
        "ed_msg",
    ):
        assert evil(field) in text, f"{field} not shown as text in the break-glass view"
    assert short("rhythm") in text
    _nothing_ran(glass)
