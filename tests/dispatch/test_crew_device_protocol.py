"""The crew tablet's device items over the real ASGI application: once, acked after commit."""

import pytest
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from config.asgi import application
from dispatch import services
from dispatch.models import Assignment, UnitPosition
from realtime.models import DeviceItem

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _tablet(async_client, paramedic, device_id="tab-1"):
    await async_client.aforce_login(paramedic)
    communicator = WebsocketCommunicator(
        application,
        "/ws/crew/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", f"sessionid={async_client.cookies['sessionid'].value}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()  # snapshot
    await communicator.send_json_to({"type": "hello", "device_id": device_id})
    hello = await communicator.receive_json_from()
    return communicator, hello


def _position(item_id, seq, **data):
    payload = {
        "lat": 60.1700,
        "lon": 24.9450,
        "recorded_at": timezone.now().isoformat(),
        "fix_id": item_id,
    }
    payload.update(data)
    return {"type": "position", "id": item_id, "seq": seq, "data": payload}


@pytest.fixture
def assigned(dispatcher, paramedic, demo_units, make_incident):
    paramedic.unit = demo_units[0]
    paramedic.save()
    incident = make_incident()
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    return assignment


async def test_a_repeated_item_is_acknowledged_again_and_stored_once(async_client, paramedic):
    tablet, hello = await _tablet(async_client, paramedic)
    assert hello["last_seq"] == 0
    await tablet.send_json_to(_position("fix-1", 1))
    first = await tablet.receive_json_from()
    await tablet.send_json_to(_position("fix-1", 1))
    second = await tablet.receive_json_from()
    assert first == second == {"type": "ack", "id": "fix-1", "seq": 1}
    assert await UnitPosition.objects.filter(unit_id=paramedic.unit_id).acount() == 1
    await tablet.disconnect()
    tablet, hello = await _tablet(async_client, paramedic)
    assert hello["last_seq"] == 1
    await tablet.disconnect()


@pytest.mark.parametrize(
    ("item", "field", "code"),
    [
        (
            {
                "type": "position",
                "id": "p",
                "seq": 1,
                "data": {"lat": 95, "lon": 24.9, "recorded_at": "2026-01-01T00:00:00Z"},
            },
            "lat",
            "invalid",
        ),
        (
            {
                "type": "position",
                "id": "p",
                "seq": 1,
                "data": {"lat": 60.1, "lon": 24.9, "recorded_at": "yesterday"},
            },
            "recorded_at",
            "invalid",
        ),
        (
            {
                "type": "position",
                "id": "p",
                "seq": 1,
                "data": {"lat": 60.1, "lon": 24.9, "recorded_at": "2099-01-01T00:00:00Z"},
            },
            "recorded_at",
            "invalid",
        ),
        ({"type": "position", "id": "p", "seq": 1, "data": "nope"}, "data", "invalid"),
        ({"type": "position", "id": "bad id!", "seq": 1, "data": {}}, "id", "invalid"),
        ({"type": "position", "id": "p", "seq": -4, "data": {}}, "seq", "invalid"),
        (
            {
                "type": "status",
                "id": "s",
                "seq": 2,
                "data": {"assignment_id": 999999, "status": "en_route"},
            },
            "assignment_id",
            "invalid",
        ),
    ],
)
async def test_invalid_items_get_a_typed_rejection_naming_the_field(
    async_client, paramedic, item, field, code
):
    tablet, _ = await _tablet(async_client, paramedic)
    await tablet.send_json_to(item)
    answer = await tablet.receive_json_from()
    assert answer["type"] == "reject"
    assert answer["field"] == field
    assert answer["code"] == code
    assert answer["message"]
    assert await UnitPosition.objects.acount() == 0
    await tablet.disconnect()


async def test_the_same_rejected_id_is_rejected_the_same_way(async_client, paramedic):
    tablet, _ = await _tablet(async_client, paramedic)
    bad = _position("p-9", 3, lat=95)
    await tablet.send_json_to(bad)
    first = await tablet.receive_json_from()
    await tablet.send_json_to(_position("p-9", 3))  # same id, now valid: the first answer stands
    assert await tablet.receive_json_from() == first
    assert await DeviceItem.objects.filter(device_id="tab-1", client_id="p-9").acount() == 1
    await tablet.disconnect()


async def _answer(tablet, item_id):
    """The ack or reject for one item (assignment events may arrive in between)."""
    for _ in range(10):
        message = await tablet.receive_json_from()
        if message["type"] in {"ack", "reject"} and message["id"] == item_id:
            return message
    raise AssertionError(f"no answer for {item_id}")


def _status(item_id, seq, assignment_id, status):
    data = {"assignment_id": assignment_id, "status": status}
    return {"type": "status", "id": item_id, "seq": seq, "data": data}


async def test_status_and_acknowledge_from_the_tablet(async_client, paramedic, assigned):
    tablet, _ = await _tablet(async_client, paramedic)
    ack_item = {"type": "acknowledge", "id": "a1", "seq": 1, "data": {"assignment_id": assigned.pk}}
    await tablet.send_json_to(ack_item)
    assert (await _answer(tablet, "a1"))["type"] == "ack"
    await tablet.send_json_to(_status("s1", 2, assigned.pk, "on_scene"))
    reject = await _answer(tablet, "s1")
    assert reject["code"] == "invalid_transition"
    assert "is dispatched" in reject["message"]
    await tablet.send_json_to(_status("s2", 3, assigned.pk, "en_route"))
    ack = await _answer(tablet, "s2")
    assert ack["status"] == "en_route"
    refreshed = await Assignment.objects.aget(pk=assigned.pk)
    assert refreshed.status == "en_route"
    assert refreshed.acknowledged_at is not None
    await tablet.disconnect()


async def test_items_before_hello_are_refused(async_client, paramedic):
    await async_client.aforce_login(paramedic)
    communicator = WebsocketCommunicator(
        application,
        "/ws/crew/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", f"sessionid={async_client.cookies['sessionid'].value}".encode()),
        ],
    )
    await communicator.connect()
    await communicator.receive_json_from()
    await communicator.send_json_to(_position("early", 1))
    answer = await communicator.receive_json_from()
    assert answer["code"] == "no_hello"
    await communicator.disconnect()
