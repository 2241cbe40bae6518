"""The ED board page: for ED staff of the hospital, with its incoming rows embedded."""

from __future__ import annotations

import json
import re

import pytest

from handoff.services.vitals import vitals_record
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/ed/"


def _embedded(page: str) -> dict:
    match = re.search(r'<script id="initial-board" type="application/json">(.*?)</script>', page)
    assert match, "the initial board is embedded with json_script"
    return json.loads(match.group(1))


def test_board_renders_for_ed_staff_with_the_incoming_rows_embedded(
    client, ed_nurse, hospital, routed, paramedic
):
    vitals_record(
        user=paramedic,
        encounter_id=routed.pk,
        client_id="v-1",
        data={"heart_rate": 128, "respiratory_rate": 26, "systolic_bp": 92, "spo2": 90},
    )
    client.force_login(ed_nurse)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    board = _embedded(page)
    assert board["hospital"]["id"] == hospital.pk
    [row] = board["incoming"]
    assert row["encounter_id"] == str(routed.public_id)
    assert row["latest_vitals"]["values"]["heart_rate"] == 128
    assert row["acuity"] == "high"
    assert f'data-encounter-id="{routed.public_id}"' in page
    assert routed.temp_identifier in page
    assert "csrfmiddlewaretoken" in page
    assert "handoff/board.js" in page
    assert "handoff/board.css" in page
    assert 'id="connection"' in page


def test_board_never_embeds_the_patient_name(client, ed_nurse, routed):
    client.force_login(ed_nurse)
    page = client.get(URL).content.decode()
    assert routed.family_name
    assert routed.family_name not in page
    assert routed.given_name not in page


def test_board_shows_the_empty_state_without_incoming_patients(client, ed_nurse):
    client.force_login(ed_nurse)
    page = client.get(URL).content.decode()
    assert "No patients on their way" in page
    assert _embedded(page)["incoming"] == []


def test_board_lists_only_the_staff_members_own_hospital(client, routed):
    stranger = factories.EDStaffFactory()
    client.force_login(stranger)
    page = client.get(URL).content.decode()
    assert _embedded(page)["incoming"] == []
    assert str(routed.public_id) not in page


@pytest.mark.parametrize("role_fixture", ["paramedic", "dispatcher", "admin", "outsider"])
def test_board_is_for_ed_staff_only(client, request, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
