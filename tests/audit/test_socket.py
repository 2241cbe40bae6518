"""Audit rows from the real ASGI app: the ED board's socket and the crew tablet's items."""

import pytest
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from audit.models import AuditEvent
from config.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


async def connect(user, path, address):
    client = AsyncClient()
    await client.aforce_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    communicator = WebsocketCommunicator(application, path, headers=[*HEADERS, cookie])
    # The scope is read when the app first runs, at connect: set the peer as daphne would.
    communicator.scope["client"] = [address, 50123]
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()
    return communicator


async def rows(**filters):
    return [e async for e in AuditEvent.objects.filter(**filters).order_by("seq")]


async def test_ed_board_socket_audits_the_list_with_the_peer_address(ed_nurse, hospital):
    board = await connect(ed_nurse, "/ws/ed/", "192.0.2.44")
    await board.disconnect()
    [event] = await rows(action="list")
    assert (event.object_type, event.object_id) == ("ed_board", str(hospital.pk))
    assert (event.actor_id, event.role) == (ed_nurse.pk, "ed_staff")
    assert (event.channel, event.client_address) == ("ws", "192.0.2.44")
    assert len(event.request_id) == 32
    assert event.detail == {"path": "/ws/ed/"}


async def test_each_device_item_gets_its_own_request_id(paramedic, assignment, hospital):
    tablet = await connect(paramedic, "/ws/crew/", "198.51.100.23")
    await tablet.send_json_to({"type": "hello", "device_id": "tab-a"})
    await tablet.receive_json_from()
    public_id = "5b0c1d0e-1111-4a2b-8c3d-222233334444"
    items = [
        {
            "type": "encounter",
            "id": "enc-1",
            "seq": 1,
            "data": {"encounter": public_id, "assignment_id": assignment.pk, "fields": {}},
        },
        {
            "type": "vitals",
            "id": "vit-1",
            "seq": 2,
            "data": {"encounter": public_id, "vitals_id": "v1", "vitals": {"heart_rate": 90}},
        },
    ]
    for item in items:
        await tablet.send_json_to(item)
        while (await tablet.receive_json_from(timeout=5))["type"] != "ack":
            pass
    await tablet.disconnect()
    events = await rows(object_id=public_id)
    # In an ingest tick the item's access (read) and its write are appended in that order,
    # with the tick's other rows, at the end of the tick's transaction.
    assert [e.action for e in events] == ["create", "read", "vitals_record"]
    assert {(e.channel, e.client_address, e.actor_id) for e in events} == {
        ("device", "198.51.100.23", paramedic.pk)
    }
    create, read, vitals = events
    assert read.request_id == vitals.request_id != create.request_id
