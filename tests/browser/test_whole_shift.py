"""A whole shift in three browsers, from the call to the report: a call by address, the chosen
address on the tablet, a duplicate call attached with its complaint, dispatch, the tablet
acknowledging and driving (fixes), vitals recorded offline and sent on reconnect, the ED seeing
a live ETA and acknowledging, arrival, both sides confirming the transfer of care, the card
leaving the board, and the report showing the offload time."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime

import pytest

from dispatch.models import Call, Incident
from handoff.models import Encounter, VitalsSet
from tests import factories
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 20_000
# A point on the demo graph a few hundred metres from Kalevankatu: the unit drives from here.
ON_THE_WAY = (60.1686, 24.9410)


def _post(base: str, path: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the test's own live server
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _fix(base: str, unit_id: int, token: str, n: int) -> None:
    _post(
        base,
        f"/api/v1/units/{unit_id}/positions/",
        token,
        {
            "device_id": "shift-avl",
            "positions": [
                {
                    "id": f"shift-avl:{n}",
                    "lat": ON_THE_WAY[0],
                    "lon": ON_THE_WAY[1],
                    "recorded_at": datetime.now(UTC).isoformat(),
                }
            ],
        },
    )


def _tap_number(page, vital: str, digits: str) -> None:
    page.click(f"[data-vital-input='{vital}']")
    page.click("#keypad [data-key='clear']")
    for digit in digits:
        page.click(f"#keypad [data-key='{digit}']")


def _call(page, complaint: str, priority: str, where: str) -> None:
    page.fill("#chief_complaint", complaint)
    page.select_option("#priority", priority)
    page.fill("#location_text", where)
    page.click("#intake-form button[type=submit]")


def test_a_whole_shift_from_the_call_to_the_offload_time_in_the_report(
    browser, browser_context, browser_login, live_server_url, demo_units, dispatcher
):
    crew = factories.CrewFactory(unit=demo_units[0])
    hospital = factories.HospitalFactory(
        name="Shift Test Hospital", lat=60.1693, lon=24.9386, capabilities=["general"]
    )
    nurse = factories.EDStaffFactory(hospital=hospital)
    crew_token = device_token(crew)

    def context():
        return browser.new_context(
            viewport={"width": 1280, "height": 800}, base_url=live_server_url, locale="en-GB"
        )

    ed_context, tablet_context = context(), context()
    try:
        # --- the call, by address; the chosen address is kept --------------------------------
        console = browser_login(browser_context, dispatcher, "/dispatch/")
        console.wait_for_selector("#connection:has-text('Live')", timeout=TIMEOUT_MS)
        tablet = browser_login(tablet_context, crew, "/dispatch/tablet/")
        tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
        board = browser_login(ed_context, nurse, "/ed/")
        board.wait_for_function("() => window.GoldenHour.edBoard.state.seq !== null")

        _call(console, "Chest pain, sweaty", "DELTA", "Kalevankatu 6")
        result = console.locator("#intake-result")
        chooser = console.locator("#intake-result button.candidate")
        result.filter(has_text="Incident #").or_(chooser.first).wait_for(timeout=TIMEOUT_MS)
        if chooser.count():
            chooser.filter(has_text="Kalevankatu 6").first.click()
        console.wait_for_selector("#intake-result:has-text('created')", timeout=TIMEOUT_MS)
        incident = Incident.objects.get()
        assert incident.address.startswith("Kalevankatu 6")

        # --- dispatch the crew's unit from the ranked list ------------------------------------
        rec = console.locator(f"#recommendations li.rec[data-unit-id='{crew.unit_id}']")
        rec.locator("button.dispatch").click()
        console.wait_for_selector("#intake-result:has-text('dispatched')", timeout=TIMEOUT_MS)

        # --- a second caller: attached with what they said --------------------------------------
        _call(console, "collapsed, not breathing?", "ECHO", "Kalevankatu 6")
        attach = console.locator(f"#intake-result button.attach:has-text('#{incident.pk}')")
        attach.wait_for(timeout=TIMEOUT_MS)
        attach.click()
        result.filter(has_text="attached").wait_for(timeout=TIMEOUT_MS)
        assert "collapsed, not breathing?" in result.inner_text()
        assert Call.objects.filter(
            incident=incident, chief_complaint="collapsed, not breathing?"
        ).exists()
        assert Incident.objects.count() == 1

        # --- the tablet: the chosen address and where to stop; acknowledge and drive ----------
        tablet.locator("#complaint", has_text="Chest pain").wait_for(timeout=TIMEOUT_MS)
        assigned = tablet.locator("#assignment").inner_text()
        assert "Kalevankatu 6" in assigned
        assert "Kalevankatu 5" not in assigned
        tablet.click("#ack-button")
        tablet.click("#status-buttons button[data-to='en_route']", timeout=TIMEOUT_MS)
        for n in range(3):
            _fix(live_server_url, crew.unit_id, crew_token, n)
        console.wait_for_function(
            f"() => {{ const u = window.GoldenHour.console.unit({crew.unit_id});"
            f" return u && Math.abs(Number(u.lat) - {ON_THE_WAY[0]}) < 1e-6; }}",
            timeout=TIMEOUT_MS,
        )
        tablet.click("#status-buttons button[data-to='on_scene']", timeout=TIMEOUT_MS)
        tablet.locator("#record").wait_for(timeout=TIMEOUT_MS)

        # --- vitals recorded offline, sent on reconnect -------------------------------------------
        tablet.click("#add-patient")
        tablet.locator(".patient-tab", has_text="GH-").wait_for(timeout=TIMEOUT_MS)
        encounter = Encounter.objects.get(assignment__unit=crew.unit)
        tablet_context.set_offline(True)
        tablet.locator("#connection.offline").wait_for(timeout=TIMEOUT_MS)
        tablet.click("#tab-vitals")
        _tap_number(tablet, "heart_rate", "118")
        _tap_number(tablet, "systolic_bp", "92")
        _tap_number(tablet, "respiratory_rate", "24")
        tablet.click("#save-vitals")
        tablet.locator("#vitals-history tr.set-pending").wait_for(timeout=TIMEOUT_MS)
        assert not VitalsSet.objects.filter(encounter=encounter).exists()
        tablet_context.set_offline(False)
        tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
        [vitals] = VitalsSet.objects.filter(encounter=encounter)
        assert vitals.heart_rate == 118

        # --- destination; transporting: the ED sees a live ETA and acknowledges ----------------
        tablet.click("#tab-destination")
        option = tablet.locator(f".dest-option[data-hospital-id='{hospital.pk}']")
        option.wait_for(timeout=TIMEOUT_MS)
        option.click()
        tablet.select_option("#dest-reason", "closest")
        tablet.click("#dest-send")
        tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
        tablet.click("#status-buttons button[data-to='transporting']", timeout=TIMEOUT_MS)

        public_id = str(encounter.public_id)
        card = board.locator(f"#incoming-list li.incoming[data-encounter-id='{public_id}']")
        card.locator("[data-vital='heart_rate']", has_text="118").wait_for(timeout=TIMEOUT_MS)
        card.locator(".crew-status", has_text="Transporting").wait_for(timeout=TIMEOUT_MS)
        deadline = time.monotonic() + 30
        n = 10
        while not board.evaluate(
            "(id) => (window.GoldenHour.edBoard.row(id) || {}).eta_counts_down === true", public_id
        ):
            assert time.monotonic() < deadline, "no live ETA on the ED card"
            n += 1
            _fix(live_server_url, crew.unit_id, crew_token, n)
            time.sleep(1.0)
        card.locator("button.ack-patient").click()
        tablet.locator("#ed-ack-state", has_text="ED acknowledged").wait_for(timeout=TIMEOUT_MS)

        # --- arrival and the transfer of care, confirmed by both --------------------------------
        tablet.click("#status-buttons button[data-to='at_destination']", timeout=TIMEOUT_MS)
        card.locator(".eta-countdown", has_text="arrived").wait_for(timeout=TIMEOUT_MS)
        card.locator("button.confirm-handover").click()
        tablet.locator("#ed-ack-box .handover-confirm").click(timeout=TIMEOUT_MS)
        tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
        done = board.locator(f"#recent-list li.incoming[data-encounter-id='{public_id}']")
        done.locator(".handover-state", has_text="offload").wait_for(timeout=TIMEOUT_MS)
        assert card.count() == 0
        stored = Encounter.objects.get(pk=encounter.pk)
        assert stored.transfer_of_care_at is not None
        assert stored.offload_seconds is not None

        # --- the report shows the offload time ---------------------------------------------------
        report = browser_login(browser_context, dispatcher, "/dispatch/reports/")
        row = report.locator("#intervals tr[data-interval='apot_s']")
        assert row.locator("td.num").first.inner_text() == "1"
    finally:
        ed_context.close()
        tablet_context.close()
