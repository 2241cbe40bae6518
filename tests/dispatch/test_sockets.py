"""The screens' sockets through the real ASGI application."""

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture
def everyone(dispatcher, paramedic, ed_nurse, admin):
    return {"dispatcher": dispatcher, "paramedic": paramedic, "ed_nurse": ed_nurse, "admin": admin}


async def _connect(client, user, path, origin=ORIGIN):
    headers = [origin, (b"host", b"127.0.0.1:8000")]
    if user is not None:
        await client.aforce_login(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.mark.parametrize("path", ["/ws/dispatch/", "/ws/crew/", "/ws/ed/"])
async def test_anonymous_socket_is_closed_as_unauthenticated(async_client, path):
    communicator, connected, code = await _connect(async_client, None, path)
    assert not connected
    assert code == 4401
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("role_fixture", "path"),
    [
        ("paramedic", "/ws/dispatch/"),
        ("ed_nurse", "/ws/dispatch/"),
        ("admin", "/ws/dispatch/"),
        ("dispatcher", "/ws/crew/"),
        ("ed_nurse", "/ws/crew/"),
        ("dispatcher", "/ws/ed/"),
        ("paramedic", "/ws/ed/"),
    ],
)
async def test_socket_of_another_role_is_closed_as_forbidden(
    async_client, everyone, role_fixture, path
):
    user = everyone[role_fixture]
    communicator, connected, code = await _connect(async_client, user, path)
    assert not connected
    assert code == 4403
    await communicator.disconnect()


async def test_foreign_origin_handshake_is_refused(async_client, dispatcher):
    communicator, connected, _ = await _connect(
        async_client, dispatcher, "/ws/dispatch/", origin=(b"origin", b"https://evil.example")
    )
    assert not connected
    await communicator.disconnect()


@pytest.fixture
def other_centre_unit(db):
    from tests.factories import UnitFactory

    return UnitFactory()


async def test_dispatcher_gets_a_snapshot_of_only_their_centre(
    async_client, dispatcher, unit, other_centre_unit
):
    communicator, connected, _ = await _connect(async_client, dispatcher, "/ws/dispatch/")
    assert connected
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "dispatch.board.snapshot"
    assert snapshot["stream"] == f"dispatch.center.{dispatcher.dispatch_centre_id}"
    assert [u["call_sign"] for u in snapshot["data"]["units"]] == [unit.call_sign]
    await communicator.disconnect()


async def test_tablet_hello_reaches_the_centre_and_goodbye_follows(
    async_client, dispatcher, paramedic, unit
):
    from django.test import AsyncClient

    console, _, _ = await _connect(async_client, dispatcher, "/ws/dispatch/")
    await console.receive_json_from()
    tablet, connected, _ = await _connect(AsyncClient(), paramedic, "/ws/crew/")
    assert connected
    assert (await tablet.receive_json_from())["type"] == "dispatch.unit.snapshot"
    await tablet.send_json_to({"type": "hello", "device_id": "tablet-7"})
    assert await tablet.receive_json_from() == {
        "type": "hello.ack",
        "last_seq": 0,
        "device_id": "tablet-7",
        "unit_id": paramedic.unit_id,
    }
    online = await console.receive_json_from()
    assert online["type"] == "dispatch.unit.online"
    assert online["data"] == {
        "unit_id": paramedic.unit_id,
        "call_sign": unit.call_sign,
        "device_id": "tablet-7",
    }
    assert set(online) == {"type", "v", "stream", "seq", "ts", "data"}
    await tablet.disconnect()
    offline = await console.receive_json_from()
    assert offline["type"] == "dispatch.unit.offline"
    await console.disconnect()


@pytest.mark.parametrize(
    ("message", "field", "code"),
    [
        ({"type": "hello", "device_id": "bad id with spaces"}, "device_id", "invalid"),
        ({"type": "hello"}, "device_id", "invalid"),
        ({"type": "launch.rockets"}, "type", "unknown_type"),
        ({"no": "type"}, "type", "invalid"),
        ([1, 2, 3], "type", "invalid"),
    ],
)
async def test_bad_tablet_messages_get_a_typed_rejection(
    async_client, paramedic, message, field, code
):
    tablet, _, _ = await _connect(async_client, paramedic, "/ws/crew/")
    await tablet.receive_json_from()
    await tablet.send_json_to(message)
    reply = await tablet.receive_json_from()
    assert reply["type"] == "error"
    assert reply["field"] == field
    assert reply["code"] == code
    assert reply["message"]
    await tablet.disconnect()


async def test_non_json_text_gets_a_typed_rejection(async_client, paramedic):
    tablet, _, _ = await _connect(async_client, paramedic, "/ws/crew/")
    await tablet.receive_json_from()
    await tablet.send_to(text_data="{not json")
    reply = await tablet.receive_json_from()
    assert reply["type"] == "error"
    await tablet.disconnect()


async def test_ed_board_gets_its_hospital(async_client, ed_nurse):
    board, connected, _ = await _connect(async_client, ed_nurse, "/ws/ed/")
    assert connected
    snapshot = await board.receive_json_from()
    assert snapshot["type"] == "handoff.board.snapshot"
    assert snapshot["data"]["hospital"]["id"] == ed_nurse.hospital_id
    await board.disconnect()


async def test_a_device_token_authenticates_the_socket(paramedic):
    from channels.db import database_sync_to_async

    from tests.factories import device_token

    key = await database_sync_to_async(device_token)(paramedic)
    communicator = WebsocketCommunicator(
        application,
        "/ws/crew/",
        headers=[
            ORIGIN,
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Token {key}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "dispatch.unit.snapshot"
    await communicator.disconnect()
    wrong = WebsocketCommunicator(
        application,
        "/ws/crew/",
        headers=[ORIGIN, (b"host", b"127.0.0.1:8000"), (b"authorization", b"Token nope")],
    )
    connected, code = await wrong.connect()
    assert not connected
    assert code == 4401
    await wrong.disconnect()


async def test_resync_requests_are_rate_limited_per_socket(async_client, dispatcher):
    from realtime.consumers import RESYNC_BURST
    from tests.sockets import receive_message

    console, connected, _ = await _connect(async_client, dispatcher, "/ws/dispatch/")
    assert connected
    await console.receive_json_from()  # snapshot
    for _ in range(RESYNC_BURST):
        await console.send_json_to({"type": "resync", "since": 0})
        assert (await receive_message(console))["type"] in {"replay", "dispatch.board.snapshot"}
    await console.send_json_to({"type": "resync", "since": 0})
    refused = await receive_message(console)
    assert refused["type"] == "error"
    assert refused["code"] == "rate_limited"
    assert refused["field"] == "since"
    assert refused["retry_after_ms"] > 0
    await console.disconnect()
