"""The event log: record an event with the change, send it after commit, replay on request.

Services call `event_record` inside their transaction. The row and the change commit
together, and only then is the envelope sent to the stream's Channels group, so no screen
ever sees an event for a change that rolled back, and a dropped message is recovered from
the log by sequence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.models import EventLog, StreamSequence

logger = logging.getLogger(__name__)


def event_record(*, stream: str, event_type: str, data: dict[str, Any]) -> EventLog:
    """Append an event to `stream` and schedule its broadcast after commit.

    Must run inside the caller's transaction (atomic is opened if there is none).
    """
    with transaction.atomic():
        sequence, _ = StreamSequence.objects.select_for_update().get_or_create(stream=stream)
        # The row lock serialises writers of one stream, so sequences have no gaps or repeats.
        sequence.last_seq += 1
        sequence.save(update_fields=["last_seq"])
        event = EventLog.objects.create(
            stream=stream, seq=sequence.last_seq, type=event_type, data=data, ts=timezone.now()
        )
        envelope = event.envelope()
        transaction.on_commit(lambda: broadcast(stream, envelope))
    return event


def broadcast(group: str, envelope: dict[str, Any]) -> None:
    """Send a ready envelope to a group; a lost message is healed by replay, so only log."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "event.forward", "event": envelope})
    except Exception:
        logger.exception("broadcast to %s failed; screens will heal from the event log", group)


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
