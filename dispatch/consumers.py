"""WebSockets of the dispatcher console and the crew tablet."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from audit.context import current
from audit.services import audit_reads, audit_record
from dispatch import access, events, selectors, services
from dispatch.devices import CREW_ITEM_TYPES
from realtime.consumers import ScreenConsumer, envelope, rejection
from realtime.devices import device_last_seq
from realtime.events import abroadcast
from realtime.ingest import Submission, get_ingestor, retry_answer

# How long an immediate answer waits for the answers of earlier frames at most.
ANSWER_WAIT_S = 30.0
# A refused seq stops holding later frames back after this long (a device that dropped it).
REFUSED_HOLD_S = 60.0
_DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _seqs(items: list[Any]) -> list[int]:
    return [
        item["seq"]
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("seq"), int)
        and not isinstance(item["seq"], bool)
    ]


def _incident_ids(board: dict[str, Any]) -> list[int]:
    ids = [incident["id"] for incident in board["incidents"]]
    # A partner's request shows its incident's complaint and address to the lending centre.
    ids += [r["incident_id"] for r in board.get("aid_requests", []) if r["incident_id"] not in ids]
    return list(dict.fromkeys(ids))


class DispatcherConsumer(ScreenConsumer):
    """A dispatcher console: follows its centre's stream."""

    def resolve(self, user: Any) -> Any:
        return access.access_dispatcher_centre(user)

    def group_names_for(self, target: Any) -> list[str]:
        return [events.centre_group(target.pk)]

    def snapshot(self, target: Any) -> dict[str, Any]:
        board = selectors.dispatch_board_snapshot(centre_id=target.pk)
        # The open incidents' complaints, callers and addresses: a read of each (on connect
        # and on every resync).
        audit_reads(self.scope["user"], "incident", _incident_ids(board), via="ws_snapshot")
        # Ringing calls show the callers' numbers: a read of each.
        audit_reads(
            self.scope["user"],
            "queued_call",
            [call["id"] for call in board["call_queue"]],
            via="ws_snapshot",
        )
        return envelope(
            "dispatch.board.snapshot", stream=events.centre_group(target.pk), data=board
        )


class CrewConsumer(ScreenConsumer):
    """A crew tablet or AVL box: follows its unit's stream, sends device items.

    Items go to the process's ingestor (realtime.ingest) and are answered after their tick
    commits; the socket keeps reading meanwhile, and answers go out in the order the items
    came. A frame is one item, or `{"type": "batch", "items": [...]}` answered by one
    `{"type": "answers", "answers": [...]}` frame whose answers carry the item's `index`.
    """

    device_id: str | None = None
    cooldown_until: float = 0.0
    # The lowest seq answered `retry` on this socket: later frames are refused until one
    # starts at or before it again (the device resends in order), so nothing overtakes it.
    refused_seq: int | None = None
    refused_at: float = 0.0
    backoff_told_at: float = 0.0
    # Done when the answers of every frame taken so far have been sent: answers leave in the
    # order the frames came, whether a tick or the consumer itself answers them.
    answered: asyncio.Future[None] | None = None

    def resolve(self, user: Any) -> Any:
        return access.access_crew_unit(user)

    def group_names_for(self, target: Any) -> list[str]:
        return [events.unit_group(target.pk)]

    def snapshot(self, target: Any) -> dict[str, Any]:
        data = selectors.crew_snapshot(target)
        if data["assignment"] is not None:
            # The job's address and notes are where the patient is: an audited read.
            audit_record(
                actor=self.scope["user"],
                action="read",
                object_type="incident",
                object_id=data["assignment"]["incident"]["id"],
                detail={"via": "ws_snapshot"},
            )
        return envelope("dispatch.unit.snapshot", stream=events.unit_group(target.pk), data=data)

    def replayable(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return access.crew_replay_visible(self.scope["user"], super().replayable(events))

    async def _presence(self, verb: str) -> None:
        unit = self.target
        stream = events.centre_group(unit.centre_id)
        data = {"unit_id": unit.pk, "call_sign": unit.call_sign, "device_id": self.device_id}
        await abroadcast([envelope(f"dispatch.unit.{verb}", stream=stream, data=data)])

    async def answers_in_order(self) -> None:
        waiting = self.answered
        if waiting is not None and not waiting.done():
            # Bounded: a tick that never answers must not wedge the socket.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiting), ANSWER_WAIT_S)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Device items carry an id and a seq; a batch carries items; the rest is control.
        if isinstance(content, dict) and content.get("type") == "batch":
            items = content.get("items")
            if not isinstance(items, list) or not items:
                await self.answers_in_order()
                await self.send_json(
                    rejection("invalid", "items must be a non-empty list of items.", field="items")
                )
                return
            limit = settings.DEVICE_MAX_BATCH_ITEMS
            if len(items) > limit:
                await self.answers_in_order()
                await self.send_json(
                    rejection(
                        "too_many_items",
                        f"A batch carries at most {limit} items; this one has {len(items)}. "
                        "Nothing of it was taken.",
                        field="items",
                    )
                )
                return
            await self.on_items(items, batch=True)
            return
        if (
            isinstance(content, dict)
            and "seq" in content
            and isinstance(content.get("type"), str)
            and content["type"] in CREW_ITEM_TYPES
        ):
            await self.on_items([content], batch=False)
            return
        await self.answers_in_order()
        await super().receive_json(content, **kwargs)

    async def _answer_later(
        self, answers: list[dict[str, Any]], *, batch: bool, first: int, done: asyncio.Future[None]
    ) -> None:
        try:
            await self._answer(answers, batch=batch, first=first)
        finally:
            if not done.done():
                done.set_result(None)

    async def _answer(self, answers: list[dict[str, Any]], *, batch: bool, first: int) -> None:
        if batch:
            indexed = [{**answer, "index": first + i} for i, answer in enumerate(answers)]
            await self.send_json({"type": "answers", "answers": indexed})
        else:
            await self.send_json(answers[0])

    async def _backoff(self, reason: str, retry_after_ms: int, message: str) -> None:
        now = time.monotonic()
        if now - self.backoff_told_at < 1.0:
            return
        self.backoff_told_at = now
        await self.send_json(
            {
                "type": "backoff",
                "reason": reason,
                "retry_after_ms": retry_after_ms,
                "message": message,
            }
        )

    async def _refuse(
        self, items: list[Any], *, batch: bool, first: int, code: str, wait_ms: int, message: str
    ) -> None:
        """Answer items `retry` without taking them, and hold this socket's later frames back
        for the same time, so the device's items are never taken out of order."""
        self.cooldown_until = max(self.cooldown_until, time.monotonic() + wait_ms / 1000)
        seqs = _seqs(items)
        if seqs:
            lowest = min(seqs)
            self.refused_seq = lowest if self.refused_seq is None else min(lowest, self.refused_seq)
            self.refused_at = time.monotonic()
        await self.answers_in_order()
        await self._backoff(code, wait_ms, message)
        answers = [retry_answer(item, code, wait_ms, message) for item in items]
        await self._answer(answers, batch=batch, first=first)

    async def on_items(self, items: list[Any], *, batch: bool) -> None:
        if self.device_id is None:
            answers = [
                rejection(
                    "no_hello",
                    "Send hello with your device_id first.",
                    field="device_id",
                    ref=item.get("id") if isinstance(item, dict) else None,
                )
                for item in items
            ]
            await self.answers_in_order()
            await self._answer(answers, batch=batch, first=0)
            return
        ingestor = get_ingestor()
        now = time.monotonic()
        if self.refused_seq is not None:
            seqs = _seqs(items)
            if (seqs and min(seqs) <= self.refused_seq) or now - self.refused_at > REFUSED_HOLD_S:
                self.refused_seq = None  # the device went back to what was refused
        # While refused_seq stands, a frame was sent before the device heard of the refusal:
        # taking it would put its items before the refused ones.
        if now < self.cooldown_until or self.refused_seq is not None:
            wait_ms = max(0, int((self.cooldown_until - now) * 1000)) + 1
            await self._refuse(
                items,
                batch=batch,
                first=0,
                code="busy",
                wait_ms=wait_ms,
                message="Backing off: send these again after retry_after_ms.",
            )
            return
        wait_s = ingestor.take_tokens(self.device_id, len(items))
        if wait_s > 0:
            await self._refuse(
                items,
                batch=batch,
                first=0,
                code="rate_limited",
                wait_ms=int(wait_s * 1000) + 1,
                message=f"Over {settings.DEVICE_RATE_PER_S} items/s for this device; "
                "send these again after retry_after_ms.",
            )
            return
        size = settings.INGEST_TICK_ITEMS
        for first in range(0, len(items), size):
            chunk = items[first : first + size]
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            submission = Submission(
                user=self.scope["user"],
                device_id=self.device_id,
                items=chunk,
                types=CREW_ITEM_TYPES,
                reply=functools.partial(self._answer_later, batch=batch, first=first, done=done),
                context=current(),
            )
            if ingestor.offer(submission):
                self.answered = done
            else:
                await self._refuse(
                    items[first:],
                    batch=batch,
                    first=first,
                    code="busy",
                    wait_ms=ingestor.retry_after_ms(),
                    message="The server is full; send these again after retry_after_ms.",
                )
                return
        if ingestor.state() == "busy":
            await self._backoff(
                "busy",
                ingestor.retry_after_ms(),
                "The server is busy: answers are late; slow down.",
            )

    async def on_hello(self, content: dict[str, Any]) -> None:
        """A tablet names its device once per connection; the centre sees it come online."""
        device_id = content.get("device_id")
        if not isinstance(device_id, str) or not _DEVICE_ID.match(device_id):
            await self.send_json(
                rejection(
                    "invalid",
                    "device_id must be 1-64 characters of letters, digits, '.', '_', ':' or '-'.",
                    field="device_id",
                )
            )
            return
        self.device_id = device_id
        # The device learns the last item sequence the server holds, to resend what is after.
        last_seq = await database_sync_to_async(device_last_seq)(device_id, self.scope["user"])
        await self.send_json(
            {
                "type": "hello.ack",
                "device_id": device_id,
                "unit_id": self.target.pk,
                "last_seq": last_seq,
            }
        )
        # Kept in the database as well as announced, for consoles that open later.
        await database_sync_to_async(services.unit_presence_open)(
            unit_id=self.target.pk, device_id=device_id, channel_name=self.channel_name
        )
        await self._presence("online")

    async def disconnect(self, code: int) -> None:
        if self.device_id is not None:
            gone = await database_sync_to_async(services.unit_presence_close)(
                channel_name=self.channel_name
            )
            # Another tablet of the unit still connected keeps it online.
            if gone:
                await self._presence("offline")
        await super().disconnect(code)
