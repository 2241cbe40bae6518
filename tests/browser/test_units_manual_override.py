"""A dispatcher sets a unit's position by a map click and its status from the unit popup;
the map and the list follow, marked manual."""

from __future__ import annotations

import pytest

from dispatch.models import Unit
from tests.browser.conftest import map_at_rest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_position_by_map_click_and_status_from_the_popup(
    browser_context, browser_login, dispatcher, demo_units
):
    unit = demo_units[0]
    page = browser_login(browser_context, dispatcher, "/dispatch/")
    page.wait_for_selector("#connection:has-text('Live')", timeout=15000)
    row = page.locator(f"#unit-list li[data-unit-id='{unit.pk}']")
    row.click()
    popup = page.locator(f".unit-popup[data-unit-id='{unit.pk}']")
    popup.wait_for(timeout=5000)
    before = page.evaluate(f"window.GoldenHour.console.unit({unit.pk})")
    map_at_rest(page)
    popup.locator("button[data-action=pick-position]").click()
    # The button's click put the map in picking mode; only then is a map click a position.
    page.wait_for_selector("#map.picking-unit", timeout=5000)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    page.wait_for_function(
        "id => window.GoldenHour.console.unit(id).position_source === 'manual'",
        arg=unit.pk,
        timeout=10000,
    )
    after = page.evaluate(f"window.GoldenHour.console.unit({unit.pk})")
    assert (after["lat"], after["lon"]) != (before["lat"], before["lon"])
    row.locator(".badge.position-manual").wait_for(timeout=5000)
    assert " by " in row.locator(".badge.position-manual").text_content()
    stored = Unit.objects.get(pk=unit.pk)
    assert stored.position_source == "manual"
    assert stored.last_lat == pytest.approx(after["lat"], abs=1e-5)
    marker = page.evaluate(
        f"""(() => {{ let found = null;
        window.GoldenHour.console.map.eachLayer(l => {{
          if (l.options && l.options.title === {unit.call_sign!r} && l.getLatLng)
            found = l.getLatLng();
        }}); return found && [found.lat, found.lng]; }})()"""
    )
    assert marker == pytest.approx([after["lat"], after["lon"]], abs=1e-6)

    row.click()
    popup.wait_for(timeout=5000)
    map_at_rest(page)
    popup.locator(".unit-status-choice").select_option("out_of_service")
    popup.locator("button[data-action=set-status]").click()
    page.wait_for_selector(
        f"#unit-list li[data-unit-id='{unit.pk}'][data-status='out_of_service']", timeout=10000
    )
    assert "status manual" in row.locator(".badge.status-manual").text_content()
    assert Unit.objects.get(pk=unit.pk).status == "out_of_service"
