"""The event log: record an event with the change, send it after commit, replay on request.

Services call `event_record` inside their transaction. The row and the change commit
together, and only then is the envelope sent to the screens (through the per-process fan-out
hubs, realtime.fanout), so no screen ever sees an event for a change that rolled back, and a
dropped message is recovered from the log by sequence.

Inside an ingest tick (realtime.ingest) the events of every item are collected by an
`EventBatch` instead and written at the end of the tick's transaction: one sequence update
per stream, the streams locked in name order (so two processes' ticks never deadlock on
them), one bulk insert, and one channel-layer message for the whole tick.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config import sql
from config.aio import run_from_sync
from realtime.models import EventLog, StreamSequence

logger = logging.getLogger(__name__)

EVENT_VERSION = 1
# Every daphne process's fan-out hub joins this one group; a message carries the events of
# any number of streams and each hub keeps those its own screens follow (realtime.fanout).
HUB_GROUP = "realtime.hubs"
HUB_MESSAGE = "hub.events"


@dataclass
class PendingEvent:
    stream: str
    type: str
    data: dict[str, Any]
    ts: datetime


@dataclass
class EventBatch:
    """Events recorded inside an ingest tick, written together when it ends.

    `mark()` / `rollback_to()` follow the tick's per-item savepoints: an item that is
    rejected takes its events with it.
    """

    pending: list[PendingEvent] = field(default_factory=list)
    written: list[dict[str, Any]] = field(default_factory=list)

    def add(self, stream: str, event_type: str, data: dict[str, Any]) -> None:
        self.pending.append(PendingEvent(stream, event_type, data, timezone.now()))

    def mark(self) -> int:
        return len(self.pending)

    def rollback_to(self, mark: int) -> None:
        del self.pending[mark:]

    def flush(self) -> list[dict[str, Any]]:
        """Allocate sequences and insert the rows (inside the tick's transaction).

        Returns the envelopes in stream order, each stream's in sequence order; they are also
        kept in `written` for the caller to publish once the transaction has committed.
        """
        if not self.pending:
            return []
        by_stream: dict[str, list[PendingEvent]] = {}
        for event in self.pending:
            by_stream.setdefault(event.stream, []).append(event)
        heads = _allocate(sorted(by_stream), {s: len(e) for s, e in by_stream.items()})
        rows = []
        for stream in sorted(by_stream):
            first = heads[stream] - len(by_stream[stream]) + 1
            for offset, event in enumerate(by_stream[stream]):
                rows.append(
                    EventLog(
                        stream=stream,
                        seq=first + offset,
                        type=event.type,
                        data=event.data,
                        ts=event.ts,
                        v=EVENT_VERSION,
                    )
                )
        sql.insert_objects(rows)
        self.pending = []
        self.written.extend(row.envelope() for row in rows)
        return [row.envelope() for row in rows]


_batch: ContextVar[EventBatch | None] = ContextVar("event_batch", default=None)


@contextmanager
def event_batch() -> Iterator[EventBatch]:
    """Collect `event_record` calls for one ingest tick (see EventBatch)."""
    batch = EventBatch()
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)


@contextmanager
def event_batch_suspended() -> Iterator[None]:
    """Record events directly inside, even where an ingest tick's batch is current.

    For work that runs in its own transaction after the tick's commit yet in the same
    context (an outbox task run eagerly from the tick's on_commit): the tick's batch has
    been flushed by then, and events added to it would be lost.
    """
    token = _batch.set(None)
    try:
        yield
    finally:
        _batch.reset(token)


def _allocate(streams: list[str], counts: dict[str, int]) -> dict[str, int]:
    """Take `counts[s]` sequence numbers on each stream; returns each stream's new head.

    The rows are locked in name order before they are changed, the same order in every
    process, so two ticks that write the same streams queue instead of deadlocking.
    """
    table = StreamSequence._meta.db_table
    sql.insert_returning(
        table,
        ["stream", "last_seq"],
        ["text", "int"],
        [(stream, 0) for stream in streams],
        conflict=["stream"],
        returning=["id"],
    )
    sql.lock_rows(table, "stream", streams)
    changed = sql.update_from_values(
        table,
        "stream",
        ["last_seq"],
        ["text", "int"],
        [(stream, counts[stream]) for stream in streams],
        returning=["stream", "last_seq"],
        expressions={"last_seq": f"{table}.last_seq + v.last_seq"},
    )
    return {stream: int(last) for stream, last in changed}


def event_record(*, stream: str, event_type: str, data: dict[str, Any]) -> None:
    """Append an event to `stream` and schedule its broadcast after commit.

    Must run inside the caller's transaction (atomic is opened if there is none). Inside an
    ingest tick the event is collected and written when the tick ends.
    """
    batch = _batch.get()
    if batch is not None:
        batch.add(stream, event_type, data)
        return
    with transaction.atomic():
        sequence, _ = StreamSequence.objects.select_for_update().get_or_create(stream=stream)
        # The row lock serialises writers of one stream, so sequences have no gaps or repeats.
        sequence.last_seq += 1
        sequence.save(update_fields=["last_seq"])
        event = EventLog.objects.create(
            stream=stream, seq=sequence.last_seq, type=event_type, data=data, ts=timezone.now()
        )
        envelope = event.envelope()
        transaction.on_commit(lambda: broadcast([envelope]))


def hub_message(envelopes: list[dict[str, Any]]) -> dict[str, Any]:
    """The channel-layer message that carries ready envelopes to every process's hub."""
    return {"type": HUB_MESSAGE, "events": envelopes}


def broadcast(envelopes: list[dict[str, Any]]) -> None:
    """Send ready envelopes to the hubs; a lost message is healed by replay, so only log."""
    if not envelopes:
        return
    try:
        # A loop on this thread (a test driving a browser) gets the send as a task.
        run_from_sync(abroadcast, envelopes)
    except Exception:
        logger.exception("broadcast of %d events failed; screens heal from the log", len(envelopes))


async def abroadcast(envelopes: list[dict[str, Any]]) -> None:
    """`broadcast` from async code (the ingest tick publishes this way after its commit)."""
    layer = get_channel_layer()
    if layer is None or not envelopes:
        return
    await layer.group_send(HUB_GROUP, hub_message(envelopes))


def stream_head(stream: str) -> int:
    """The last sequence number recorded on a stream (0 when none)."""
    return (
        StreamSequence.objects.filter(stream=stream).values_list("last_seq", flat=True).first() or 0
    )


@dataclass(frozen=True)
class Replay:
    """Events after a sequence, or None when too far behind (send a snapshot instead)."""

    head: int
    events: list[dict[str, Any]] | None


def events_since(*, stream: str, since: int) -> Replay:
    """The events of `stream` after `since`, in order, if there are at most
    `settings.EVENT_REPLAY_LIMIT` (past that a fresh snapshot is cheaper than the replay)."""
    head = stream_head(stream)
    if since > head or head - since > settings.EVENT_REPLAY_LIMIT:
        return Replay(head=head, events=None)
    rows = EventLog.objects.filter(stream=stream, seq__gt=since, seq__lte=head).order_by("seq")
    return Replay(head=head, events=[row.envelope() for row in rows])
