"""Batches, retries, back-off and batched events, against the real server in daphne."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from device_client import DeviceClient
from dispatch import services
from dispatch.models import Assignment, UnitPosition
from realtime.models import DeviceItem
from tests.device_client.helpers import WAIT_S, fix, items_of, make_client, tap

pytestmark = pytest.mark.django_db(transaction=True)


def test_pending_items_go_in_batch_frames_and_a_lone_item_alone(
    server, token, tmp_path, paramedic, monkeypatch
):
    async def scenario() -> DeviceClient:
        client = make_client(server, token, tmp_path, batch_size=200, resync_interval_s=None)
        wire = tap(client, monkeypatch)
        client.enqueue_many([("position", fix(n)) for n in range(450)])
        client.start()
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        client.enqueue("position", fix(450))
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        await client.close()
        shapes = [(f["type"], len(items_of(f))) for _, f in wire.item_frames()]
        assert shapes == [("batch", 200), ("batch", 200), ("batch", 50), ("position", 1)]
        sent_seqs = [item["seq"] for _, f in wire.item_frames() for item in items_of(f)]
        assert sent_seqs == list(range(1, 452))
        answered = [
            (m["type"], len(m["answers"]) if m["type"] == "answers" else 1)
            for _, m in wire.received
            if m["type"] in {"answers", "ack"}
        ]
        assert answered == [("answers", 200), ("answers", 200), ("answers", 50), ("ack", 1)]
        return client

    client = asyncio.run(scenario())
    assert (client.stats.frames, client.stats.batches, client.stats.acked) == (4, 3, 451)
    assert DeviceItem.objects.filter(device_id="tab-1", accepted=True).count() == 451
    assert UnitPosition.objects.filter(unit_id=paramedic.unit_id).count() == 451


@pytest.mark.parametrize(
    ("code", "server_settings"),
    [
        # 100 items at once, then 200/s: the second frame is over the device's rate.
        ("rate_limited", {"DEVICE_RATE_PER_S": "200", "DEVICE_BURST_ITEMS": "100"}),
        # At most 150 items queued in the process: the second frame does not fit.
        ("busy", {"INGEST_MAX_QUEUED_ITEMS": "150"}),
    ],
)
def test_items_answered_retry_are_sent_again_after_the_pause_in_seq_order(
    server_with, token, tmp_path, paramedic, monkeypatch, code, server_settings
):
    server = server_with(**server_settings)
    total = 600

    async def scenario() -> DeviceClient:
        client = make_client(server, token, tmp_path, batch_size=100, resync_interval_s=None)
        wire = tap(client, monkeypatch)
        client.enqueue_many([("position", fix(n)) for n in range(total)])
        client.start()
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        assert client.rejected() == []
        await client.close()
        answers = [a for _, a in wire.answers()]
        retries = [(t, a) for t, a in wire.answers() if a["type"] == "retry"]
        assert retries, "the server never answered retry"
        # Frames that come while the socket's cooldown runs are answered `busy` as well.
        assert retries[0][1]["code"] == code
        assert {a["code"] for _, a in retries} <= {code, "busy"}
        # Taken in seq order: every item acknowledged once, the lower seq first.
        assert [a["seq"] for a in answers if a["type"] == "ack"] == list(range(1, total + 1))
        # Nothing is sent while the first retry's retry_after_ms runs, and then the sender
        # starts again from the first item the server did not take.
        first_at, first = retries[0]
        resumed = [(t, f) for t, f in wire.item_frames() if t > first_at]
        assert resumed
        assert resumed[0][0] >= first_at + first["retry_after_ms"] / 1000
        assert items_of(resumed[0][1])[0]["id"] == first["id"]
        return client

    client = asyncio.run(scenario())
    assert client.stats.retried > 0
    assert client.stats.sent > total
    stored = DeviceItem.objects.filter(device_id="tab-1")
    assert stored.count() == stored.filter(accepted=True).count() == total
    assert sorted(stored.values_list("seq", flat=True)) == list(range(1, total + 1))
    assert UnitPosition.objects.filter(unit_id=paramedic.unit_id).count() == total


def test_backoff_pauses_new_frames_for_retry_after_ms(
    server_with, token, tmp_path, paramedic, monkeypatch
):
    # One waiting item makes the process "busy": every frame taken is followed by a backoff.
    server = server_with(INGEST_BUSY_ITEMS="1")

    async def scenario() -> DeviceClient:
        client = make_client(server, token, tmp_path, resync_interval_s=None)
        wire = tap(client, monkeypatch)
        client.enqueue("position", fix(0))
        client.start()
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        [(told_at, backoff)] = wire.of_type("backoff")
        assert backoff["reason"] == "busy"
        assert backoff["retry_after_ms"] >= 500
        # Acknowledged long before the backoff is over; the next item waits for it.
        client.enqueue("position", fix(1))
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        await client.close()
        [_, (second_at, second)] = wire.item_frames()
        assert second["seq"] == 2
        assert second_at >= told_at + backoff["retry_after_ms"] / 1000
        return client

    client = asyncio.run(scenario())
    assert client.stats.backoffs >= 1
    assert UnitPosition.objects.filter(unit_id=paramedic.unit_id).count() == 2


def test_events_of_one_tick_arrive_in_one_batch_frame_and_are_delivered_in_order(
    server, token, tmp_path, paramedic, dispatcher, road_map, monkeypatch
):
    incident = services.incident_create(
        user=dispatcher,
        chief_complaint="chest pain",
        determinant="DELTA",
        location=services.LocationInput(source="map", lat=60.1694, lon=24.9520),
        allow_duplicate=True,
    )
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[paramedic.unit_id]
    )

    async def scenario() -> list[dict[str, Any]]:
        client = make_client(server, token, tmp_path, resync_interval_s=None)
        wire = tap(client, monkeypatch)
        # One frame, so one tick: its events go to the unit's stream as one batch frame.
        client.enqueue_many(
            [
                ("acknowledge", {"assignment_id": assignment.pk}),
                ("status", {"assignment_id": assignment.pk, "status": "en_route"}),
            ]
        )
        client.start()
        delivered = [await asyncio.wait_for(client.events.get(), WAIT_S)]
        async with asyncio.timeout(WAIT_S):
            while delivered[-1]["data"].get("status") != "en_route":
                delivered.append(await client.events.get())
        await client.close()
        batches = wire.of_type("batch")
        assert batches, "the server sent no batch frame"
        assert [e["seq"] for e in batches[0][1]["events"]] == [e["seq"] for e in delivered[1:]]
        assert client.stats.resyncs == 0
        return delivered

    delivered = asyncio.run(scenario())
    snapshot, events = delivered[0], delivered[1:]
    assert snapshot["type"] == "dispatch.unit.snapshot"
    assert len(events) >= 2
    assert [e["seq"] for e in events] == list(
        range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(events))
    )
    assert {e["type"] for e in events} == {"dispatch.assignment.updated"}
    assert Assignment.objects.get(pk=assignment.pk).status == "en_route"


def test_an_item_too_large_for_any_frame_is_refused_without_closing_the_socket(
    server, token, tmp_path, paramedic
):
    async def scenario() -> tuple[DeviceClient, list[Any], str]:
        client = make_client(server, token, tmp_path, resync_interval_s=None)
        client.enqueue("position", fix(0))
        # Over the server's 1 MB frame limit: sent, it would close the socket with 1009,
        # and every reconnect would send it again.
        huge = client.enqueue("position", fix(1, note="x" * 1_100_000))
        client.enqueue("position", fix(2))
        client.start()
        async with asyncio.timeout(WAIT_S):
            await client.wait_idle()
        rejected = client.rejected()
        await client.close()
        return client, rejected, huge

    client, rejected, huge = asyncio.run(scenario())
    assert [(r.id, r.code, r.field) for r in rejected] == [(huge, "too_large", "data")]
    assert huge not in client.stats.by_id_sent
    assert client.stats.connects == 1
    stored = UnitPosition.objects.filter(unit_id=paramedic.unit_id)
    assert sorted(stored.values_list("client_id", flat=True)) == ["fix-0", "fix-2"]


class _Socket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


def test_batched_and_merged_events_keep_the_sequence(tmp_path):
    def event(seq: int, seq_from: int | None = None, kind: str = "e") -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind, "stream": "dispatch.unit.1", "seq": seq, "data": {}}
        if seq_from is not None:
            out["seq_from"] = seq_from
        return out

    async def scenario() -> tuple[list[dict[str, Any]], list[int], int | None]:
        client = DeviceClient("http://127.0.0.1:1", "t", "tab-1", tmp_path / "o.sqlite3")
        ws: Any = _Socket()
        frames = [
            event(3, kind="dispatch.unit.snapshot"),
            # A merged state event for 4..7 follows 3; 8 follows it, in the same frame.
            {"type": "batch", "stream": "dispatch.unit.1", "events": [event(7, 4), event(8)]},
            # Covers 6..9: 9 is new, so it applies (its entities are the newest copies).
            event(9, 6),
            # A repeat inside a batch, then a merged event after a gap (10 is missing).
            {"type": "batch", "stream": "dispatch.unit.1", "events": [event(9), event(12, 11)]},
        ]
        for frame in frames:
            await client._handle(ws, frame)
        delivered = []
        while not client.events.empty():
            delivered.append(client.events.get_nowait()["seq"])
        last = client.stream_seq
        await client.close()
        return ws.sent, delivered, last

    sent, delivered, last = asyncio.run(scenario())
    assert delivered == [3, 7, 8, 9]
    assert last == 9
    assert sent == [{"type": "resync", "since": 9}]


def test_answers_of_a_batch_settle_each_item_as_if_alone(tmp_path):
    async def scenario() -> DeviceClient:
        client = DeviceClient("http://127.0.0.1:1", "t", "tab-1", tmp_path / "o.sqlite3")
        ws: Any = _Socket()
        ids = client.enqueue_many([("position", fix(n)) for n in range(4)])
        client._inflight = set(ids)
        await client._handle(
            ws,
            {
                "type": "answers",
                "answers": [
                    {"type": "ack", "id": ids[0], "seq": 1, "index": 0},
                    {
                        "type": "reject",
                        "id": ids[1],
                        "code": "invalid",
                        "field": "lat",
                        "message": "lat must be between -90 and 90.",
                        "index": 1,
                    },
                    {
                        "type": "retry",
                        "id": ids[2],
                        "code": "busy",
                        "retry_after_ms": 700,
                        "message": "later",
                        "index": 2,
                    },
                    {
                        "type": "retry",
                        "id": ids[3],
                        "code": "busy",
                        "retry_after_ms": 700,
                        "message": "later",
                        "index": 3,
                    },
                ],
            },
        )
        assert client.outbox.pending_count() == 2
        assert [item.id for item in client.outbox.pending()] == ids[2:]
        assert [(r.id, r.code, r.field) for r in client.rejected()] == [(ids[1], "invalid", "lat")]
        assert client._inflight == set()
        assert client._rewind_since is not None
        await client.close()
        return client

    client = asyncio.run(scenario())
    assert (client.stats.acked, client.stats.rejected, client.stats.retried) == (1, 1, 2)
