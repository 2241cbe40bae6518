"""Input that was taken as if it were fine (issue 24, items 9 and 14): a reused client_id
with other content, unknown fields, control characters, and times in year 0001 or 9999.

Each attack is sent over HTTP with the Django client, or as a device item over the crew
socket of the real ASGI app.
"""

import json
from datetime import timedelta

import pytest
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient
from django.utils import timezone

from config.asgi import application
from handoff.models import EDMessage, Encounter, Intervention, MedicationGiven, VitalsSet
from tests.handoff.conftest import PATIENT

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


# --- Item 9: the same client_id with other content -----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "first", "second", "differs", "model"),
    [
        (
            "vitals",
            {"client_id": "v-1", "vitals": {"heart_rate": 92}},
            {"client_id": "v-1", "vitals": {"heart_rate": 160}},
            "heart_rate",
            VitalsSet,
        ),
        (
            "interventions",
            {"client_id": "i-1", "text": "IV access"},
            {"client_id": "i-1", "text": "Intubation"},
            "text",
            Intervention,
        ),
        (
            "medications",
            {"client_id": "m-1", "name": "aspirin", "dose": 300, "unit": "mg", "route": "PO"},
            {"client_id": "m-1", "name": "aspirin", "dose": 150, "unit": "mg", "route": "PO"},
            "dose",
            MedicationGiven,
        ),
        (
            "messages",
            {"client_id": "t-1", "text": "Arriving in 5"},
            {"client_id": "t-1", "text": "Patient arrested"},
            "text",
            EDMessage,
        ),
    ],
)
def test_a_reused_client_id_with_other_content_is_409_and_the_same_content_stays_idempotent(
    client, paramedic, routed, route, first, second, differs, model
):
    client.force_login(paramedic)
    url = f"/api/v1/encounters/{routed.public_id}/{route}/"
    stored = post(client, url, first)
    assert stored.status_code == 201, stored.json()
    again = post(client, url, first)
    assert again.status_code == 201, again.json()
    assert again.json() == stored.json()
    other = post(client, url, second)
    assert other.status_code == 409, other.json()
    body = other.json()
    assert body["code"] == "client_id_conflict"
    assert "already has client_id" in body["client_id"][0]
    assert differs in body["client_id"][0]
    assert model.objects.count() == 1


# --- Item 9: unknown fields -----------------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_field_in_a_patch_is_refused_by_name_and_nothing_changes(
    client, paramedic, encounter
):
    client.force_login(paramedic)
    answer = patch(
        client,
        f"/api/v1/encounters/{encounter.public_id}/",
        {"chief_complaint": "fall", "status": "closed", "family_nmae": "Korhonen"},
    )
    assert answer.status_code == 400, answer.json()
    assert set(answer.json()) == {"status", "family_nmae"}
    assert "Unknown field" in answer.json()["family_nmae"][0]
    encounter.refresh_from_db()
    assert (encounter.chief_complaint, encounter.status) == ("chest pain", "open")


@pytest.mark.django_db
def test_an_unknown_field_in_a_post_and_in_a_nested_entry_is_refused_by_name(
    client, paramedic, assignment, routed
):
    client.force_login(paramedic)
    answer = post(
        client,
        f"/api/v1/encounters/{routed.public_id}/vitals/",
        {"client_id": "v-9", "vitals": {"heart_rate": 80}, "recorded_by": 1},
    )
    assert answer.status_code == 400
    assert list(answer.json()) == ["recorded_by"]
    nested = post(
        client,
        f"/api/v1/assignments/{assignment.pk}/encounters/",
        {"medications": [{"name": "warfarin", "anticoagulant": True, "dose": "5 mg"}]},
    )
    assert nested.status_code == 400
    assert list(nested.json()) == ["medications[0].dose"]


@pytest.mark.django_db
def test_an_unknown_field_in_a_dispatch_body_is_refused_by_name(client, dispatcher):
    client.force_login(dispatcher)
    answer = post(
        client,
        "/api/v1/incidents/",
        {
            "caller_name": "Maija",
            "chief_complaint": "fall",
            "determinant": "ALPHA",
            "location": {"source": "map", "lat": 60.17, "lon": 24.95, "floor": 3},
            "priority": "high",
        },
    )
    assert answer.status_code == 400, answer.json()
    assert set(answer.json()) == {"priority", "location.floor"}
    assert "Unknown field" in answer.json()["priority"][0]


# --- Item 14: control characters and absurd times ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"family_name": "Vir\x00tanen"}, "family_name"),
        ({"given_name": "Aino\x1b[2J"}, "given_name"),
        ({"given_name": "Aino\nMarja"}, "given_name"),
        ({"chief_complaint": "fall\x07"}, "chief_complaint"),
        ({"mechanism": "fell\rMSH|^~\\&|"}, "mechanism"),
        ({"allergies": ["penicillin\x00"]}, "allergies[0]"),
        ({"time_of_onset": "0001-01-01T00:00:00Z"}, "time_of_onset"),
        ({"last_known_well": "9999-12-31T23:59:59Z"}, "last_known_well"),
        ({"time_of_onset": "1999-12-31T23:59:00Z"}, "time_of_onset"),
    ],
)
def test_control_characters_and_absurd_times_are_refused_naming_the_field(
    client, paramedic, encounter, body, field
):
    client.force_login(paramedic)
    answer = patch(client, f"/api/v1/encounters/{encounter.public_id}/", body)
    assert answer.status_code == 400, answer.content[:300]
    # DRF itself names a NUL in a list item as {"allergies": {"0": [...]}}.
    errors = answer.json()
    assert field in errors or field.split("[")[0] in errors, errors
    reason = json.dumps(errors)
    assert any(
        why in reason
        for why in ("control character", "Null character", "2000-01-01", "out of range")
    ), reason
    encounter.refresh_from_db()
    assert encounter.family_name == PATIENT["family_name"]


@pytest.mark.django_db
def test_free_text_keeps_tab_and_newline(client, paramedic, encounter):
    client.force_login(paramedic)
    answer = patch(
        client,
        f"/api/v1/encounters/{encounter.public_id}/",
        {"mechanism": "Fell from a ladder.\n\tAbout 3 m."},
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["mechanism"] == "Fell from a ladder.\n\tAbout 3 m."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("vitals", {"client_id": "v-2", "vitals": {"spo2": 97}}, "taken_at"),
        ("interventions", {"client_id": "i-2", "text": "IV access"}, "performed_at"),
        ("medications", {"client_id": "m-2", "name": "aspirin"}, "given_at"),
    ],
)
@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"])
def test_clinical_times_in_year_0001_or_9999_are_refused(
    client, paramedic, routed, route, body, field, when
):
    client.force_login(paramedic)
    answer = post(client, f"/api/v1/encounters/{routed.public_id}/{route}/", {**body, field: when})
    assert answer.status_code == 400, answer.content[:300]
    assert field in answer.json(), answer.json()


@pytest.mark.django_db
def test_a_clinical_time_a_minute_ahead_of_the_server_is_a_clock_and_is_taken(
    client, paramedic, routed
):
    client.force_login(paramedic)
    ahead = (timezone.now() + timedelta(minutes=1)).isoformat()
    answer = post(
        client,
        f"/api/v1/encounters/{routed.public_id}/vitals/",
        {"client_id": "v-3", "vitals": {"spo2": 97}, "taken_at": ahead},
    )
    assert answer.status_code == 201, answer.json()


@pytest.mark.django_db
def test_a_control_character_in_a_message_is_refused(client, paramedic, routed):
    client.force_login(paramedic)
    answer = post(
        client,
        f"/api/v1/encounters/{routed.public_id}/messages/",
        {"text": "Arriving\x00 now"},
    )
    assert answer.status_code == 400
    assert "text" in answer.json()
    assert not EDMessage.objects.exists()


@pytest.mark.django_db
def test_a_control_character_in_a_caller_name_is_refused(client, dispatcher):
    client.force_login(dispatcher)
    answer = post(
        client,
        "/api/v1/incidents/",
        {
            "caller_name": "Maija\x08\x08\x08",
            "chief_complaint": "fall",
            "determinant": "ALPHA",
            "location": {"source": "map", "lat": 60.17, "lon": 24.95},
        },
    )
    assert answer.status_code == 400, answer.json()
    assert "caller_name" in answer.json()


# --- The device path --------------------------------------------------------------------------


async def _tablet(user):
    client = AsyncClient()
    await client.aforce_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    tablet = WebsocketCommunicator(application, "/ws/crew/", headers=[*HEADERS, cookie])
    connected, _ = await tablet.connect()
    assert connected
    await tablet.receive_json_from()
    await tablet.send_json_to({"type": "hello", "device_id": "tab-strict"})
    return tablet


async def _answer(tablet, item_id):
    for _ in range(40):
        frame = await tablet.receive_json_from(timeout=5)
        if frame.get("id") == item_id:
            return frame
    raise AssertionError(f"no answer to {item_id}")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_device_items_with_a_reused_record_id_control_characters_or_year_0001_are_refused(
    paramedic, routed
):
    encounter = str(routed.public_id)
    tablet = await _tablet(paramedic)
    try:
        sent = {"encounter": encounter, "vitals_id": "v-dev", "vitals": {"heart_rate": 90}}
        await tablet.send_json_to({"type": "vitals", "id": "a1", "seq": 1, "data": sent})
        assert (await _answer(tablet, "a1"))["type"] == "ack"
        # The same record again under another item id: a resend, acknowledged.
        await tablet.send_json_to({"type": "vitals", "id": "a2", "seq": 2, "data": sent})
        assert (await _answer(tablet, "a2"))["type"] == "ack"
        other = {**sent, "vitals": {"heart_rate": 40}}
        await tablet.send_json_to({"type": "vitals", "id": "a3", "seq": 3, "data": other})
        refused = await _answer(tablet, "a3")
        assert (refused["type"], refused["code"], refused["field"]) == (
            "reject",
            "client_id_conflict",
            "vitals_id",
        )
        name = {"encounter": encounter, "fields": {"family_name": "Vir\x1btanen"}}
        await tablet.send_json_to({"type": "encounter", "id": "a4", "seq": 4, "data": name})
        refused = await _answer(tablet, "a4")
        assert (refused["type"], refused["field"]) == ("reject", "data.fields.family_name")
        old = {
            "encounter": encounter,
            "vitals_id": "v-old",
            "taken_at": "0001-01-01T00:00:00+00:00",
            "vitals": {"heart_rate": 90},
        }
        await tablet.send_json_to({"type": "vitals", "id": "a5", "seq": 5, "data": old})
        refused = await _answer(tablet, "a5")
        assert (refused["type"], refused["field"]) == ("reject", "taken_at")
        assert "2000-01-01" in refused["message"]
        # The socket stays open and takes the next item.
        later = {"encounter": encounter, "vitals_id": "v-next", "vitals": {"heart_rate": 88}}
        await tablet.send_json_to({"type": "vitals", "id": "a6", "seq": 6, "data": later})
        assert (await _answer(tablet, "a6"))["type"] == "ack"
    finally:
        await tablet.disconnect()
    stored = [
        v async for v in VitalsSet.objects.order_by("pk").values_list("heart_rate", flat=True)
    ]
    assert stored == [90, 88]
    name_now = await Encounter.objects.aget(pk=routed.pk)
    assert json.dumps(name_now.family_name) == json.dumps(PATIENT["family_name"])
