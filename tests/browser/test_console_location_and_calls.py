"""The console keeps the chosen address, attaches a duplicate call with its content, and
closes an incident from its map popup."""

from __future__ import annotations

import pytest

from dispatch.models import Call, Incident
from tests.browser.conftest import map_at_rest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_console(browser_context, browser_login, dispatcher):
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=15000)
    return page


def _until(page, script, timeout_ms=15000):
    # The console's CSP forbids eval, so poll with evaluate instead of wait_for_function.
    for _ in range(timeout_ms // 250):
        if page.evaluate(script):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"never true: {script}")


def _call(page, complaint, priority, where):
    page.fill("#chief_complaint", complaint)
    page.select_option("#priority", priority)
    page.fill("#location_text", where)
    page.click("#intake-form button[type=submit]")


def test_typed_house_number_is_stored_and_shown_as_chosen(
    browser_context, browser_login, dispatcher, demo_units
):
    page = _open_console(browser_context, browser_login, dispatcher)
    _call(page, "Fall, hip pain", "BRAVO", "Kalevankatu 6")
    chooser = page.locator("#intake-result button.candidate")
    result = page.locator("#intake-result")
    result.filter(has_text="Incident #").or_(chooser.first).wait_for(timeout=20000)
    if chooser.count():
        chooser.filter(has_text="Kalevankatu 6").first.click()
    page.wait_for_selector("#intake-result:has-text('created')", timeout=20000)
    incident = Incident.objects.get()
    assert incident.address == "Kalevankatu 6, 00100 Helsinki"
    assert "Kalevankatu 6" in result.inner_text()
    assert "stop at Kalevankatu" in result.inner_text()
    row = page.locator(f"#incident-list li[data-incident-id='{incident.pk}']")
    assert "Kalevankatu 6" in row.inner_text()
    assert "Kalevankatu 5" not in row.inner_text()


def test_duplicate_call_is_attached_with_its_complaint_and_upgrade_accepted(
    browser_context, browser_login, dispatcher, demo_units
):
    page = _open_console(browser_context, browser_login, dispatcher)
    _call(page, "Fell in the kitchen", "CHARLIE", "Kalevankatu 6")
    page.wait_for_selector("#intake-result:has-text('created')", timeout=20000)
    first = Incident.objects.get()

    _call(page, "collapsed, not breathing?", "ECHO", "Kalevankatu 6")
    attach = page.locator(f"#intake-result button.attach:has-text('#{first.pk}')")
    attach.wait_for(timeout=20000)
    attach.click()
    result = page.locator("#intake-result")
    result.filter(has_text="attached").wait_for(timeout=15000)
    text = result.inner_text()
    assert f"Call attached to #{first.pk}" in text
    assert "collapsed, not breathing?" in text
    assert "upgrade from Charlie to Echo proposed" in text
    assert "created" not in text
    assert Call.objects.filter(incident=first, chief_complaint="collapsed, not breathing?").exists()

    row = page.locator(f"#incident-list li[data-incident-id='{first.pk}']")
    row.filter(has_text="upgrade to Echo proposed").wait_for(timeout=10000)
    row.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10000)
    map_at_rest(page)
    assert "collapsed, not breathing?" in popup.inner_text()
    popup.locator("button[data-incident-action=upgrade]").click()
    _until(page, f"(window.GoldenHour.console.incident({first.pk}) || {{}}).determinant === 'ECHO'")
    first.refresh_from_db()
    assert (first.determinant, first.proposed_determinant) == ("ECHO", "")


def test_dispatch_then_replace_and_close_from_the_popup(
    browser_context, browser_login, dispatcher, demo_units
):
    page = _open_console(browser_context, browser_login, dispatcher)
    _call(page, "Dizzy", "CHARLIE", "Kalevankatu 6")
    page.locator("#recommendations li.rec:not(.excluded) button.dispatch").first.click()
    page.wait_for_selector("#intake-result:has-text('dispatched')", timeout=20000)
    incident = Incident.objects.get()
    [first] = incident.assignments.all()

    row = page.locator(f"#incident-list li[data-incident-id='{incident.pk}']")
    row.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10000)
    map_at_rest(page)
    popup.locator("button[data-incident-action=units]").click()
    page.locator("#recommendations li.rec").first.wait_for(timeout=15000)
    row.click()
    map_at_rest(page)
    popup.locator("button[data-incident-action=replace]").first.click()
    _until(
        page,
        f"""(() => {{
          const i = window.GoldenHour.console.incident({incident.pk});
          return i && i.assignments.some(a => a.id !== {first.pk} && a.status === 'dispatched');
        }})()""",
    )
    first.refresh_from_db()
    assert first.status == "cancelled"

    row.click()
    map_at_rest(page)
    popup.locator("select.disposition").select_option("no_patient_found")
    popup.locator("button[data-incident-action=close]").click()
    row.wait_for(state="detached", timeout=15000)
    incident.refresh_from_db()
    assert (incident.status, incident.disposition) == ("closed", "no_patient_found")
    assert not incident.assignments.filter(status="dispatched").exists()


def test_popup_controls_are_not_rebuilt_under_the_dispatchers_hand(
    browser_context, browser_login, dispatcher, demo_units
):
    """A unit freed or taken elsewhere changes the popup's replacement menus; while the
    dispatcher's hand is on the controls they stay the same nodes (a click between mousedown and
    mouseup on a rebuilt button would be lost), the disposition chosen survives, and they update
    once the hand leaves."""
    page = _open_console(browser_context, browser_login, dispatcher)
    _call(page, "Dizzy", "CHARLIE", "Kalevankatu 6")
    page.locator("#recommendations li.rec:not(.excluded) button.dispatch").first.click()
    page.wait_for_selector("#intake-result:has-text('dispatched')", timeout=20000)
    incident = Incident.objects.get()
    [first] = incident.assignments.all()
    others = [u for u in demo_units if u.pk != first.unit_id]

    row = page.locator(f"#incident-list li[data-incident-id='{incident.pk}']")
    row.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10000)
    map_at_rest(page)
    menu = popup.locator("select.replace-unit")
    menu.wait_for(timeout=15000)
    popup.locator("select.disposition").select_option("no_patient_found")
    close = popup.locator("button[data-incident-action=close]")
    # The dispatcher's hand is on the button: pointer resting on it and the focus in it
    # (a keyboard user has only the latter, which is also what the test can hold steady).
    close.hover()
    close.focus()
    close.evaluate("node => { node.dataset.mark = 'before'; }")
    before = menu.locator("option").count()

    # Another dispatcher's change, through the server (a page script, so the pointer stays).
    status = page.evaluate(
        """(id) => fetch("/api/v1/units/" + id + "/status/", {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json",
                    "X-CSRFToken": document.querySelector("input[name=csrfmiddlewaretoken]").value},
          body: JSON.stringify({status: "out_of_service", reason: "fuel"}),
        }).then(r => r.status)""",
        others[0].pk,
    )
    assert status == 200
    _until(
        page,
        f"(window.GoldenHour.console.unit({others[0].pk}) || {{}}).status === 'out_of_service'",
    )
    page.wait_for_timeout(500)
    assert close.evaluate("node => node.dataset.mark") == "before"
    assert menu.locator("option").count() == before

    page.mouse.move(5, 5)
    row.focus()
    _until(
        page,
        "document.querySelectorAll('.leaflet-popup select.replace-unit option').length === "
        f"{before - 1}",
    )
    assert popup.locator("select.disposition").input_value() == "no_patient_found"
    popup.locator("button[data-incident-action=close]").click()
    row.wait_for(state="detached", timeout=15000)
    incident.refresh_from_db()
    assert (incident.status, incident.disposition) == ("closed", "no_patient_found")
