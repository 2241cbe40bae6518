"""The per-process fan-out hub: one channel-layer member per daphne process, not per screen.

Channels' own fan-out sends every group message to every member, one channel-layer message
per screen, and drops silently at capacity. Here every daphne process has one hub: it joins
the one group `realtime.events.HUB_GROUP`, receives each tick's events once, keeps the events
of the streams its own screens follow, and every `FANOUT_TICK_MS` sends each of those streams
to its screens as one frame, encoded once for all of them:

- one event: the event's envelope itself; several: `{"type": "batch", "stream", "events"}`.
- A screen is paused while it is sent its snapshot or replay, so live frames never overtake
  the catch-up; what arrives meanwhile is held and sent right after.
- A screen that reports what it has applied (`{"type": "seen", "seq": N}`, the dispatcher
  console does) is held back once it is more than `SCREEN_LAG_S` behind what it was sent:
  its state events (`dispatch.units.moved`) are merged into one, newest place per unit, and
  sent when it catches up, so a slow screen gets the latest state and never a growing
  backlog. Held events past `HOLD_LIMIT` are dropped: the screen sees a gap and resyncs.

A hub that loses the channel layer (Redis restarted) keeps trying and joins the group again;
screens heal what they missed by sequence (docs/events.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from realtime.events import HUB_GROUP, HUB_MESSAGE

logger = logging.getLogger(__name__)

# A hub joins its group again this often: a restarted Redis has forgotten every group, and
# channels_redis expires memberships after a day.
REJOIN_EVERY_S = 5.0
# Two processes' ticks of one stream reach a hub in either order; a hub waits this long for
# a missing sequence before it sends what follows anyway (then the screens see a gap and
# resync). Without it, every screen of a centre resyncs at once whenever two ticks cross.
REORDER_WAIT_S = 0.25
# A screen that has not confirmed a frame sent this long ago is held back (see module doc).
SCREEN_LAG_S = 2.0
HOLD_LIMIT = 500

# Event types whose data is the latest state of a list of entities, which a newer event of
# the same type replaces entity by entity: {type: (list key, entity key)}.
STATE_EVENTS: dict[str, tuple[str, str]] = {}


def register_state_event(event_type: str, *, list_key: str, entity_key: str = "id") -> None:
    """Declare `event_type` superseded state (positions), so a lagging screen's copies merge."""
    STATE_EVENTS[event_type] = (list_key, entity_key)


def encode_frame(stream: str, events: list[dict[str, Any]]) -> str:
    """The frame text of `events` of one stream: the envelope, or a batch of them."""
    if len(events) == 1:
        return json.dumps(events[0], separators=(",", ":"))
    return json.dumps({"type": "batch", "stream": stream, "events": events}, separators=(",", ":"))


def _seq_from(event: dict[str, Any]) -> Any:
    return event.get("seq_from", event.get("seq"))


def merge_events(held: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """Append `events` to `held`, merging consecutive state events of one type into one.

    A merged event covers `seq_from`..`seq` and carries each entity's newest copy, so a
    client that applies it moves its sequence on by the whole range.
    """
    for event in events:
        previous = held[-1] if held else None
        kind = STATE_EVENTS.get(event.get("type", ""))
        if (
            kind is not None
            and previous is not None
            and previous.get("type") == event.get("type")
            and isinstance(previous.get("seq"), int)
            and event.get("seq") == previous["seq"] + 1
        ):
            list_key, entity_key = kind
            entities = {e.get(entity_key): e for e in previous["data"].get(list_key, [])}
            for entity in event["data"].get(list_key, []):
                entities[entity.get(entity_key)] = entity
            held[-1] = {
                **event,
                "seq_from": _seq_from(previous),
                "data": {**event["data"], list_key: list(entities.values())},
            }
        else:
            held.append(event)


class Subscriber:
    """One screen's subscription to one stream."""

    def __init__(self, hub: Hub, stream: str, send: Callable[[str], Awaitable[None]]) -> None:
        self.hub = hub
        self.stream = stream
        self._send = send
        self.paused = True
        self.held: list[dict[str, Any]] = []
        self.flow = False
        self.unseen: deque[tuple[int, float]] = deque()
        self.confirmed = 0
        self.overflowed = 0
        self.closed = False
        self.frames = 0

    def lagging(self) -> bool:
        return bool(
            self.flow and self.unseen and time.monotonic() - self.unseen[0][1] > SCREEN_LAG_S
        )

    async def deliver(self, events: list[dict[str, Any]], text: str) -> None:
        if self.closed:
            return
        if self.paused or self.lagging():
            self._hold(events)
            return
        if self.held:
            self._hold(events)
            await self._release()
            return
        await self._write(events, text)

    def _hold(self, events: list[dict[str, Any]]) -> None:
        merge_events(self.held, events)
        if len(self.held) > HOLD_LIMIT:
            # Too far behind to be worth catching up event by event: drop what is held and
            # stop waiting for it, so the next frame goes out, shows the screen a gap, and
            # its resync brings it up to date.
            self.held.clear()
            self.unseen.clear()
            self.overflowed += 1

    async def _write(self, events: list[dict[str, Any]], text: str | None = None) -> None:
        text = text if text is not None else encode_frame(self.stream, events)
        seqs = [e["seq"] for e in events if isinstance(e.get("seq"), int)]
        # Only a frame that moves the screen on is waited for: one of repeats (events held
        # during a catch-up that the replay already carried) moves nothing, so no `seen`.
        if self.flow and seqs and max(seqs) > self.confirmed:
            self.unseen.append((max(seqs), time.monotonic()))
        self.frames += 1
        try:
            await self._send(text)
        except Exception:  # a socket closing under us; its disconnect unsubscribes it
            self.closed = True

    async def _release(self) -> None:
        if self.held and not self.paused and not self.lagging():
            events, self.held = self.held, []
            await self._write(events)

    async def resume(self) -> None:
        self.paused = False
        await self._release()

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold live frames for the block (a catch-up being sent), then send what was held."""
        self.paused = True
        try:
            yield
        finally:
            await self.resume()

    async def seen(self, seq: int) -> None:
        """The screen has applied everything up to `seq`; it now gets flow control."""
        self.flow = True
        self.confirmed = max(self.confirmed, seq)
        while self.unseen and self.unseen[0][0] <= seq:
            self.unseen.popleft()
        await self._release()


class Hub:
    """The fan-out hub of one event loop (one daphne process)."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.streams: dict[str, set[Subscriber]] = {}
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.channel: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self._flush_lock = asyncio.Lock()
        self.received = 0
        self.layer_errors = 0
        # Per followed stream: the sequence the hub expects next, and since when it waits.
        self.expected: dict[str, int] = {}
        self.waiting_since: dict[str, float] = {}
        self.reordered = 0

    @property
    def tick_s(self) -> float:
        return float(settings.FANOUT_TICK_MS) / 1000

    async def subscribe(self, stream: str, send: Callable[[str], Awaitable[None]]) -> Subscriber:
        """A paused subscription: call `resume()` once the screen has its catch-up."""
        subscriber = Subscriber(self, stream, send)
        self.streams.setdefault(stream, set()).add(subscriber)
        await self._start()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscriber.closed = True
        subs = self.streams.get(subscriber.stream)
        if subs is not None:
            subs.discard(subscriber)
            if not subs:
                del self.streams[subscriber.stream]
        if not self.streams:
            self._stop()

    async def _start(self) -> None:
        if self._tasks or self.layer is None:
            return
        # The default prefix, on purpose: channels_redis reads every local channel of a
        # process through one Redis list per prefix, and whichever receive holds its lock
        # reads only its own prefix's list, so a second prefix would starve (no messages).
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(HUB_GROUP, self.channel)
        self._tasks = [
            asyncio.create_task(self._receive_loop()),
            asyncio.create_task(self._rejoin_loop()),
        ]

    def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        channel, self.channel = self.channel, None
        if channel is not None and self.layer is not None:
            layer = self.layer

            async def leave() -> None:
                with contextlib.suppress(Exception):
                    await layer.group_discard(HUB_GROUP, channel)

            asyncio.get_running_loop().create_task(leave())

    async def _rejoin_loop(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_EVERY_S)
            await self._join()

    async def _join(self) -> None:
        if self.layer is None or self.channel is None:
            return
        try:
            await self.layer.group_add(HUB_GROUP, self.channel)
        except Exception as exc:  # the layer is down; the receive loop reports it
            logger.debug("hub could not join its group: %s", type(exc).__name__)

    async def _receive_loop(self) -> None:
        layer, channel = self.layer, self.channel
        if layer is None or channel is None:
            return
        failures = 0
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.layer_errors += 1
                if failures == 1:
                    logger.warning(
                        "fan-out hub lost the channel layer (%s); screens heal from the log",
                        type(exc).__name__,
                    )
                await asyncio.sleep(min(2.0, 0.1 * 2 ** min(failures, 5)))
                await self._join()
                continue
            if failures:
                logger.info("fan-out hub has the channel layer again after %d errors", failures)
                failures = 0
            if message.get("type") == HUB_MESSAGE:
                self.received += 1
                self.accept(message.get("events") or [])

    def accept(self, events: list[dict[str, Any]]) -> None:
        """Queue the events of followed streams for the next flush."""
        for event in events:
            stream = event.get("stream")
            if isinstance(stream, str) and stream in self.streams:
                self.pending.setdefault(stream, []).append(event)
        if self.pending and self._flush_handle is None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, self._last_flush + self.tick_s - time.monotonic())
            self._flush_handle = loop.call_later(delay, self._flush_soon)

    def _flush_soon(self) -> None:
        asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        """Send every stream's queued events to its screens: one frame per stream."""
        async with self._flush_lock:
            self._flush_handle = None
            self._last_flush = time.monotonic()
            pending, self.pending = self.pending, {}
            for stream, events in pending.items():
                if stream not in self.streams:
                    self.expected.pop(stream, None)
                    self.waiting_since.pop(stream, None)
                    continue
                ready, later = self._in_order(stream, events)
                if later:
                    self.pending[stream] = later
                if not ready:
                    continue
                text = encode_frame(stream, ready)
                for subscriber in list(self.streams.get(stream, ())):
                    await subscriber.deliver(ready, text)
            if self.pending and self._flush_handle is None:
                self._flush_handle = asyncio.get_running_loop().call_later(
                    self.tick_s, self._flush_soon
                )

    def _in_order(
        self, stream: str, events: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The events to send now, in sequence order, and those that wait for a missing one.

        Presence (no seq) goes at once, after the logged ones. An event older than expected
        goes too (the screen drops a repeat); one after a hole waits up to REORDER_WAIT_S.
        """
        logged = sorted(
            (e for e in events if isinstance(e.get("seq"), int)), key=lambda e: e["seq"]
        )
        unlogged = [e for e in events if not isinstance(e.get("seq"), int)]
        expected = self.expected.get(stream)
        ready: list[dict[str, Any]] = []
        index = 0
        while index < len(logged):
            event = logged[index]
            if expected is not None and _seq_from(event) > expected:
                break
            ready.append(event)
            expected = max(expected or 0, event["seq"] + 1)
            index += 1
        later = logged[index:]
        now = time.monotonic()
        if later:
            since = self.waiting_since.setdefault(stream, now)
            if now - since >= REORDER_WAIT_S:
                ready += later
                expected = later[-1]["seq"] + 1
                later = []
        if later:
            self.reordered += 1
        else:
            self.waiting_since.pop(stream, None)
        if expected is not None:
            self.expected[stream] = expected
        return ready + unlogged, later

    def status(self) -> dict[str, Any]:
        subscribers = [s for subs in self.streams.values() for s in subs]
        return {
            "streams": len(self.streams),
            "screens": len(subscribers),
            # Held back for lag, not paused for a catch-up (every connect is, briefly).
            "lagging": sum(1 for s in subscribers if not s.paused and s.lagging()),
            "messages": self.received,
            "layer_errors": self.layer_errors,
        }


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per daphne process; one per test's loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub


def hubs_status() -> list[dict[str, Any]]:
    """What every hub of this process is doing (for /healthz, which runs in a thread)."""
    return [hub.status() for hub in list(_hubs.values())]
