"""The crew tablet page: the unit bar, the outbox state, the assignment card and its scripts."""

from __future__ import annotations

import json
import re

import pytest

from dispatch import services

URL = "/dispatch/tablet/"


def _initial(html: str) -> dict:
    match = re.search(r'<script id="tablet-initial" type="application/json">(.*?)</script>', html)
    assert match, "the page embeds its initial state"
    return json.loads(match.group(1))


@pytest.fixture
def page(client, paramedic, hospital):
    client.force_login(paramedic)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_tablet_shows_the_unit_connection_and_outbox_state(page, unit):
    assert unit.call_sign in page
    assert 'id="unit-status"' in page
    assert 'id="connection"' in page
    assert 'id="outbox-state"' in page
    assert "All sent" in page
    assert 'id="gps-toggle"' in page
    assert "Available — waiting for assignment" in page


def test_tablet_has_the_assignment_card_and_status_controls(page, hospital):
    for element in ("assignment", "access-notes", "ack-button", "status-buttons", "steps"):
        assert f'id="{element}"' in page
    assert 'id="route-map"' in page
    assert f'<option value="{hospital.pk}"' in page


def test_tablet_loads_its_scripts_and_styles(page):
    # One entry module; it imports the socket, the outbox and the record (dispatch/assets.py).
    assert '<script type="module" src="/static/dispatch/tablet.js">' in page
    for asset in (
        "/static/dispatch/tablet.css",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
    ):
        assert asset in page


def test_an_idle_unit_starts_at_the_stream_head_without_an_assignment(page, unit):
    initial = _initial(page)
    assert initial["seq"] == 0
    assert initial["assignment"] is None
    assert initial["unit"]["id"] == unit.pk


def test_a_dispatched_unit_gets_its_assignment_with_the_page(
    client, road_map, demo_units, make_incident, dispatcher
):
    from tests import factories

    unit = demo_units[0]
    crew = factories.CrewFactory(unit=unit)
    incident = make_incident(access_notes="Gate code 4711, 3rd floor")
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[unit.pk]
    )
    client.force_login(crew)
    initial = _initial(client.get(URL).content.decode())
    assert initial["seq"] >= 1
    assert initial["assignment"]["id"] == assignment.pk
    assert initial["assignment"]["status"] == "dispatched"
    assert initial["assignment"]["incident"]["access_notes"] == "Gate code 4711, 3rd floor"


@pytest.mark.parametrize("role", ["dispatcher", "ed_nurse", "admin", "outsider"])
def test_tablet_is_forbidden_to_other_roles(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403


def test_tablet_needs_a_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
