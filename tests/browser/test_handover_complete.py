"""The handover walked to its end in two browsers and the report: the crew taps "At
destination" and the ED board shows the patient arrived; the ED confirms, the crew taps
"Clear" and still confirms from the tablet; the card leaves "on their way" for the handed-over
section, and the dispatcher's report shows the offload time (APOT)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from handoff.models import Encounter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = "/dispatch/tablet/"
BOARD = "/ed/"
REPORT = "/dispatch/reports/"
TIMEOUT_MS = 15_000
SHOTS = Path(tempfile.gettempdir())


def test_at_destination_arrival_both_confirm_card_leaves_and_report_shows_apot(
    browser, browser_context, browser_login, live_server_url, transporting, dispatcher
):
    crew, nurse, encounter = transporting
    public_id = str(encounter.public_id)
    ed_context = browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=live_server_url, locale="en-GB"
    )
    try:
        board = browser_login(ed_context, nurse, BOARD)
        board.wait_for_function("() => window.GoldenHour.edBoard.state.seq !== null")
        card = board.locator(f"#incoming-list li.incoming[data-encounter-id='{public_id}']")
        card.locator(".crew-status", has_text="Transporting").wait_for(timeout=TIMEOUT_MS)

        tablet = browser_login(browser_context, crew, TABLET)
        tablet.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
        tablet.click("#status-buttons button[data-to='at_destination']", timeout=TIMEOUT_MS)

        # The tablet's "At destination" marks the patient arrived on the ED's board, live.
        card.locator(".eta-countdown", has_text="arrived").wait_for(timeout=TIMEOUT_MS)
        card.locator("button.mark-arrived.done").wait_for(timeout=TIMEOUT_MS)
        # The crew is offered the confirmation at the ED.
        tablet.locator("#ed-ack-box .handover-confirm").wait_for(timeout=TIMEOUT_MS)

        card.locator("button.confirm-handover").click()
        card.locator(".handover-state", has_text="ED \u2713").wait_for(timeout=TIMEOUT_MS)

        # The crew clears first, then confirms from the handovers still to confirm.
        tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
        tablet.click("#status-buttons button[data-to='cleared']", timeout=TIMEOUT_MS)
        pending = tablet.locator("#handover-pending .handover-confirm")
        pending.wait_for(timeout=TIMEOUT_MS)
        pending.click()
        tablet.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)

        # Both confirmed: the card leaves "on their way" for the handed-over section.
        done = board.locator(f"#recent-list li.incoming[data-encounter-id='{public_id}']")
        done.locator(".handover-state", has_text="offload").wait_for(timeout=TIMEOUT_MS)
        assert card.count() == 0
        assert board.locator("#incoming-count").inner_text() == "0"
        assert board.locator("#empty-state").is_visible()
        tablet.locator("#handover-pending .handover-confirm").wait_for(
            state="detached", timeout=TIMEOUT_MS
        )

        board.screenshot(path=str(SHOTS / "ed-board-handed-over.png"), full_page=True)
        tablet.screenshot(path=str(SHOTS / "tablet-handover-pending.png"), full_page=True)
        stored = Encounter.objects.get(pk=encounter.pk)
        assert stored.transfer_of_care_at is not None
        assert stored.crew_confirmed_by == crew
        assert stored.offload_seconds is not None
        seconds = stored.offload_seconds

        report_context = browser.new_context(base_url=live_server_url, locale="en-GB")
        try:
            report = browser_login(report_context, dispatcher, REPORT)
            row = report.locator("#intervals tr[data-interval='apot_s']")
            cells = row.locator("td.num").all_inner_texts()
            assert cells[0] == "1"
            shown = f"{seconds // 60}:{seconds % 60:02d}"
            assert cells[2] == shown  # median
            assert cells[3] == shown  # 90th percentile
            assert re.search(r"APOT\), 90th percentile", report.content())
        finally:
            report_context.close()
    finally:
        ed_context.close()
