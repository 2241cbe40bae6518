"""Mutual aid on two consoles: the requesting dispatcher asks a partner centre for its unit
from the ranking, the partner's console shows the request and accepts it, and the first
console shows the unit assigned; the partner never sees who called."""

from __future__ import annotations

import pytest

from dispatch.models import MutualAidAgreement
from tests import factories
from tests.browser.conftest import console_page, map_at_rest
from tests.dispatch.conftest import HAKANIEMI, KAMPPI

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000
CALLER_NAME = "Aino Soittaja"
CALLER_PHONE = "+358409998877"


def _two_centres(centre, make_incident):
    """The asking centre with its own unit far off, a partner with VAN-11 near the patient,
    and an open incident of the asking centre. Returns (partner dispatcher, lent, incident)."""
    partner = factories.DispatchCentreFactory(name="Vantaa Dispatch", code="vantaa")
    low, high = sorted((centre, partner), key=lambda c: c.pk)
    MutualAidAgreement.objects.create(centre_a=low, centre_b=high)
    partner_dispatcher = factories.DispatcherFactory(dispatch_centre=partner)
    factories.UnitFactory(
        home_station=factories.StationFactory(centre=centre, lat=HAKANIEMI[0], lon=HAKANIEMI[1]),
        call_sign="HEL-21",
        unit_type="ALS",
    )
    lent = factories.UnitFactory(
        home_station=factories.StationFactory(centre=partner, lat=KAMPPI[0], lon=KAMPPI[1]),
        call_sign="VAN-11",
        unit_type="ALS",
    )
    incident = make_incident(
        determinant="DELTA",
        chief_complaint="Chest pain, 67-year-old male",
        caller_name=CALLER_NAME,
        caller_phone=CALLER_PHONE,
    )
    return partner_dispatcher, lent, incident


@pytest.fixture
def consoles(
    browser_context, second_context, browser_login, road_map, centre, dispatcher, make_incident
):
    """Both centres' consoles, live: (asking page, lending page, the partner's unit, incident)."""
    partner_dispatcher, lent, incident = _two_centres(centre, make_incident)
    asking = console_page(browser_context, browser_login, dispatcher)
    lending = console_page(second_context, browser_login, partner_dispatcher)
    lending.locator("#aid-empty").wait_for(timeout=TIMEOUT_MS)
    return asking, lending, lent, incident


def test_a_partner_unit_is_requested_accepted_and_shown_assigned(consoles):
    asking, lending, lent, incident = consoles

    asking.click(f"#incident-list li[data-incident-id='{incident.pk}']")
    row = asking.locator(f"#recommendations li.rec[data-unit-id='{lent.pk}']")
    row.locator(".rec-aid", has_text="Mutual aid · Vantaa Dispatch").wait_for(timeout=TIMEOUT_MS)
    assert row.locator("button.dispatch").count() == 0
    row.locator("button", has_text="Request from Vantaa Dispatch").click()
    asking.wait_for_selector("#intake-result:has-text('requested from Vantaa Dispatch')")
    asking.locator("#aid-out li[data-status='requested']", has_text="VAN-11").wait_for(
        timeout=TIMEOUT_MS
    )

    incoming = lending.locator("#aid-in li[data-status='requested']", has_text="VAN-11")
    incoming.wait_for(timeout=TIMEOUT_MS)
    assert "Chest pain, 67-year-old male" in incoming.inner_text()
    incoming.locator("button", has_text="Accept").click()
    lending.locator("#aid-in li[data-status='accepted']", has_text="VAN-11").wait_for(
        timeout=TIMEOUT_MS
    )
    # Its own unit, now dispatched, is still on the lender's board.
    lending.locator(f"#unit-list li[data-unit-id='{lent.pk}'][data-status='dispatched']").wait_for(
        timeout=TIMEOUT_MS
    )

    asking.locator(
        f"#incident-list li[data-incident-id='{incident.pk}'] .incident-units", has_text="VAN-11"
    ).wait_for(timeout=TIMEOUT_MS)
    asking.locator("#aid-out li[data-status='accepted']", has_text="Accepted by Vantaa").wait_for(
        timeout=TIMEOUT_MS
    )

    # The lent unit is on the asking centre's list and map while it works the incident,
    # marked as the partner's and not counted among the centre's own units.
    lent_row = asking.locator(f"#unit-list li[data-unit-id='{lent.pk}']")
    lent_row.locator(".badge.lent", has_text="Mutual aid · Vantaa Dispatch").wait_for(
        timeout=TIMEOUT_MS
    )
    assert asking.locator("#unit-count").inner_text() == "1"
    asking.locator(".leaflet-marker-icon[title='VAN-11']").wait_for(timeout=TIMEOUT_MS)

    html = lending.content()
    assert CALLER_NAME not in html
    assert CALLER_PHONE not in html
    assert lending.locator(f"#incident-list li[data-incident-id='{incident.pk}']").count() == 0

    # Its assignment ends (the asking dispatcher cancels it): the unit leaves the asking
    # console and stays, available, on its own centre's.
    assignment = incident.assignments.get(unit=lent)
    asking.click(f"#incident-list li[data-incident-id='{incident.pk}']")
    popup = asking.locator(".leaflet-popup-content")
    popup.wait_for(timeout=TIMEOUT_MS)
    map_at_rest(asking)
    popup.locator(
        f"button[data-incident-action=cancel][data-assignment-id='{assignment.pk}']"
    ).click()
    lent_row.wait_for(state="detached", timeout=TIMEOUT_MS)
    assert asking.locator(".leaflet-marker-icon[title='VAN-11']").count() == 0
    lending.locator(f"#unit-list li[data-unit-id='{lent.pk}'][data-status='available']").wait_for(
        timeout=TIMEOUT_MS
    )


def _request(asking, incident, lent):
    asking.click(f"#incident-list li[data-incident-id='{incident.pk}']")
    row = asking.locator(f"#recommendations li.rec[data-unit-id='{lent.pk}']")
    row.locator("button", has_text="Request from Vantaa Dispatch").click()
    asking.wait_for_selector("#intake-result:has-text('requested from Vantaa Dispatch')")


def test_a_request_refused_with_its_reason_and_one_withdrawn_reach_the_other_console(consoles):
    asking, lending, lent, incident = consoles

    # Refused: the partner must say why; the asking console shows the reason.
    _request(asking, incident, lent)
    incoming = lending.locator("#aid-in li[data-status='requested']", has_text="VAN-11")
    incoming.wait_for(timeout=TIMEOUT_MS)
    incoming.locator("button", has_text="Refuse").click()
    incoming.locator(".aid-result", has_text="Say why the unit cannot be lent.").wait_for(
        timeout=TIMEOUT_MS
    )
    incoming.locator(".aid-reason").fill("Crew on a meal break")
    incoming.locator("button", has_text="Refuse").click()
    asking.locator(
        "#aid-out li[data-status='refused']", has_text="Refused by Vantaa Dispatch"
    ).filter(has_text="Crew on a meal break").wait_for(timeout=TIMEOUT_MS)
    lending.locator("#aid-in li[data-status='refused']", has_text="VAN-11").wait_for(
        timeout=TIMEOUT_MS
    )
    assert lending.locator("#aid-in li[data-status='refused'] button").count() == 0

    # Withdrawn by the asking centre before the partner answers: the partner can no longer
    # accept it, and the unit was never sent.
    _request(asking, incident, lent)
    outgoing = asking.locator("#aid-out li[data-status='requested']", has_text="VAN-11")
    outgoing.wait_for(timeout=TIMEOUT_MS)
    lending.locator("#aid-in li[data-status='requested']", has_text="VAN-11").wait_for(
        timeout=TIMEOUT_MS
    )
    outgoing.locator("button", has_text="Withdraw").click()
    asking.locator("#aid-out li[data-status='withdrawn']", has_text="VAN-11").wait_for(
        timeout=TIMEOUT_MS
    )
    withdrawn = lending.locator("#aid-in li[data-status='withdrawn']", has_text="VAN-11")
    withdrawn.filter(has_text="Withdrawn by").wait_for(timeout=TIMEOUT_MS)
    assert withdrawn.locator("button").count() == 0
    assert lending.locator("#aid-in li[data-status='requested']").count() == 0
    lent.refresh_from_db()
    assert lent.status == "available"
    assert not incident.assignments.exists()
