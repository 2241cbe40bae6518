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
    # The dispatcher clicks where another unit's marker (or its call-sign label) stands: while
    # picking, that click is still the position, not the other unit's popup.
    other = demo_units[1]
    page.evaluate(
        f"""(() => {{ const m = window.GoldenHour.console.map;
        const u = window.GoldenHour.console.unit({other.pk});
        m.setView([u.lat, u.lon], m.getZoom(), {{animate: false}}); }})()"""
    )
    map_at_rest(page)
    icon = page.locator(f".leaflet-marker-icon[title='{other.call_sign}']").bounding_box()
    assert icon is not None, "the other unit's marker is not on the map"
    x, y = icon["x"] + icon["width"] / 2, icon["y"] + icon["height"] / 2
    box = page.locator("#map").bounding_box()
    aimed = page.evaluate(
        f"""(() => {{ const p = window.GoldenHour.console.map.containerPointToLatLng(
        [{x - box["x"]}, {y - box["y"]}]); return [p.lat, p.lng]; }})()"""
    )
    page.mouse.click(x, y)
    page.wait_for_function(
        "id => window.GoldenHour.console.unit(id).position_source === 'manual'",
        arg=unit.pk,
        timeout=10000,
    )
    after = page.evaluate(f"window.GoldenHour.console.unit({unit.pk})")
    assert (after["lat"], after["lon"]) != (before["lat"], before["lon"])
    assert [after["lat"], after["lon"]] == pytest.approx(aimed, abs=5e-5)  # a pixel or two
    assert page.locator(f".unit-popup[data-unit-id='{other.pk}']").count() == 0
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
