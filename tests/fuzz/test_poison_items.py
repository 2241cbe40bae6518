"""One poison item never blocks a tablet: over the real ASGI crew socket, each item is applied
or refused naming its field, the socket stays open, and the items after it are taken.

The outbox of a tablet resends its oldest item first on every reconnect, so an item that closed
the socket (1011) would block that tablet for ever: a dose of 10**400, a time in year 0001 and
JSON nested 100,000 deep are the three payloads that did.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from config.asgi import application
from dispatch.models import UnitPosition
from handoff.models import MedicationGiven
from realtime.models import DeviceItem
from tests.fuzz.conftest import crew_items, unique
from tests.fuzz.test_device_items import FUZZ

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = "[" * 100_000 + "]" * 100_000


def _session_cookie(user: Any) -> bytes:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}".encode()


async def _tablet(cookie: bytes, device_id: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        "/ws/crew/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", cookie),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()  # snapshot
    await communicator.send_json_to({"type": "hello", "device_id": device_id})
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello.ack", hello
    return communicator


async def _answer(tablet: WebsocketCommunicator) -> dict[str, Any]:
    """The next answer frame, skipping the events the unit's stream sends meanwhile."""
    for _ in range(50):
        message = await tablet.receive_json_from(timeout=10)
        if message.get("type") in {"ack", "reject", "answers", "error", "retry"}:
            return message
    raise AssertionError("no answer")


def _position(seq: int, **data: Any) -> dict[str, Any]:
    payload = {
        "lat": 60.1700,
        "lon": 24.9450,
        "recorded_at": timezone.now().isoformat(),
        "fix_id": unique("fix"),
    }
    payload.update(data)
    return {"type": "position", "id": payload["fix_id"], "seq": seq, "data": payload}


def _medication(world: Any, seq: int, dose: Any) -> dict[str, Any]:
    item_id = unique("med")
    data = {
        "encounter": str(world.encounter.public_id),
        "medication_id": item_id,
        "given_at": timezone.now().isoformat(),
        "name": "Adrenaline",
        "dose": dose,
        "dose_unit": "mg",
        "route": "IV",
    }
    return {"type": "medication", "id": item_id, "seq": seq, "data": data}


def test_a_dose_of_10_to_the_400_and_a_year_0001_are_refused_naming_the_field_and_the_rest_is_taken(
    world,
):
    cookie = _session_cookie(world.users["paramedic"])

    async def scenario() -> None:
        tablet = await _tablet(cookie, "poison-1")
        good_before = _position(1)
        items = [
            good_before,
            _medication(world, 2, 10**400),
            _position(3, recorded_at="0001-01-01T00:00:00+00:00"),
            _position(4),
        ]
        # json.dumps writes 10**400 as its 401 digits, as a hostile or broken client would.
        await tablet.send_to(text_data=json.dumps({"type": "batch", "items": items}))
        answers = (await _answer(tablet))["answers"]
        assert [a["type"] for a in answers] == ["ack", "reject", "reject", "ack"]
        assert answers[1]["field"] == "dose"
        assert answers[1]["index"] == 1
        assert answers[2]["field"] == "recorded_at"
        assert answers[2]["index"] == 2
        # The socket is still open and takes the next frame.
        after = _position(5)
        await tablet.send_json_to(after)
        assert (await _answer(tablet)) == {"type": "ack", "id": after["id"], "seq": 5}
        await tablet.disconnect()

    async_to_sync(scenario)()
    assert MedicationGiven.objects.filter(encounter=world.encounter, name="Adrenaline").count() == 0
    assert UnitPosition.objects.filter(unit_id=world.assignment.unit_id).count() == 3


def test_json_nested_100000_deep_is_refused_whole_on_an_open_socket(world):
    cookie = _session_cookie(world.users["paramedic"])

    async def scenario() -> None:
        tablet = await _tablet(cookie, "poison-2")
        # Alone: the frame is refused (too_deep), the socket stays open.
        await tablet.send_to(text_data=DEEP)
        refused = await _answer(tablet)
        assert refused["type"] == "error"
        assert refused["code"] == "too_deep"
        assert "nested too deep" in refused["message"]
        # Inside a batch with good items: refused whole, nothing of it taken...
        good = [_position(1), _position(3)]
        text = json.dumps({"type": "batch", "items": [good[0], "POISON", good[1]]})
        await tablet.send_to(text_data=text.replace('"POISON"', DEEP))
        assert (await _answer(tablet))["code"] == "too_deep"
        # ...and the same items sent again without the poison are taken on the same socket.
        await tablet.send_json_to({"type": "batch", "items": good})
        answers = (await _answer(tablet))["answers"]
        assert [a["type"] for a in answers] == ["ack", "ack"]
        await tablet.disconnect()

    async_to_sync(scenario)()
    assert UnitPosition.objects.filter(unit_id=world.assignment.unit_id).count() == 2


def test_a_deeply_nested_json_body_is_a_400_not_a_500(client, world):
    client.force_login(world.users["dispatcher"])
    response = client.post("/api/v1/incidents/", data=DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deep" in response.json()["detail"]


@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_any_batch_of_malformed_items_is_answered_item_by_item_on_an_open_socket(world, data):
    items = data.draw(st.lists(crew_items(world), min_size=1, max_size=6))
    good = _position(10**6)
    cookie = _session_cookie(world.users["paramedic"])

    async def scenario() -> None:
        tablet = await _tablet(cookie, unique("poison-fuzz"))
        await tablet.send_to(text_data=json.dumps({"type": "batch", "items": items}))
        answers = (await _answer(tablet))["answers"]
        assert len(answers) == len(items)
        for index, answer in enumerate(answers):
            assert answer["type"] in {"ack", "reject"}, answer
            assert answer["index"] == index
            if answer["type"] == "reject":
                assert answer["message"]
                assert answer["field"] is None or isinstance(answer["field"], str)
        await tablet.send_json_to(good)
        assert (await _answer(tablet))["type"] == "ack"
        await tablet.disconnect()

    async_to_sync(scenario)()
    assert DeviceItem.objects.filter(client_id=good["id"], accepted=True).exists()
