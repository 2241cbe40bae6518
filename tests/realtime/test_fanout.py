"""The fan-out hub (realtime.fanout): merged position state for a lagging screen, live frames
held back during a catch-up, one encoding of a frame for every screen of a stream."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from dispatch import events, selectors
from realtime import fanout
from realtime.events import abroadcast, event_batch, event_record
from realtime.fanout import Subscriber, merge_events
from tests.realtime.conftest import connect, frames

MOVED = events.UNITS_MOVED
STREAM = "dispatch.center.1"


def moved(seq: int, *units: tuple[int, float]) -> dict[str, Any]:
    data = {"units": [{"id": unit_id, "lat": lat} for unit_id, lat in units]}
    return {"type": MOVED, "stream": STREAM, "seq": seq, "data": data}


def other(seq: int) -> dict[str, Any]:
    return {"type": "dispatch.incident.updated", "stream": STREAM, "seq": seq, "data": {"id": 9}}


# --- merge_events ---------------------------------------------------------------------------


def test_consecutive_state_events_merge_into_one_covering_their_range_newest_per_unit():
    held: list[dict[str, Any]] = []
    merge_events(held, [moved(4, (1, 60.1), (2, 60.2)), moved(5, (2, 60.25))])
    merge_events(held, [moved(6, (3, 60.3), (1, 60.15))])
    [merged] = held
    assert (merged["seq_from"], merged["seq"]) == (4, 6)
    assert merged["data"]["units"] == [
        {"id": 1, "lat": 60.15},
        {"id": 2, "lat": 60.25},
        {"id": 3, "lat": 60.3},
    ]


def test_other_events_are_kept_in_order_and_end_a_merge():
    held: list[dict[str, Any]] = []
    merge_events(held, [moved(1, (1, 60.1)), other(2), other(3), moved(4, (1, 60.4))])
    merge_events(held, [moved(5, (1, 60.5))])
    assert [(e["type"], e.get("seq_from", e["seq"]), e["seq"]) for e in held] == [
        (MOVED, 1, 1),
        ("dispatch.incident.updated", 2, 2),
        ("dispatch.incident.updated", 3, 3),
        (MOVED, 4, 5),
    ]
    assert held[3]["data"]["units"] == [{"id": 1, "lat": 60.5}]
    assert "seq_from" not in held[0]


def test_state_events_with_a_gap_between_them_are_not_merged():
    held: list[dict[str, Any]] = []
    merge_events(held, [moved(1, (1, 60.1)), moved(3, (1, 60.3))])
    assert [e["seq"] for e in held] == [1, 3]


def test_events_of_unregistered_types_never_merge():
    held: list[dict[str, Any]] = []
    merge_events(held, [other(1), other(2)])
    assert [e["seq"] for e in held] == [1, 2]


# --- Subscriber -----------------------------------------------------------------------------


class Screen:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


@pytest.mark.asyncio
async def test_a_paused_subscriber_holds_frames_and_sends_them_as_one_on_resume():
    screen = Screen()
    subscriber = Subscriber(hub=None, stream=STREAM, send=screen.send)  # type: ignore[arg-type]
    for event in (moved(1, (1, 60.1)), other(2), moved(3, (1, 60.3))):
        await subscriber.deliver([event], fanout.encode_frame(STREAM, [event]))
    assert screen.sent == []
    await subscriber.resume()
    [frame] = screen.sent
    assert frame["type"] == "batch"
    assert [e["seq"] for e in frame["events"]] == [1, 2, 3]


@pytest.mark.asyncio
async def test_a_subscriber_not_confirming_is_held_then_gets_the_merged_state(monkeypatch):
    monkeypatch.setattr(fanout, "SCREEN_LAG_S", 0.05)
    screen = Screen()
    subscriber = Subscriber(hub=None, stream=STREAM, send=screen.send)  # type: ignore[arg-type]
    await subscriber.resume()
    await subscriber.seen(0)
    first = moved(1, (1, 60.1))
    await subscriber.deliver([first], fanout.encode_frame(STREAM, [first]))
    assert [f["seq"] for f in screen.sent] == [1]
    await asyncio.sleep(0.1)
    for seq in (2, 3, 4):
        event = moved(seq, (seq % 2, 60 + seq / 10))
        await subscriber.deliver([event], fanout.encode_frame(STREAM, [event]))
    assert len(screen.sent) == 1
    await subscriber.seen(1)
    merged = screen.sent[1]
    assert (merged["type"], merged["seq_from"], merged["seq"]) == (MOVED, 2, 4)
    assert merged["data"]["units"] == [{"id": 0, "lat": 60.4}, {"id": 1, "lat": 60.3}]


@pytest.mark.asyncio
async def test_a_subscriber_that_never_confirms_is_never_held():
    screen = Screen()
    subscriber = Subscriber(hub=None, stream=STREAM, send=screen.send)  # type: ignore[arg-type]
    await subscriber.resume()
    subscriber.unseen.append((1, time.monotonic() - 60))
    event = moved(1, (1, 60.1))
    await subscriber.deliver([event], fanout.encode_frame(STREAM, [event]))
    assert len(screen.sent) == 1


@pytest.mark.asyncio
async def test_held_events_past_the_limit_are_dropped_for_a_resync(monkeypatch):
    monkeypatch.setattr(fanout, "HOLD_LIMIT", 3)
    screen = Screen()
    subscriber = Subscriber(hub=None, stream=STREAM, send=screen.send)  # type: ignore[arg-type]
    for seq in range(1, 6):
        await subscriber.deliver([other(seq)], fanout.encode_frame(STREAM, [other(seq)]))
    assert subscriber.overflowed == 1
    await subscriber.resume()
    # The screen gets what came after the drop; its gap in sequence makes it resync.
    assert [[e["seq"] for e in f.get("events", [f])] for f in screen.sent] == [[5]]


@pytest.mark.asyncio
async def test_a_lagging_screen_past_the_limit_gets_the_next_frame_and_sees_its_gap(monkeypatch):
    monkeypatch.setattr(fanout, "HOLD_LIMIT", 3)
    monkeypatch.setattr(fanout, "SCREEN_LAG_S", 0.05)
    screen = Screen()
    subscriber = Subscriber(hub=None, stream=STREAM, send=screen.send)  # type: ignore[arg-type]
    await subscriber.resume()
    await subscriber.seen(0)
    await subscriber.deliver([other(1)], fanout.encode_frame(STREAM, [other(1)]))
    await asyncio.sleep(0.1)  # never confirmed: held from now on
    for seq in range(2, 7):
        await subscriber.deliver([other(seq)], fanout.encode_frame(STREAM, [other(seq)]))
    assert subscriber.overflowed == 1
    # Not held for ever: what comes after the drop goes out, and its seq shows the gap.
    sent = [e["seq"] for f in screen.sent for e in f.get("events", [f])]
    assert sent[0] == 1
    assert sent[-1] == 6
    assert 2 not in sent


@pytest.mark.asyncio
async def test_a_frame_of_repeats_is_not_waited_for(monkeypatch):
    # Events held during a catch-up and sent after it repeat what the replay carried; a
    # screen confirms only when its sequence moves, so such a frame must not hold it back.
    monkeypatch.setattr(fanout, "SCREEN_LAG_S", 0.05)
    screen = Screen()
    subscriber = Subscriber(hub=None, stream=STREAM, send=screen.send)  # type: ignore[arg-type]
    await subscriber.resume()
    await subscriber.seen(5)
    await subscriber.deliver(
        [other(4), other(5)], fanout.encode_frame(STREAM, [other(4), other(5)])
    )
    await asyncio.sleep(0.1)
    await subscriber.deliver([other(6)], fanout.encode_frame(STREAM, [other(6)]))
    assert [f.get("seq") for f in screen.sent][-1] == 6


# --- through the socket ---------------------------------------------------------------------


def _record(stream: str, event_type: str, data: dict[str, Any]) -> None:
    with transaction.atomic():
        event_record(stream=stream, event_type=event_type, data=data)


record = database_sync_to_async(_record)


def _units(*units: tuple[int, float]) -> dict[str, Any]:
    return {"units": [{"id": unit_id, "lat": lat} for unit_id, lat in units]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_console_that_stops_confirming_gets_merged_positions_when_it_catches_up(
    dispatcher, centre, monkeypatch
):
    monkeypatch.setattr(fanout, "SCREEN_LAG_S", 0.2)
    stream = events.centre_group(centre.pk)
    console = await connect(dispatcher, "/ws/dispatch/")
    snapshot = await console.receive_json_from()
    await console.send_json_to({"type": "seen", "seq": snapshot["seq"]})
    # The socket answers in order: once this is refused, the `seen` before it has been read.
    await console.send_json_to({"type": "barrier"})
    assert (await console.receive_json_from())["code"] == "unknown_type"
    await record(stream, MOVED, _units((1, 60.1)))
    first = await console.receive_json_from()
    assert (first["type"], first["seq"]) == (MOVED, 1)
    await asyncio.sleep(0.3)
    await record(stream, MOVED, _units((1, 60.2), (2, 60.21)))
    await record(stream, MOVED, _units((1, 60.3)))
    # Unconfirmed for longer than SCREEN_LAG_S: held, nothing more until it confirms.
    assert await console.receive_nothing(timeout=0.3)
    await console.send_json_to({"type": "seen", "seq": 1})
    merged = await console.receive_json_from()
    assert (merged["type"], merged["seq_from"], merged["seq"]) == (MOVED, 2, 3)
    assert merged["data"]["units"] == [{"id": 1, "lat": 60.3}, {"id": 2, "lat": 60.21}]
    await console.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_live_event_during_the_snapshot_comes_after_it(dispatcher, centre, monkeypatch):
    stream = events.centre_group(centre.pk)
    real = selectors.dispatch_board_snapshot

    def slow_snapshot(**kwargs: Any) -> Any:
        # An event committed while the snapshot is read, and time for the hub to flush it.
        _record(stream, MOVED, _units((1, 60.5)))
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(selectors, "dispatch_board_snapshot", slow_snapshot)
    console = await connect(dispatcher, "/ws/dispatch/")
    received = [await console.receive_json_from(timeout=5), *await frames(console)]
    assert [f["type"] for f in received] == ["dispatch.board.snapshot", MOVED]
    await console.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_live_event_during_a_replay_comes_after_it(dispatcher, centre, monkeypatch):
    from realtime import events as log

    stream = events.centre_group(centre.pk)
    console = await connect(dispatcher, "/ws/dispatch/")
    await console.receive_json_from()
    await record(stream, MOVED, _units((1, 60.1)))
    assert (await console.receive_json_from())["seq"] == 1
    real = log.events_since

    def slow_replay(**kwargs: Any) -> Any:
        replay = real(**kwargs)
        _record(stream, MOVED, _units((1, 60.2)))
        time.sleep(0.3)
        return replay

    monkeypatch.setattr(log, "events_since", slow_replay)
    await console.send_json_to({"type": "resync", "since": 0})
    received = [await console.receive_json_from(timeout=5), *await frames(console)]
    assert [(f["type"], f.get("seq")) for f in received] == [
        ("replay", None),
        (MOVED, 1),
        (MOVED, 2),
    ]
    assert received[0]["head"] == 1
    await console.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_screens_of_one_stream_get_one_frame_encoded_once(
    dispatcher, centre, monkeypatch
):
    stream = events.centre_group(centre.pk)
    encoded: list[str] = []
    real = fanout.encode_frame

    def counting(of_stream: str, batch: list[dict[str, Any]]) -> str:
        text = real(of_stream, batch)
        if of_stream == stream:
            encoded.append(text)
        return text

    monkeypatch.setattr(fanout, "encode_frame", counting)
    consoles = [await connect(dispatcher, "/ws/dispatch/") for _ in range(2)]
    for console in consoles:
        await console.receive_json_from()

    def two_events() -> list[dict[str, Any]]:
        # As an ingest tick writes them: one hub message for both.
        with event_batch() as batch, transaction.atomic():
            event_record(stream=stream, event_type=MOVED, data=_units((1, 60.1)))
            event_record(stream=stream, event_type=MOVED, data=_units((2, 60.2)))
            batch.flush()
        return batch.written

    await abroadcast(await database_sync_to_async(two_events)())
    texts = [(await console.receive_output())["text"] for console in consoles]
    assert texts[0] == texts[1] == encoded[0]
    assert len(encoded) == 1
    frame = json.loads(texts[0])
    assert (frame["type"], [e["seq"] for e in frame["events"]]) == ("batch", [1, 2])
    for console in consoles:
        await console.disconnect()
