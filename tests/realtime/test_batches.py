"""Batch frames of the crew tablet over the real ASGI app: one `answers` frame per batch, in
item order; repeats answered the same; size, count and rate limits; refusals when full."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from dispatch.models import Unit, UnitPosition
from handoff.models import VitalsSet
from ops.health import DegradedError, check_realtime
from realtime.ingest import get_ingestor, ingestors_status
from realtime.models import DeviceItem
from tests.realtime.conftest import ago, answers_frame, frames, position, tablet, vitals

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_batch_stores_the_good_items_and_rejects_each_bad_one_naming_its_field(
    paramedic, encounter
):
    device = await tablet(paramedic)
    items = [
        position("p1", 1, at=ago(30), lat=60.1711),
        position("p2", 2, lat=95),
        {"type": "position", "seq": 3, "data": {"lat": 60.1}},
        {"type": "teleport", "id": "t1", "seq": 4, "data": {}},
        vitals("v1", 5, encounter.public_id, {"heart_rate": 88, "spo2": 97}, taken_at=ago(60)),
        vitals("v2", 6, encounter.public_id, {"heart_rate": 400}, taken_at=ago(50)),
        position("p3", 7, at=ago(10), lat=60.1733),
    ]
    await device.send_json_to({"type": "batch", "items": items})
    received = await frames(device)
    batches = [f for f in received if f["type"] == "answers"]
    assert len(batches) == 1
    answers = batches[0]["answers"]
    assert [a["index"] for a in answers] == list(range(7))
    assert [(a["type"], a["id"]) for a in answers] == [
        ("ack", "p1"),
        ("reject", "p2"),
        ("reject", None),
        ("reject", "t1"),
        ("ack", "v1"),
        ("reject", "v2"),
        ("ack", "p3"),
    ]
    assert [a.get("field") for a in answers if a["type"] == "reject"] == [
        "lat",
        "id",
        "type",
        "heart_rate",
    ]
    assert answers[3]["code"] == "unknown_type"
    assert answers[4]["news2_total"] is not None
    assert all(a["message"] for a in answers if a["type"] == "reject")
    fixes = [p async for p in UnitPosition.objects.order_by("recorded_at")]
    assert [p.client_id for p in fixes] == ["p1", "p3"]
    moved = await Unit.objects.aget(pk=paramedic.unit_id)
    assert moved.last_lat == pytest.approx(60.1733)
    assert [v.client_id async for v in VitalsSet.objects.all()] == ["v-v1"]
    # Every item with an id is remembered with its answer; the one without cannot be.
    stored = {d.client_id: d.accepted async for d in DeviceItem.objects.all()}
    assert stored == {"p1": True, "p2": False, "t1": False, "v1": True, "v2": False, "p3": True}
    await device.disconnect()


async def test_a_repeated_id_in_a_batch_and_in_a_later_batch_is_stored_once_answered_the_same(
    paramedic,
):
    device = await tablet(paramedic)
    first = position("p1", 1, at=ago(20), lat=60.1711)
    resent = position("p1", 1, at=ago(5), lat=60.1799)  # same id, other content: still p1
    bad = position("b1", 2, lat=95)
    await device.send_json_to({"type": "batch", "items": [first, resent, bad, first, bad]})
    answers = await answers_frame(device)
    without_index = [{k: v for k, v in a.items() if k != "index"} for a in answers]
    assert without_index[0] == without_index[1] == without_index[3]
    assert without_index[0] == {"type": "ack", "id": "p1", "seq": 1}
    assert without_index[2] == without_index[4]
    assert without_index[2]["field"] == "lat"
    # Later, with b1 now valid: the answers given the first time stand.
    await device.send_json_to(
        {"type": "batch", "items": [position("b1", 2), first, position("p2", 3)]}
    )
    again = await answers_frame(device)
    assert [a["index"] for a in again] == [0, 1, 2]
    assert {k: v for k, v in again[0].items() if k != "index"} == without_index[2]
    assert {k: v for k, v in again[1].items() if k != "index"} == without_index[0]
    assert again[2]["type"] == "ack"
    assert [p.client_id async for p in UnitPosition.objects.order_by("client_id")] == ["p1", "p2"]
    assert (await Unit.objects.aget(pk=paramedic.unit_id)).last_lat == pytest.approx(60.17)
    assert await DeviceItem.objects.acount() == 3
    await device.disconnect()


async def test_a_frame_over_the_byte_limit_is_refused_and_the_socket_closed_1009(
    paramedic, settings
):
    settings.DEVICE_MAX_FRAME_BYTES = 1024
    device = await tablet(paramedic)
    # 400 two-byte characters: under the limit in characters, over it in UTF-8 bytes.
    item = position("p1", 1, note="ä" * 400)
    await device.send_json_to({"type": "batch", "items": [item, position("p2", 2)]})
    error = await device.receive_json_from()
    assert error["type"] == "error"
    assert error["code"] == "too_large"
    assert "1024" in error["message"]
    closed = await device.receive_output()
    assert closed == {"type": "websocket.close", "code": 1009}
    assert await UnitPosition.objects.acount() == 0
    assert await DeviceItem.objects.acount() == 0
    await device.disconnect()


async def test_a_frame_at_the_byte_limit_is_taken(paramedic, settings):
    import json

    settings.DEVICE_MAX_FRAME_BYTES = 1024
    device = await tablet(paramedic)
    item = position("p1", 1, note="")
    text = json.dumps({"type": "batch", "items": [item]})
    item["data"]["note"] = "x" * (1024 - len(text))
    text = json.dumps({"type": "batch", "items": [item]})
    assert len(text.encode()) == 1024
    await device.send_to(text_data=text)
    [answer] = await answers_frame(device)
    assert answer["type"] == "ack"
    await device.disconnect()


async def test_a_batch_over_the_item_limit_is_refused_whole(paramedic, settings):
    settings.DEVICE_MAX_BATCH_ITEMS = 3
    device = await tablet(paramedic)
    items = [position(f"p{n}", n) for n in range(1, 5)]
    await device.send_json_to({"type": "batch", "items": items})
    error = await device.receive_json_from()
    assert (error["type"], error["code"], error["field"]) == ("error", "too_many_items", "items")
    assert "at most 3" in error["message"]
    assert await device.receive_nothing(timeout=0.3)
    assert await UnitPosition.objects.acount() == 0
    assert await DeviceItem.objects.acount() == 0
    await device.send_json_to({"type": "batch", "items": items[:3]})
    assert [a["type"] for a in await answers_frame(device)] == ["ack"] * 3
    assert await UnitPosition.objects.acount() == 3
    await device.disconnect()


@pytest.mark.parametrize("frame", [{"items": []}, {"items": "p1"}, {}, {"items": {"id": "p1"}}])
async def test_a_batch_without_a_list_of_items_is_refused_naming_items(paramedic, frame):
    device = await tablet(paramedic)
    await device.send_json_to({"type": "batch", **frame})
    error = await device.receive_json_from()
    assert (error["type"], error["code"], error["field"]) == ("error", "invalid", "items")
    assert await DeviceItem.objects.acount() == 0
    await device.disconnect()


async def test_a_large_batch_is_answered_in_chunks_that_keep_the_batch_index(paramedic, settings):
    settings.INGEST_TICK_ITEMS = 2
    device = await tablet(paramedic)
    items = [position(f"p{n}", n) for n in range(5)]
    await device.send_json_to({"type": "batch", "items": items})
    received = [f for f in await frames(device) if f["type"] == "answers"]
    assert [[a["index"] for a in f["answers"]] for f in received] == [[0, 1], [2, 3], [4]]
    assert [a["id"] for f in received for a in f["answers"]] == [f"p{n}" for n in range(5)]
    assert await UnitPosition.objects.acount() == 5
    await device.disconnect()


async def test_a_device_over_its_rate_is_told_to_retry_later_and_then_taken(paramedic, settings):
    settings.DEVICE_RATE_PER_S = 5
    settings.DEVICE_BURST_ITEMS = 3
    device = await tablet(paramedic)
    await device.send_json_to({"type": "batch", "items": [position(f"a{n}", n) for n in range(3)]})
    assert [a["type"] for a in await answers_frame(device)] == ["ack"] * 3
    refused = [position("b1", 3), position("b2", 4)]
    await device.send_json_to({"type": "batch", "items": refused})
    backoff = await device.receive_json_from()
    assert backoff["type"] == "backoff"
    assert backoff["reason"] == "rate_limited"
    assert backoff["retry_after_ms"] > 0
    answers = await answers_frame(device)
    assert [(a["type"], a["id"], a["code"], a["index"]) for a in answers] == [
        ("retry", "b1", "rate_limited", 0),
        ("retry", "b2", "rate_limited", 1),
    ]
    wait_ms = max(a["retry_after_ms"] for a in answers)
    # Two items at 5/s: about 400 ms to wait, never more than the bucket needs.
    assert 0 < wait_ms <= 401
    assert await DeviceItem.objects.filter(client_id__in=["b1", "b2"]).acount() == 0
    assert await UnitPosition.objects.acount() == 3
    await asyncio.sleep(wait_ms / 1000 + 0.05)
    await device.send_json_to({"type": "batch", "items": refused})
    assert [(a["type"], a["id"]) for a in await answers_frame(device)] == [
        ("ack", "b1"),
        ("ack", "b2"),
    ]
    assert await UnitPosition.objects.acount() == 5
    await device.disconnect()


async def test_a_frame_sent_before_the_device_heard_of_a_refusal_is_not_taken_ahead_of_it(
    paramedic, settings
):
    # The second frame was on its way when the first was refused: even after the wait it is
    # refused, until the device sends again from the refused item, so order is kept.
    settings.DEVICE_RATE_PER_S = 4
    settings.DEVICE_BURST_ITEMS = 2
    device = await tablet(paramedic)
    await device.send_json_to({"type": "batch", "items": [position("a1", 1), position("a2", 2)]})
    await answers_frame(device)
    await device.send_json_to({"type": "batch", "items": [position("b1", 3)]})
    assert (await device.receive_json_from())["type"] == "backoff"
    first = await answers_frame(device)
    assert [(a["type"], a["code"]) for a in first] == [("retry", "rate_limited")]
    await asyncio.sleep(first[0]["retry_after_ms"] / 1000 + 0.1)
    await device.send_json_to({"type": "batch", "items": [position("c1", 4)]})
    late = await answers_frame(device)
    assert [(a["type"], a["id"], a["code"]) for a in late] == [("retry", "c1", "busy")]
    # Long enough for the cooldown and for two items' worth of the rate.
    await asyncio.sleep(max(late[0]["retry_after_ms"] / 1000, 0.5) + 0.1)
    await device.send_json_to({"type": "batch", "items": [position("b1", 3), position("c1", 4)]})
    assert [(a["type"], a["id"]) for a in await answers_frame(device)] == [
        ("ack", "b1"),
        ("ack", "c1"),
    ]
    stored = [p.client_id async for p in UnitPosition.objects.order_by("recorded_at", "pk")]
    assert stored[-2:] == ["b1", "c1"]
    await device.disconnect()


async def test_a_frame_sent_again_during_the_cooldown_is_refused_busy(paramedic, settings):
    # A slow rate: the cooldown (about a second) outlasts any pause of a busy test machine.
    settings.DEVICE_RATE_PER_S = 1
    settings.DEVICE_BURST_ITEMS = 2
    device = await tablet(paramedic)
    await device.send_json_to({"type": "batch", "items": [position("a1", 1), position("a2", 2)]})
    await answers_frame(device)
    await device.send_json_to(position("b1", 3))
    assert (await device.receive_json_from())["type"] == "backoff"
    refused = await device.receive_json_from()
    assert (refused["type"], refused["code"]) == ("retry", "rate_limited")
    # Sent again at once: the socket still cools down, so it is refused before the bucket.
    await device.send_json_to(position("b1", 3))
    again = await device.receive_json_from()
    assert (again["type"], again["id"], again["code"]) == ("retry", "b1", "busy")
    assert 0 < again["retry_after_ms"] <= refused["retry_after_ms"]
    assert await DeviceItem.objects.filter(client_id="b1").acount() == 0
    await device.disconnect()


async def test_a_frame_past_the_queue_limit_is_answered_busy_and_nothing_is_taken(
    paramedic, settings
):
    settings.INGEST_MAX_QUEUED_ITEMS = 2
    device = await tablet(paramedic)
    items = [position(f"p{n}", n) for n in range(3)]
    await device.send_json_to({"type": "batch", "items": items})
    backoff = await device.receive_json_from()
    assert (backoff["type"], backoff["reason"]) == ("backoff", "busy")
    answers = await answers_frame(device)
    assert [(a["type"], a["code"], a["index"]) for a in answers] == [
        ("retry", "busy", 0),
        ("retry", "busy", 1),
        ("retry", "busy", 2),
    ]
    assert all(a["retry_after_ms"] >= 500 for a in answers)
    assert get_ingestor().stats.refused_frames == 1
    assert await UnitPosition.objects.acount() == 0
    assert await DeviceItem.objects.acount() == 0
    await device.disconnect()


async def test_the_chunks_past_the_queue_limit_are_refused_after_the_taken_ones_are_answered(
    paramedic, settings
):
    settings.INGEST_TICK_ITEMS = 2
    settings.INGEST_MAX_QUEUED_ITEMS = 3
    device = await tablet(paramedic)
    await device.send_json_to({"type": "batch", "items": [position(f"p{n}", n) for n in range(5)]})
    received = await frames(device)
    assert [f["type"] for f in received] == ["answers", "backoff", "answers"]
    taken, refused = received[0]["answers"], received[2]["answers"]
    assert [(a["type"], a["index"]) for a in taken] == [("ack", 0), ("ack", 1)]
    assert [(a["type"], a["code"], a["index"]) for a in refused] == [
        ("retry", "busy", 2),
        ("retry", "busy", 3),
        ("retry", "busy", 4),
    ]
    assert [p.client_id async for p in UnitPosition.objects.order_by("client_id")] == ["p0", "p1"]
    await device.disconnect()


async def test_past_the_busy_mark_devices_are_told_to_back_off_and_the_status_says_busy(
    paramedic, settings
):
    settings.INGEST_BUSY_ITEMS = 2
    # A long group window, so the items are still waiting while the status is read.
    settings.INGEST_TICK_MS = 500
    device = await tablet(paramedic)
    await device.send_json_to({"type": "batch", "items": [position("p1", 1), position("p2", 2)]})
    backoff = await device.receive_json_from()
    assert (backoff["type"], backoff["reason"]) == ("backoff", "busy")
    status = get_ingestor().status()
    assert (status["state"], status["queued_items"]) == ("busy", 2)
    # What /healthz reads, from its thread: every ingestor of the process.
    # (oldest_wait_ms moves on between the two reads.)
    assert {**status, "oldest_wait_ms": 0} in [
        {**s, "oldest_wait_ms": 0} for s in ingestors_status()
    ]
    with pytest.raises(DegradedError, match="2 items waiting"):
        await sync_to_async(check_realtime)()
    assert get_ingestor().stats.busy_since is not None
    # Accepted all the same: answered once the tick has run.
    assert [a["type"] for a in await answers_frame(device)] == ["ack", "ack"]
    status = get_ingestor().status()
    assert (status["state"], status["queued_items"], status["items"]) == ("ok", 0, 2)
    assert get_ingestor().stats.busy_since is None
    await device.disconnect()


async def test_under_the_busy_mark_no_backoff_is_sent(paramedic, settings):
    settings.INGEST_BUSY_ITEMS = 3
    device = await tablet(paramedic)
    await device.send_json_to({"type": "batch", "items": [position("p1", 1), position("p2", 2)]})
    assert [f["type"] for f in await frames(device)] == ["answers"]
    await device.disconnect()
