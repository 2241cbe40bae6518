"""The reference device client against the real server in a daphne process: each item once."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import pytest
from django.core.management import call_command

from device_client import DeviceClient
from dispatch import services
from dispatch.models import UnitPosition
from realtime.models import DeviceItem
from tests.device_client.helpers import WAIT_S, fix, make_client, read_db, until

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_item_sent_twice_is_stored_once(server, token, tmp_path, paramedic):
    async def scenario() -> tuple[int, int, dict[str, int], dict[str, int]]:
        first = make_client(server, token, tmp_path)
        ids = [first.enqueue("position", fix(n)) for n in range(3)]
        handle = first._handle

        async def lose_acks(ws: Any, message: dict[str, Any]) -> None:
            # The server stores and answers, but the answers are lost on the way back.
            if message.get("type") not in {"ack", "answers"}:
                await handle(ws, message)

        first._handle = lose_acks  # type: ignore[method-assign]
        first.start()
        await until(lambda: DeviceItem.objects.filter(device_id="tab-1").count() == 3, "stored")
        await first.close()
        # A new client object on the same outbox: the unanswered items are still there.
        second = make_client(server, token, tmp_path)
        waiting = second.pending_count()
        second.start()
        async with asyncio.timeout(WAIT_S):
            await second.wait_idle()
        left = second.pending_count()
        await second.close()
        assert sorted(first.stats.by_id_sent) == sorted(ids)
        return waiting, left, first.stats.by_id_sent, second.stats.by_id_sent

    waiting, left, sent_first, sent_second = asyncio.run(scenario())
    assert (waiting, left) == (3, 0)
    assert sent_first == sent_second == dict.fromkeys(sent_first, 1)
    assert UnitPosition.objects.filter(unit_id=paramedic.unit_id).count() == 3
    assert DeviceItem.objects.filter(device_id="tab-1").count() == 3


def test_the_outbox_survives_a_restart_of_the_client(server, token, tmp_path, paramedic):
    async def scenario() -> tuple[int, int, int]:
        # Stored while offline, then the process "dies" before ever connecting.
        offline = make_client(server, token, tmp_path)
        for n in range(4):
            offline.enqueue("position", fix(n))
        await offline.close()
        again = make_client(server, token, tmp_path)
        waiting = again.pending_count()
        again.start()
        async with asyncio.timeout(WAIT_S):
            await again.wait_idle()
        newer = again.enqueue("position", fix(9))
        async with asyncio.timeout(WAIT_S):
            await again.wait_idle()
        seq = await read_db(lambda: DeviceItem.objects.get(client_id=newer).seq)
        left = again.pending_count()
        await again.close()
        return waiting, left, seq

    waiting, left, seq = asyncio.run(scenario())
    assert (waiting, left) == (4, 0)
    # Numbering continued across the restart: the item after four stored ones is seq 5.
    assert seq == 5
    assert UnitPosition.objects.filter(unit_id=paramedic.unit_id).count() == 5


def test_a_rejected_item_is_recorded_and_not_retried(server, token, tmp_path):
    async def scenario() -> tuple[list[Any], dict[str, int], int, int]:
        client = make_client(server, token, tmp_path)
        bad = client.enqueue("position", fix(1, lat=999))
        unknown = client.enqueue("teleport", {"to": "scene"})
        good = client.enqueue("position", fix(2))
        client.start()
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        # Reconnect: nothing of the three may be sent again.
        await client.drop_connection()
        for _ in range(int(WAIT_S / 0.05)):
            if client.stats.connects >= 2 and client.connected:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        rejected = client.rejected()
        sent = dict(client.stats.by_id_sent)
        pending = client.pending_count()
        await client.close()
        assert set(sent) == {bad, unknown, good}
        return rejected, sent, pending, client.stats.connects

    rejected, sent, pending, connects = asyncio.run(scenario())
    assert pending == 0
    assert connects >= 2
    assert all(count == 1 for count in sent.values())
    assert [(r.type, r.code, r.field) for r in rejected] == [
        ("position", "invalid", "lat"),
        ("teleport", "unknown_type", "type"),
    ]
    assert UnitPosition.objects.count() == 1


def test_a_server_restart_mid_stream_delivers_everything_exactly_once(
    server, token, tmp_path, paramedic
):
    async def scenario() -> tuple[DeviceClient, int]:
        client = make_client(server, token, tmp_path)
        client.start()
        for n in range(5):
            client.enqueue("position", fix(n))
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        # The server goes away mid-stream; items keep coming and wait on disk.
        await asyncio.to_thread(server.stop)
        for n in range(5, 10):
            client.enqueue("position", fix(n))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(server.start)
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        # And the connection is cut without a close while twenty items are on the wire.
        for n in range(10, 30):
            client.enqueue("position", fix(n))
        await asyncio.sleep(0.01)
        await client.drop_connection(abort=True)
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        left = client.pending_count()
        await client.close()
        return client, left

    client, left = asyncio.run(scenario())
    assert left == 0
    assert client.stats.connects >= 3
    stored = list(
        UnitPosition.objects.filter(unit_id=paramedic.unit_id).values_list("client_id", flat=True)
    )
    assert sorted(stored) == sorted(f"fix-{n}" for n in range(30))
    assert DeviceItem.objects.filter(device_id="tab-1").count() == 30


def test_a_missed_event_is_fetched_by_resync(
    server, token, tmp_path, paramedic, dispatcher, road_map
):
    async def scenario() -> list[dict[str, Any]]:
        client = make_client(server, token, tmp_path, resync_interval_s=0.3)
        client.start()
        received = [await asyncio.wait_for(client.events.get(), WAIT_S)]
        # Dispatched from this test process: its broadcast goes to this process's channel
        # layer, never to the daphne process, exactly like a message the layer dropped.
        incident = await read_db(
            lambda: services.incident_create(
                user=dispatcher,
                chief_complaint="chest pain",
                determinant="DELTA",
                location=services.LocationInput(source="map", lat=60.1694, lon=24.9520),
                allow_duplicate=True,
            )
        )
        await read_db(
            lambda: services.assignments_create(
                user=dispatcher, incident_id=incident.pk, unit_ids=[paramedic.unit_id]
            )
        )
        async with asyncio.timeout(WAIT_S):
            while not any(e["type"] == "dispatch.assignment.created" for e in received):
                received.append(await client.events.get())
        await client.close()
        return received

    received = asyncio.run(scenario())
    snapshot, created = received[0], received[-1]
    assert snapshot["type"] == "dispatch.unit.snapshot"
    assert created["seq"] == snapshot["seq"] + 1
    assert created["data"]["unit_id"] == paramedic.unit_id
    assert created["data"]["status"] == "dispatched"


class _Socket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, text: str) -> None:
        self.sent.append(text)


def test_a_gap_in_sequence_asks_for_the_missed_events_and_drops_repeats(tmp_path):
    async def scenario() -> tuple[list[str], list[int | None]]:
        client = DeviceClient("http://127.0.0.1:1", "t", "tab-1", tmp_path / "o.sqlite3")
        ws: Any = _Socket()
        stream = "dispatch.unit.1"
        for seq, kind in [
            (3, "dispatch.unit.snapshot"),
            (4, "e"),
            (4, "e"),
            (6, "e"),
            (5, "e"),
            (6, "e"),
        ]:
            await client._event(ws, {"type": kind, "stream": stream, "seq": seq, "data": {}})
        delivered = []
        while not client.events.empty():
            delivered.append(client.events.get_nowait()["seq"])
        await client.close()
        return ws.sent, delivered

    sent, delivered = asyncio.run(scenario())
    assert delivered == [3, 4, 5, 6]
    assert sent == ['{"type": "resync", "since": 4}']


def test_a_token_revoked_from_another_process_stops_the_connected_client(
    server_with, token, tmp_path
):
    # `manage.py device_token revoke` next to a server with the in-memory channel layer: the
    # layer cannot carry the close, the socket's re-check of the database finds it.
    from accounts.models import DeviceToken
    from device_client.client import DeviceClientError

    server = server_with(DEVICE_TOKEN_RECHECK_SECONDS="1")

    async def scenario() -> str:
        client = make_client(server, token, tmp_path)
        client.enqueue("position", fix(0))
        running = client.start()
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        prefix = await read_db(lambda: DeviceToken.objects.get().prefix)
        await read_db(lambda: call_command("device_token", "revoke", prefix, stdout=io.StringIO()))
        started = time.monotonic()
        with pytest.raises(DeviceClientError, match="4401"):
            async with asyncio.timeout(WAIT_S):
                await running
        elapsed = time.monotonic() - started
        await client.close()
        return f"{elapsed:.1f}"

    assert float(asyncio.run(scenario())) < 5.0
