"""Device items in ticks: every item that arrives within one short window, from every
connection of the process, is written in one transaction (group commit).

Why: an item on its own costs a transaction, a lock of the centre's stream counter and a
dozen statements; at a region's rate that is the whole machine. A tick costs about the same
statements for a few hundred items (docs/events.md, "Ingest").

The guarantees of docs/protocol.md hold per item:

- An item's answer is sent only after the tick that holds it has committed.
- Each item is claimed first by inserting its DeviceItem row (sorted, so two processes queue
  instead of deadlocking); an id already stored, or claimed by a transaction that commits
  first, is answered as it was the first time and changes nothing.
- Items of one device are applied in the order they arrived. Items with a batch handler
  (vitals) are applied set-based in runs that no other item of the same device or encounter
  interrupts; `deferred` items (positions) are applied set-based at the end.
- A rejected item is rolled back to its savepoint with its events and audit rows; the
  others of the tick are unaffected.
- If the tick's transaction fails (a deadlock, a lost connection) it is tried again; if it
  still fails, or a batch handler breaks, every item is applied on its own
  (realtime.devices.item_process) so one bad item never blocks the rest.

Back-pressure: past INGEST_BUSY_ITEMS waiting items the process is "busy" (devices are told
to back off, /healthz and the log say so); past INGEST_MAX_QUEUED_ITEMS a new frame is not
taken at all and its items are answered `retry` (nothing accepted is ever dropped: an item
answered `retry` was not accepted and stays in the device's outbox).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils import timezone

from audit.context import SYSTEM, AuditContext, audit_context, new_request_id
from audit.services import audit_batch
from config import sql
from realtime.devices import (
    BatchItem,
    ItemRejected,
    ItemType,
    content_problem,
    envelope_problem,
    item_process,
    rejection,
)
from realtime.events import abroadcast, event_batch
from realtime.models import DeviceItem

logger = logging.getLogger(__name__)

Reply = Callable[[list[dict[str, Any]]], Awaitable[None]]
_TICK_ATTEMPTS = 3


def unprocessable_answer(item: Any) -> dict[str, Any]:
    """The reject of an item whose handler failed on its content (a server defect, logged)."""
    item_id = item.get("id") if isinstance(item, dict) else None
    return rejection(
        item_id if isinstance(item_id, str) else None,
        None,
        "The server could not process this item (logged as a defect); it was not stored. "
        "Check it and enter it again.",
        "unprocessable",
    )


def retry_answer(item: Any, code: str, retry_after_ms: int, message: str) -> dict[str, Any]:
    """Not taken: send the item again after `retry_after_ms` (it changed nothing)."""
    item_id = item.get("id") if isinstance(item, dict) else None
    return {
        "type": "retry",
        "id": item_id if isinstance(item_id, str) else None,
        "code": code,
        "retry_after_ms": retry_after_ms,
        "message": message,
    }


@dataclass
class Submission:
    """The items of one frame (or one chunk of a large frame) from one device."""

    user: Any
    device_id: str
    items: list[Any]
    types: dict[str, ItemType]
    reply: Reply
    context: AuditContext
    submitted_at: float = field(default_factory=time.monotonic)


@dataclass
class _Entry:
    submission: Submission
    raw: Any
    answer: dict[str, Any] | None = None
    kind: ItemType | None = None
    claim: int | None = None
    context: AuditContext | None = None
    same_as: _Entry | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.submission.device_id, self.raw["id"])


@dataclass
class TickResult:
    answers: list[list[dict[str, Any]]]
    events: list[dict[str, Any]]
    mode: str


def _outcome_for(entry: _Entry, stored: DeviceItem | None) -> dict[str, Any]:
    if stored is None:
        # Claimed by a transaction whose outcome this one cannot see yet: ask again.
        return retry_answer(entry.raw, "busy", 500, "The same item is being stored; send it again.")
    if stored.user_id != entry.submission.user.pk:
        return rejection(
            entry.raw["id"], "id", "This id is already used by another device.", "conflict"
        )
    return stored.outcome  # type: ignore[no-any-return]


def _stored(keys: list[tuple[str, str]]) -> dict[tuple[str, str], DeviceItem]:
    """DeviceItem rows by (device_id, client_id), in one query."""
    if not keys:
        return {}
    wanted = set(keys)
    # Both lists, so the (device_id, client_id) unique index answers; the pairs are exact below.
    rows = DeviceItem.objects.filter(
        device_id__in={device_id for device_id, _ in keys},
        client_id__in={client_id for _, client_id in keys},
    ).only("device_id", "client_id", "user_id", "outcome")
    return {
        (row.device_id, row.client_id): row
        for row in rows
        if (row.device_id, row.client_id) in wanted
    }


def _claim(entries: list[_Entry], now: Any) -> None:
    """Insert each entry's DeviceItem row first; an entry whose row exists is not ours.

    Sorted by key, so two ticks claiming overlapping items lock them in the same order. A
    row claimed by a transaction still running makes this insert wait for its outcome.
    """
    ordered = sorted(entries, key=lambda e: e.key)
    rows = [
        (
            entry.submission.device_id,
            entry.raw["id"],
            entry.raw["seq"],
            entry.kind.name if entry.kind else "",
            entry.submission.user.pk,
            False,
            '{"type": "pending"}',
            now,
        )
        for entry in ordered
    ]
    claimed = sql.insert_returning(
        DeviceItem._meta.db_table,
        ["device_id", "client_id", "seq", "type", "user_id", "accepted", "outcome", "received_at"],
        ["text", "text", "int", "text", "int", "bool", "json", "time"],
        rows,
        conflict=["device_id", "client_id"],
        returning=["id", "device_id", "client_id"],
    )
    by_key = {(device_id, client_id): pk for pk, device_id, client_id in claimed}
    for entry in ordered:
        entry.claim = by_key.get(entry.key)


def _finalize(entries: list[_Entry]) -> None:
    """Write each claimed entry's answer into its row; drop claims of items not taken."""
    table = DeviceItem._meta.db_table
    done = [e for e in entries if e.claim is not None and e.answer and e.answer["type"] != "retry"]
    kept = {id(e) for e in done}
    dropped = [e.claim for e in entries if e.claim is not None and id(e) not in kept]
    sql.update_from_values(
        table,
        "id",
        ["accepted", "outcome"],
        ["int", "bool", "json"],
        [
            (e.claim, (e.answer or {}).get("type") == "ack", json.dumps(e.answer or {}))
            for e in done
        ],
    )
    if dropped:
        DeviceItem.objects.filter(pk__in=dropped).delete()


def _ack(entry: _Entry, extra: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "ack", "id": entry.raw["id"], "seq": entry.raw["seq"], **(extra or {})}


def _reject(entry: _Entry, exc: ItemRejected) -> dict[str, Any]:
    return rejection(entry.raw["id"], exc.field, exc.message, exc.code)


def _apply_one(entry: _Entry, events: Any, audits: Any) -> None:
    kind, context = entry.kind, entry.context
    if kind is None or context is None:
        raise RuntimeError("an entry reached _apply_one without its type and context")
    marks = events.mark(), audits.mark()
    try:
        with transaction.atomic(), audit_context(context):
            extra = kind.handler(
                entry.submission.user, entry.submission.device_id, entry.raw["data"]
            )
        entry.answer = _ack(entry, extra)
    except ItemRejected as exc:
        events.rollback_to(marks[0])
        audits.rollback_to(marks[1])
        entry.answer = _reject(entry, exc)
    except DatabaseError:
        # Not the item's fault as far as we can tell: not taken, the device sends it again.
        events.rollback_to(marks[0])
        audits.rollback_to(marks[1])
        logger.exception("device item %s failed in the database; answered retry", kind.name)
        entry.answer = retry_answer(entry.raw, "server_error", 2000, "Not stored; send it again.")


def _apply_batch(kind: ItemType, entries: list[_Entry]) -> None:
    if kind.batch is None:
        raise RuntimeError(f"{kind.name!r} has no batch handler")
    items = [
        BatchItem(e.submission.user, e.submission.device_id, e.raw["data"], e.context or SYSTEM)
        for e in entries
    ]
    kind.batch(items)
    for entry, item in zip(entries, items, strict=True):
        if item.rejected is not None:
            entry.answer = _reject(entry, item.rejected)
        elif item.answer is not None:
            entry.answer = _ack(entry, item.answer)
        else:
            raise RuntimeError(f"batch handler of {kind.name!r} left an item unanswered")


def _apply(entries: list[_Entry], events: Any, audits: Any) -> None:
    """Apply the claimed entries in arrival order (see the module docstring)."""
    deferred: dict[str, tuple[ItemType, list[_Entry]]] = {}
    run: list[_Entry] = []
    run_devices: set[str] = set()
    run_encounters: set[Any] = set()

    def flush_run() -> None:
        by_kind: dict[str, tuple[ItemType, list[_Entry]]] = {}
        for entry in run:
            if entry.kind is not None:
                by_kind.setdefault(entry.kind.name, (entry.kind, []))[1].append(entry)
        for kind, group in by_kind.values():
            _apply_batch(kind, group)
        run.clear()
        run_devices.clear()
        run_encounters.clear()

    for entry in entries:
        kind = entry.kind
        if kind is None:
            continue
        encounter = entry.raw["data"].get("encounter")
        if kind.deferred and kind.batch is not None:
            deferred.setdefault(kind.name, (kind, []))[1].append(entry)
        elif kind.batch is not None:
            run.append(entry)
            run_devices.add(entry.submission.device_id)
            if isinstance(encounter, str):
                run_encounters.add(encounter)
        else:
            if entry.submission.device_id in run_devices or encounter in run_encounters:
                flush_run()
            _apply_one(entry, events, audits)
    flush_run()
    for kind, group in deferred.values():
        _apply_batch(kind, group)


def _tick(batch: list[Submission]) -> TickResult:
    now = timezone.now()
    entries = [_Entry(sub, raw) for sub in batch for raw in sub.items]
    first: dict[tuple[str, str], _Entry] = {}
    to_check: list[_Entry] = []
    for entry in entries:
        refused = envelope_problem(entry.raw)
        if refused is not None:
            entry.answer = refused
            continue
        if entry.key in first:
            entry.same_as = first[entry.key]
            continue
        first[entry.key] = entry
        to_check.append(entry)
    # No lookup of stored answers first: the claim below finds every id already stored (its
    # row exists), and only those are read back (one query per tick instead of one per device).
    fresh: list[_Entry] = []
    for entry in to_check:
        problem = content_problem(entry.raw, entry.submission.types)
        entry.kind = entry.submission.types.get(str(entry.raw.get("type")))
        if problem is not None:
            entry.kind = ItemType(str(entry.raw.get("type", ""))[:32], lambda *a: None)
            entry.answer = _reject(entry, problem)
        entry.context = replace(
            entry.submission.context, request_id=new_request_id(), channel="device"
        )
        fresh.append(entry)
    with event_batch() as events, audit_batch() as audits, transaction.atomic():
        _claim(fresh, now)
        known = [e for e in fresh if e.claim is None]
        if known:
            # Stored before, or claimed by another transaction that has committed since (READ
            # COMMITTED: this statement sees it): the first answer stands, the item's content
            # is not looked at again.
            stored = _stored([e.key for e in known])
            for entry in known:
                entry.answer = _outcome_for(entry, stored.get(entry.key))
        _apply([e for e in fresh if e.claim is not None and e.answer is None], events, audits)
        _finalize(fresh)
        events.flush()
        audits.flush()
    for entry in entries:
        if entry.same_as is not None:
            entry.answer = entry.same_as.answer
    return TickResult(_answers(batch, entries), events.written, "tick")


def _answers(batch: list[Submission], entries: list[_Entry]) -> list[list[dict[str, Any]]]:
    by_sub: dict[int, list[dict[str, Any]]] = {id(sub): [] for sub in batch}
    for entry in entries:
        by_sub[id(entry.submission)].append(
            entry.answer or retry_answer(entry.raw, "server_error", 2000, "Send it again.")
        )
    return [by_sub[id(sub)] for sub in batch]


def _one_by_one(batch: list[Submission]) -> TickResult:
    """Each item in its own transaction: the path when a tick cannot be written whole."""
    answers: list[list[dict[str, Any]]] = []
    events: list[dict[str, Any]] = []
    for sub in batch:
        out: list[dict[str, Any]] = []
        for index, raw in enumerate(sub.items):
            if out and out[-1]["type"] == "retry":
                # Not taken after one that was not: the device's order is kept.
                out += [
                    retry_answer(r, "server_error", 2000, "Not stored; send it again.")
                    for r in sub.items[index:]
                ]
                break
            try:
                # item_process commits each item and broadcasts its events itself.
                with audit_context(sub.context):
                    out.append(
                        item_process(
                            user=sub.user, device_id=sub.device_id, item=raw, types=sub.types
                        )
                    )
            except DatabaseError:
                logger.exception("device item failed on its own; answered retry")
                out.append(retry_answer(raw, "server_error", 2000, "Not stored; send it again."))
            except Exception:
                # Not the database: this item's content breaks its handler, and would again on
                # every resend. Answered retry, it would block the device's outbox for ever
                # (the oldest item goes first); refused, the crew sees it and the rest goes on.
                # Not remembered, so the same id is applied once the handler is fixed.
                logger.exception("device item could not be processed; refused")
                out.append(unprocessable_answer(raw))
        answers.append(out)
    return TickResult(answers, events, "one-by-one")


def tick_run(batch: list[Submission]) -> TickResult:
    """Write one tick (sync; runs on the database thread)."""
    for attempt in range(1, _TICK_ATTEMPTS + 1):
        try:
            return _tick(batch)
        except OperationalError as exc:
            # A deadlock with another process's tick, a serialization failure, a dropped
            # connection: nothing of the tick was committed, so it can simply run again.
            logger.warning("ingest tick failed (%s), attempt %d", type(exc).__name__, attempt)
            connection.close_if_unusable_or_obsolete()
            time.sleep(0.01 * attempt)
        except Exception:
            logger.exception("ingest tick of %d frames failed; items go one by one", len(batch))
            break
    return _one_by_one(batch)


@dataclass
class IngestStats:
    ticks: int = 0
    items: int = 0
    refused_frames: int = 0
    fallbacks: int = 0
    last_tick_ms: float = 0.0
    max_tick_ms: float = 0.0
    last_tick_items: int = 0
    busy_since: float | None = None


class Ingestor:
    """The ingest queue and tick loop of one event loop (one daphne process)."""

    def __init__(self) -> None:
        self.queue: deque[Submission] = deque()
        self.queued_items = 0
        self.stats = IngestStats()
        self._task: asyncio.Task[None] | None = None
        self._buckets: dict[str, tuple[float, float]] = {}

    @property
    def tick_s(self) -> float:
        return float(settings.INGEST_TICK_MS) / 1000

    def oldest_wait_s(self) -> float:
        return time.monotonic() - self.queue[0].submitted_at if self.queue else 0.0

    def state(self) -> str:
        """'ok', or 'busy' while devices are told to back off."""
        if self.queued_items >= settings.INGEST_BUSY_ITEMS or self.oldest_wait_s() > 1.0:
            return "busy"
        return "ok"

    def retry_after_ms(self) -> int:
        """How long a device should wait: about the time to work off today's queue."""
        per_item_s = (self.stats.last_tick_ms / 1000) / max(1, self.stats.last_tick_items)
        return int(min(30_000, max(500, self.queued_items * per_item_s * 1000 * 2)))

    def take_tokens(self, device_id: str, count: int) -> float:
        """Charge `count` items to the device's allowance: 0, or the seconds to wait first.

        A token bucket per device id: DEVICE_RATE_PER_S sustained, DEVICE_BURST_ITEMS at
        once (a box replaying the buffer of a dead zone). Nothing is charged when refused.
        """
        rate, burst = settings.DEVICE_RATE_PER_S, settings.DEVICE_BURST_ITEMS
        now = time.monotonic()
        level, at = self._buckets.get(device_id, (float(burst), now))
        level = min(float(burst), level + (now - at) * rate)
        if count > level:
            self._buckets[device_id] = (level, now)
            return (count - level) / rate
        self._buckets[device_id] = (level - count, now)
        return 0.0

    def offer(self, submission: Submission) -> bool:
        """Queue a frame's items for the next tick; False when the process is full."""
        if self.queued_items + len(submission.items) > settings.INGEST_MAX_QUEUED_ITEMS:
            self.stats.refused_frames += 1
            return False
        self.queue.append(submission)
        self.queued_items += len(submission.items)
        self._note_state()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return True

    def _note_state(self) -> None:
        busy = self.state() == "busy"
        if busy and self.stats.busy_since is None:
            self.stats.busy_since = time.monotonic()
            logger.warning(
                "ingest busy: %d items waiting (oldest %.1f s); devices are told to back off",
                self.queued_items,
                self.oldest_wait_s(),
            )
        elif not busy and self.stats.busy_since is not None:
            logger.warning(
                "ingest no longer busy after %.1f s", time.monotonic() - self.stats.busy_since
            )
            self.stats.busy_since = None

    def _take(self) -> list[Submission]:
        batch: list[Submission] = []
        count = 0
        while self.queue:
            size = len(self.queue[0].items)
            if batch and count + size > settings.INGEST_TICK_ITEMS:
                break
            batch.append(self.queue.popleft())
            count += size
        self.queued_items -= count
        return batch

    async def _run(self) -> None:
        while self.queue:
            if self.queued_items < settings.INGEST_TICK_ITEMS:
                # The group window: let the tick fill for a moment after its first item.
                wait = self.queue[0].submitted_at + self.tick_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            batch = self._take()
            started = time.perf_counter()
            try:
                result = await database_sync_to_async(tick_run)(batch)
            except Exception:
                # Not even one by one (the database is gone): nothing of it was taken, so
                # every item is answered retry and stays on its device.
                logger.exception("ingest tick of %d frames failed; answered retry", len(batch))
                message = "Not stored; send it again."
                answers = [
                    [retry_answer(item, "server_error", 2000, message) for item in sub.items]
                    for sub in batch
                ]
                result = TickResult(answers, [], "failed")
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.stats.ticks += 1
            self.stats.items += sum(len(s.items) for s in batch)
            self.stats.last_tick_ms = elapsed_ms
            self.stats.last_tick_items = sum(len(s.items) for s in batch)
            self.stats.max_tick_ms = max(self.stats.max_tick_ms, elapsed_ms)
            if result.mode != "tick":
                self.stats.fallbacks += 1
            self._note_state()
            if result.events:
                await abroadcast(result.events)
            for sub, answers in zip(batch, result.answers, strict=True):
                try:
                    await sub.reply(answers)
                except Exception:  # the device went away; it resends, the answer is stored
                    logger.debug("answer to %s not delivered", sub.device_id)

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state(),
            "queued_items": self.queued_items,
            "oldest_wait_ms": round(self.oldest_wait_s() * 1000),
            "ticks": self.stats.ticks,
            "items": self.stats.items,
            "last_tick_ms": round(self.stats.last_tick_ms, 1),
            "last_tick_items": self.stats.last_tick_items,
            "max_tick_ms": round(self.stats.max_tick_ms, 1),
            "refused_frames": self.stats.refused_frames,
            "fallbacks": self.stats.fallbacks,
        }


_ingestors: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Ingestor] = (
    weakref.WeakKeyDictionary()
)


def get_ingestor() -> Ingestor:
    """The ingestor of the running event loop (one per daphne process)."""
    loop = asyncio.get_running_loop()
    ingestor = _ingestors.get(loop)
    if ingestor is None:
        ingestor = _ingestors[loop] = Ingestor()
    return ingestor


def ingestors_status() -> list[dict[str, Any]]:
    """What every ingestor of this process is doing (for /healthz, which runs in a thread)."""
    return [ingestor.status() for ingestor in list(_ingestors.values())]
