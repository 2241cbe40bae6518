"""An asyncio device client: a durable outbox, one WebSocket, resend until answered for good.

The protocol is in docs/protocol.md ("Device protocol"). What this module adds is the device
side of the guarantees:

- an item is written to the outbox (SQLite, fsynced) before it is sent, so a crash or a lost
  connection never loses it; it leaves the outbox only when the server acknowledges it
  (`ack`) or refuses it for good (`reject`, kept in the `rejected` table, never retried);
- items go in seq order, pipelined up to `window` unanswered: several pending items go as
  `{"type": "batch", "items": [...]}` frames of up to `batch_size` items and
  `max_frame_bytes` bytes, answered by one `answers` frame each (every answer is handled as
  if it had come alone); a frame of one item is the item itself, answered by one answer;
- `retry` means the server did not take the item (busy, or over this device's rate): it stays
  in the outbox, the sender stops, waits `retry_after_ms` and for the answers of every frame
  still on the wire, then goes back to the first item still stored and sends on in seq
  order, so an item is never taken after one that follows it; `backoff` pauses new frames
  for `retry_after_ms`;
- after every (re)connect and `hello.ack`, everything still in the outbox is sent again in
  seq order; the server stores each id once and answers a repeat with its first answer;
- an item that cannot fit in one frame of `max_frame_bytes` could never be taken; it is
  moved to `rejected` with code `too_large` instead of closing the socket forever;
- events of the device's stream are delivered in seq order, also when several arrive in one
  `{"type": "batch", "stream", "events"}` frame; a merged state event covering
  `seq_from`..`seq` is delivered when it reaches the next seq and moves the sequence to
  `seq`; a gap asks the server for the missed events (`resync`), and a reconnect resumes
  with `?since=<last seq>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import random
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Origin

logger = logging.getLogger("device_client")

_DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Close codes and handshake statuses after which retrying with the same token cannot help.
_FATAL_CLOSE_CODES = {4401, 4403}
_FATAL_HTTP_STATUSES = {401, 403, 404}
# A resync that got no answer within this time is asked again on the next gap.
_RESYNC_RETRY_S = 5.0
# Answers of one item, alone or inside an `answers` frame.
_ANSWER_TYPES = {"ack", "reject", "retry", "error"}
# Errors that refuse a whole frame (none of its items is answered).
_FRAME_REFUSALS = {"too_large", "too_many_items"}
# `{"type":"batch","items":[` and `]}`.
_BATCH_OVERHEAD = 27
_MIN_FRAME_BYTES = 1024
# A retry or backoff without a usable retry_after_ms, and the longest pause honoured.
_DEFAULT_RETRY_S = 1.0
_MAX_PAUSE_MS = 60_000.0
# Jitter only spreads reconnects of many devices; it does not need a cryptographic source.
_jitter = random.SystemRandom()

EventCallback = Callable[[dict[str, Any]], Awaitable[None] | None]


class DeviceClientError(Exception):
    """The client stopped for good: refused credentials, or the caller's retry bound ran out."""


@dataclass(frozen=True)
class OutboxItem:
    """An item waiting for its acknowledgement."""

    seq: int
    id: str
    type: str
    data: dict[str, Any]

    def message(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "seq": self.seq, "data": self.data}


@dataclass(frozen=True)
class RejectedItem:
    """An item the server refused; it is kept for inspection and never sent again."""

    seq: int
    id: str
    type: str
    data: dict[str, Any]
    code: str
    field: str | None
    message: str


@dataclass(frozen=True)
class Refusal:
    """Why an item is refused for good (a `reject`, or a local refusal such as `too_large`)."""

    id: str
    code: str
    field: str | None
    message: str


class Outbox:
    """The on-disk queue of unacknowledged items and the record of rejected ones.

    One SQLite file per device. Every write is its own committed transaction with
    `synchronous=FULL`, so an item returned by `add` survives a process or power loss.
    Safe to use from several threads (one connection behind a lock).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._lock, self._transaction():
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, id TEXT NOT NULL "
                "UNIQUE, type TEXT NOT NULL, data TEXT NOT NULL, created_at REAL NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS rejected (seq INTEGER PRIMARY KEY, id TEXT NOT NULL "
                "UNIQUE, type TEXT NOT NULL, data TEXT NOT NULL, code TEXT NOT NULL, field TEXT, "
                "message TEXT NOT NULL, rejected_at REAL NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
            )
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('last_seq', 0)")

    @contextlib.contextmanager
    def _transaction(self) -> Any:
        # IMMEDIATE takes the write lock up front: two processes sharing a file by mistake
        # serialise instead of handing out the same seq.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(self, item_type: str, data: dict[str, Any]) -> OutboxItem:
        """Store a new item with a fresh id and the next seq; it is on disk when this returns."""
        [item] = self.add_many([(item_type, data)])
        return item

    def add_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[OutboxItem]:
        """Store several items (type, data) with consecutive seqs in one transaction: all of
        them are on disk when this returns, or none (a buffer replayed after a dead zone)."""
        payloads = [
            (item_type, json.dumps(data, separators=(",", ":"), allow_nan=False))
            for item_type, data in items
        ]
        if not payloads:
            return []
        now = time.time()
        with self._lock, self._transaction():
            (last,) = self._db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
            rows = [
                (int(last) + n, uuid.uuid4().hex, item_type, payload, now)
                for n, (item_type, payload) in enumerate(payloads, start=1)
            ]
            self._db.execute(
                "UPDATE meta SET value = ? WHERE key = 'last_seq'", (int(last) + len(rows),)
            )
            self._db.executemany(
                "INSERT INTO outbox (seq, id, type, data, created_at) VALUES (?, ?, ?, ?, ?)", rows
            )
        return [
            OutboxItem(seq=seq, id=item_id, type=item_type, data=json.loads(payload))
            for seq, item_id, item_type, payload, _ in rows
        ]

    def raise_seq_floor(self, seq: int) -> None:
        """Continue numbering after `seq` (the server's last_seq when this file is new)."""
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE meta SET value = ? WHERE key = 'last_seq' AND value < ?", (seq, seq)
            )

    def pending(self, *, after_seq: int = 0, limit: int = 1000) -> list[OutboxItem]:
        """Unacknowledged items after `after_seq`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, type, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [OutboxItem(seq=r[0], id=r[1], type=r[2], data=json.loads(r[3])) for r in rows]

    def pending_count(self, *, up_to_seq: int | None = None) -> int:
        with self._lock:
            if up_to_seq is None:
                row = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM outbox WHERE seq <= ?", (up_to_seq,)
                ).fetchone()
        return int(row[0])

    def remove(self, item_id: str) -> bool:
        """Forget an acknowledged item; False when it was not (or no longer) in the outbox."""
        removed, _ = self.settle(acked=[item_id], rejected=[])
        return bool(removed)

    def reject(self, item_id: str, *, code: str, field: str | None, message: str) -> bool:
        """Move a refused item to `rejected`; False when it was not in the outbox."""
        _, moved = self.settle(acked=[], rejected=[Refusal(item_id, code, field, message)])
        return bool(moved)

    def settle(self, *, acked: list[str], rejected: list[Refusal]) -> tuple[list[str], list[str]]:
        """Forget acknowledged items and move refused ones to `rejected`, in one transaction
        (the answers of one frame); returns the ids that were still in the outbox of each."""
        removed: list[str] = []
        moved: list[str] = []
        if not acked and not rejected:
            return removed, moved
        now = time.time()
        with self._lock, self._transaction():
            for item_id in acked:
                if self._db.execute("DELETE FROM outbox WHERE id = ?", (item_id,)).rowcount:
                    removed.append(item_id)
            for refusal in rejected:
                row = self._db.execute(
                    "SELECT seq, type, data FROM outbox WHERE id = ?", (refusal.id,)
                ).fetchone()
                if row is None:
                    continue
                self._db.execute(
                    "INSERT OR REPLACE INTO rejected (seq, id, type, data, code, field, message, "
                    "rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row[0],
                        refusal.id,
                        row[1],
                        row[2],
                        refusal.code,
                        refusal.field,
                        refusal.message,
                        now,
                    ),
                )
                self._db.execute("DELETE FROM outbox WHERE id = ?", (refusal.id,))
                moved.append(refusal.id)
        return removed, moved

    def rejected(self) -> list[RejectedItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, type, data, code, field, message FROM rejected ORDER BY seq"
            ).fetchall()
        return [
            RejectedItem(
                seq=r[0],
                id=r[1],
                type=r[2],
                data=json.loads(r[3]),
                code=r[4],
                field=r[5],
                message=r[6],
            )
            for r in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class ClientStats:
    """Counters for logs and tests (`sent` counts items, `frames` the frames they went in)."""

    connects: int = 0
    sent: int = 0
    frames: int = 0
    batches: int = 0
    acked: int = 0
    rejected: int = 0
    retried: int = 0
    backoffs: int = 0
    resyncs: int = 0
    events: int = 0
    last_error: str = ""
    by_id_sent: dict[str, int] = field(default_factory=dict)


def _ws_url(base_url: str, path: str) -> tuple[str, str]:
    """The WebSocket URL for `path` and the Origin to present, from an http(s) base URL."""
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"base_url must be http:// or https://, not {base_url!r}")
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{path}", f"{parts.scheme}://{parts.netloc}"


class DeviceClient:
    """One device (tablet, AVL box, simulated unit) speaking the device protocol.

    `token` is a device token of a crew user of the unit (`manage.py device_token issue`,
    shown once). When it is revoked or expires, or its user is deactivated, the server closes
    the socket with 4401 and the client stops with DeviceClientError instead of retrying.

    `enqueue` (or `enqueue_many`) may be called at any time, connected or not, also before
    `start`. Run the connection with `start()` (a background task) or `await run()`; stop
    with `close()`. Events of the stream (snapshot included) go to `events` (an
    asyncio.Queue) and to `on_event` when given, one by one also when they came batched.

    `window` bounds the items sent and not yet answered; `batch_size` and `max_frame_bytes`
    bound one frame (the server's limits are DEVICE_MAX_BATCH_ITEMS and
    DEVICE_MAX_FRAME_BYTES, 5000 items and 1 MB by default). `answer_timeout_s` bounds how
    long the sender waits, after a `retry`, for the answers of the frames still on the wire
    before it gives the connection up (the reconnect sends everything again).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        device_id: str,
        outbox_path: str | Path,
        *,
        path: str = "/ws/crew/",
        on_event: EventCallback | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_attempts: int | None = None,
        give_up_after_s: float | None = None,
        window: int = 2000,
        batch_size: int = 500,
        max_frame_bytes: int = 1_000_000,
        answer_timeout_s: float = 60.0,
        resync_interval_s: float | None = 30.0,
        open_timeout_s: float = 10.0,
        hello_timeout_s: float = 10.0,
    ) -> None:
        if not _DEVICE_ID.match(device_id):
            raise ValueError("device_id must be 1-64 of letters, digits, '.', '_', ':' or '-'.")
        self.url, self.origin = _ws_url(base_url, path)
        self.device_id = device_id
        self._token = token
        self.outbox = Outbox(outbox_path)
        self.on_event = on_event
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_attempts = max_attempts
        self.give_up_after_s = give_up_after_s
        self.window = max(1, window)
        self.batch_size = max(1, batch_size)
        self.max_frame_bytes = max(_MIN_FRAME_BYTES, max_frame_bytes)
        self.answer_timeout_s = answer_timeout_s
        self.resync_interval_s = resync_interval_s
        self.open_timeout_s = open_timeout_s
        self.hello_timeout_s = hello_timeout_s
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.stats = ClientStats()
        self.unit_id: int | None = None
        self.server_last_seq: int | None = None
        self.stream: str | None = None
        self.stream_seq: int | None = None
        self._ws: ClientConnection | None = None
        self._inflight: set[str] = set()
        # Monotonic time before which no frame is sent (retry_after_ms, backoff).
        self._paused_until = 0.0
        # Set by a `retry`: once the wire is quiet, send again from the first stored item.
        self._rewind_since: float | None = None
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = asyncio.Event()
        self._resync_asked_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._refresh_idle()

    # --- the application's side -----------------------------------------------------------

    def enqueue(self, item_type: str, data: dict[str, Any]) -> str:
        """Store an item durably and schedule it for sending; returns its client id."""
        [item_id] = self.enqueue_many([(item_type, data)])
        return item_id

    def enqueue_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """Store several items (type, data) durably in one transaction, in this order, and
        schedule them for sending; returns their client ids."""
        for item_type, _ in items:
            if not isinstance(item_type, str) or not item_type:
                raise ValueError("item_type must be a non-empty string.")
        if self._closed:
            raise DeviceClientError("the client is closed")
        stored = self.outbox.add_many(items)
        if stored:
            self._idle.clear()
            self._wake.set()
        return [item.id for item in stored]

    def pending_count(self) -> int:
        """Items stored but not yet acknowledged or rejected."""
        return self.outbox.pending_count()

    def rejected(self) -> list[RejectedItem]:
        return self.outbox.rejected()

    @property
    def connected(self) -> bool:
        """True between `hello.ack` and the connection's end."""
        return self._ready.is_set()

    async def wait_connected(self) -> None:
        """Wait for the next `hello.ack` (bound it with `asyncio.timeout`)."""
        await self._ready.wait()

    async def wait_idle(self) -> None:
        """Wait until every stored item was acknowledged or rejected (bound it by time)."""
        while self.pending_count():
            self._idle.clear()
            if not self.pending_count():
                break
            await self._idle.wait()

    def start(self) -> asyncio.Task[None]:
        """Run the connection loop as a background task of the running event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name=f"device-client-{self.device_id}"
            )
        return self._task

    async def drop_connection(self, *, abort: bool = False) -> None:
        """Close the current socket (the client reconnects); `abort` cuts TCP without a close."""
        ws = self._ws
        if ws is None:
            return
        if abort:
            ws.transport.abort()
        else:
            await ws.close()

    async def close(self) -> None:
        """Stop the connection loop and close the outbox; stored items stay on disk."""
        self._stopping.set()
        self._wake.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        task = self._task
        if task is not None and not task.done():
            try:
                async with asyncio.timeout(5):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, DeviceClientError):
                    await task
            except DeviceClientError:
                pass
        if not self._closed:
            self._closed = True
            self.outbox.close()

    # --- the connection loop ------------------------------------------------------------

    async def run(self) -> None:
        """Connect, resend, reconnect with capped exponential back-off until `close()`.

        Raises DeviceClientError when the server refuses the credentials (close 4401/4403 or
        HTTP 401/403 on the handshake), or when `max_attempts` consecutive attempts failed or
        no session worked for `give_up_after_s`.
        """
        loop = asyncio.get_running_loop()
        failures = 0
        last_good = loop.time()
        while not self._stopping.is_set():
            helloed = False
            try:
                helloed = await self._session()
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.stats.last_error = f"handshake refused with HTTP {status}"
                if status in _FATAL_HTTP_STATUSES:
                    logger.error("%s: %s; not retrying", self.device_id, self.stats.last_error)
                    raise DeviceClientError(self.stats.last_error) from exc
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
            if self._stopping.is_set():
                break
            if helloed:
                failures, last_good = 0, loop.time()
            failures += 1
            if self.max_attempts is not None and failures > self.max_attempts:
                raise DeviceClientError(
                    f"gave up after {self.max_attempts} attempts ({self.stats.last_error})"
                )
            if self.give_up_after_s is not None and loop.time() - last_good > self.give_up_after_s:
                raise DeviceClientError(
                    f"gave up after {self.give_up_after_s:.0f} s without a session "
                    f"({self.stats.last_error})"
                )
            delay = self._backoff(failures)
            logger.info(
                "%s: disconnected (%s); reconnecting in %.1f s",
                self.device_id,
                self.stats.last_error or "closed",
                delay,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()

    def _backoff(self, failures: int) -> float:
        """Capped exponential back-off with jitter (50-100 % of the step)."""
        step = min(self.backoff_max_s, self.backoff_initial_s * 2 ** min(failures - 1, 30))
        return step * _jitter.uniform(0.5, 1.0)

    async def _session(self) -> bool:
        """One connection; returns whether it got as far as `hello.ack`."""
        url = self.url if self.stream_seq is None else f"{self.url}?since={self.stream_seq}"
        self._ready.clear()
        self._inflight = set()
        # A new connection starts from the first stored item anyway.
        self._rewind_since = None
        self._resync_asked_at = None
        async with connect(
            url,
            origin=Origin(self.origin),
            additional_headers={"Authorization": f"Token {self._token}"},
            open_timeout=self.open_timeout_s,
            max_size=16 * 2**20,
        ) as ws:
            self._ws = ws
            self.stats.connects += 1
            tasks: list[asyncio.Task[Any]] = []
            try:
                if self._stopping.is_set():
                    return False
                await ws.send(json.dumps({"type": "hello", "device_id": self.device_id}))
                reader = asyncio.create_task(self._reader(ws))
                tasks.append(reader)
                ready = asyncio.create_task(self._ready.wait())
                tasks.append(ready)
                done, _ = await asyncio.wait(
                    {reader, ready},
                    timeout=self.hello_timeout_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if ready not in done:
                    if reader in done:
                        reader.result()
                    self.stats.last_error = "no hello.ack"
                    return False
                running: list[asyncio.Task[Any]] = [reader, asyncio.create_task(self._sender(ws))]
                if self.resync_interval_s:
                    running.append(asyncio.create_task(self._resync_every(ws)))
                stop = asyncio.create_task(self._stopping.wait())
                running.append(stop)
                tasks += running[1:]
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not stop and not task.cancelled():
                        task.result()
                return True
            finally:
                self._ready.clear()
                self._ws = None
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                        await task
                if ws.close_code in _FATAL_CLOSE_CODES:
                    self.stats.last_error = f"closed by the server with {ws.close_code}"
                    logger.error("%s: %s; not retrying", self.device_id, self.stats.last_error)
                    raise DeviceClientError(self.stats.last_error)

    async def _sender(self, ws: ClientConnection) -> None:
        """Send the outbox in seq order, at most `window` unanswered items at a time."""
        cursor = 0
        while True:
            self._wake.clear()
            wait_s: float | None = None
            now = time.monotonic()
            if self._paused_until > now:
                wait_s = self._paused_until - now
            elif self._rewind_since is not None:
                if not self._inflight:
                    # Every frame on the wire is answered: whatever is still stored was not
                    # taken (or never sent), and goes again from the first, in seq order.
                    self._rewind_since = None
                    cursor = 0
                    continue
                # Counted from the end of the pause: a long retry_after_ms is not the
                # server's silence.
                waited = now - max(self._rewind_since, self._paused_until)
                if waited > self.answer_timeout_s:
                    raise TimeoutError(
                        f"{len(self._inflight)} items unanswered {waited:.0f} s after a retry"
                    )
                wait_s = self.answer_timeout_s - waited
            else:
                cursor = await self._send_round(ws, cursor)
            if wait_s is None:
                await self._wake.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait_s):
                        await self._wake.wait()

    async def _send_round(self, ws: ClientConnection, cursor: int) -> int:
        """Send what the window has room for after `cursor`; returns the new cursor."""
        room = self.window - len(self._inflight)
        if room <= 0:
            return cursor
        items = self.outbox.pending(after_seq=cursor, limit=room)
        if self._inflight and len(items) == room < min(self.batch_size, self.window // 2):
            # More is stored than there is room for: wait for room for a good-sized frame
            # rather than trickle small ones behind the answers.
            return cursor
        for frame in self._frames(items):
            if len(frame) == 1:
                text = frame[0][1]
            else:
                text = '{"type":"batch","items":[' + ",".join(t for _, t in frame) + "]}"
                self.stats.batches += 1
            # In flight before the send yields: its answers may be read before it returns.
            for item, _ in frame:
                self._inflight.add(item.id)
                self.stats.sent += 1
                self.stats.by_id_sent[item.id] = self.stats.by_id_sent.get(item.id, 0) + 1
            self.stats.frames += 1
            await ws.send(text)
            cursor = frame[-1][0].seq
            if self._rewind_since is not None or self._paused_until > time.monotonic():
                # A retry or backoff arrived while this round was on its way out.
                break
        return cursor

    def _frames(self, items: list[OutboxItem]) -> list[list[tuple[OutboxItem, str]]]:
        """Split items into frames of at most `batch_size` items and `max_frame_bytes`.

        An item too large for a frame on its own is refused here (code `too_large`): the
        server would close the socket on it, and every reconnect would send it again.
        """
        frames: list[list[tuple[OutboxItem, str]]] = []
        current: list[tuple[OutboxItem, str]] = []
        size = _BATCH_OVERHEAD
        too_large: list[Refusal] = []
        for item in items:
            # ASCII (json escapes the rest), so characters are bytes.
            text = json.dumps(item.message(), separators=(",", ":"))
            if len(text) + _BATCH_OVERHEAD > self.max_frame_bytes:
                too_large.append(
                    Refusal(
                        item.id,
                        "too_large",
                        "data",
                        f"The item is {len(text)} bytes; a frame holds at most "
                        f"{self.max_frame_bytes}. It was never sent.",
                    )
                )
                continue
            if current and (
                len(current) >= self.batch_size or size + 1 + len(text) > self.max_frame_bytes
            ):
                frames.append(current)
                current, size = [], _BATCH_OVERHEAD
            current.append((item, text))
            size += len(text) + 1
        if current:
            frames.append(current)
        if too_large:
            _, moved = self.outbox.settle(acked=[], rejected=too_large)
            self.stats.rejected += len(moved)
            for refusal in too_large:
                logger.warning(
                    "%s: item %s not sent: %s", self.device_id, refusal.id, refusal.message
                )
            self._refresh_idle()
            # What follows them is sent on the next round.
            self._wake.set()
        return frames

    async def _resync_every(self, ws: ClientConnection) -> None:
        # Channels may drop a live event and nothing later may reveal the gap (a quiet unit
        # stream); asking now and then heals that. An up-to-date client gets only a header.
        assert self.resync_interval_s  # noqa: S101 - started only when set
        while True:
            await asyncio.sleep(self.resync_interval_s)
            if self.stream_seq is not None:
                await self._send_resync(ws)

    async def _send_resync(self, ws: ClientConnection) -> None:
        self._resync_asked_at = time.monotonic()
        self.stats.resyncs += 1
        await ws.send(json.dumps({"type": "resync", "since": self.stream_seq}))

    # --- what the server says --------------------------------------------------------------

    async def _reader(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError:
                logger.warning("%s: ignored a frame that is not JSON", self.device_id)
                continue
            if isinstance(message, dict):
                await self._handle(ws, message)

    async def _handle(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in _ANSWER_TYPES:
            await self._settle(ws, [message])
        elif kind == "answers":
            answers = message.get("answers")
            if isinstance(answers, list):
                await self._settle(ws, [a for a in answers if isinstance(a, dict)])
        elif kind == "backoff":
            self.stats.backoffs += 1
            self._pause(message.get("retry_after_ms"))
            logger.info(
                "%s: server asks to back off (%s) for %s ms",
                self.device_id,
                message.get("reason"),
                message.get("retry_after_ms"),
            )
        elif kind == "hello.ack":
            self._hello_ack(message)
        elif kind == "replay":
            # The missed events follow; the gap request has its answer.
            self._resync_asked_at = None
        elif kind == "batch" and isinstance(message.get("events"), list):
            # Several events of the stream in one frame, in seq order.
            for event in message["events"]:
                if isinstance(event, dict) and isinstance(event.get("type"), str):
                    await self._event(ws, event)
        elif isinstance(kind, str) and "stream" in message:
            await self._event(ws, message)

    async def _settle(self, ws: ClientConnection, answers: list[dict[str, Any]]) -> None:
        """Apply the answers of one frame: acks and rejects in one outbox transaction."""
        acked: list[str] = []
        refused: list[Refusal] = []
        for answer in answers:
            kind = answer.get("type")
            item_id = answer.get("id")
            if kind == "ack" and isinstance(item_id, str):
                acked.append(item_id)
            elif kind == "reject":
                refusal = self._refusal(answer, item_id)
                if refusal is not None:
                    refused.append(refusal)
            elif kind == "retry":
                self._retry(answer)
            elif kind == "error":
                refusal = await self._error(ws, answer)
                if refusal is not None:
                    refused.append(refusal)
        removed, moved = self.outbox.settle(acked=acked, rejected=refused)
        self.stats.acked += len(removed)
        self.stats.rejected += len(moved)
        for refusal in refused:
            if refusal.id in moved:
                logger.warning(
                    "%s: item %s rejected (%s, field %s): %s",
                    self.device_id,
                    refusal.id,
                    refusal.code,
                    refusal.field,
                    refusal.message,
                )
        for item_id in acked + [r.id for r in refused]:
            self._inflight.discard(item_id)
        self._wake.set()
        self._refresh_idle()

    def _refresh_idle(self) -> None:
        if not self.outbox.pending_count():
            self._idle.set()

    def _pause(self, retry_after_ms: Any) -> None:
        if isinstance(retry_after_ms, int | float) and not isinstance(retry_after_ms, bool):
            delay_s = min(max(float(retry_after_ms), 0.0), _MAX_PAUSE_MS) / 1000
        else:
            delay_s = _DEFAULT_RETRY_S
        self._paused_until = max(self._paused_until, time.monotonic() + delay_s)
        self._wake.set()

    def _retry(self, answer: dict[str, Any]) -> None:
        """Not taken: the item stays stored and goes again, in order, after the pause."""
        self.stats.retried += 1
        item_id = answer.get("id")
        if isinstance(item_id, str):
            self._inflight.discard(item_id)
        self._pause(answer.get("retry_after_ms"))
        if self._rewind_since is None:
            self._rewind_since = time.monotonic()
            logger.info(
                "%s: item %s not taken (%s); sending again from the first stored item in %s ms",
                self.device_id,
                item_id,
                answer.get("code"),
                answer.get("retry_after_ms"),
            )

    def _refusal(self, message: dict[str, Any], item_id: Any) -> Refusal | None:
        code = str(message.get("code") or "invalid")
        field_name = message.get("field")
        text = str(message.get("message") or "")
        if not isinstance(item_id, str):
            logger.warning(
                "%s: server refused a message without id: %s %s", self.device_id, code, text
            )
            return None
        return Refusal(item_id, code, field_name if isinstance(field_name, str) else None, text)

    async def _error(self, ws: ClientConnection, message: dict[str, Any]) -> Refusal | None:
        ref = message.get("ref")
        code = message.get("code")
        if code == "no_hello":
            # Sent before the server had our hello (should not happen: we wait for hello.ack);
            # not taken, so like a retry: it goes again, in order.
            self._retry({"id": ref, "code": code, "retry_after_ms": 0})
            return None
        if isinstance(ref, str) and ref in self._inflight:
            return self._refusal(message, ref)
        logger.warning(
            "%s: server error %s on %s: %s",
            self.device_id,
            code,
            message.get("field"),
            message.get("message"),
        )
        if code in _FRAME_REFUSALS:
            # A whole frame was refused and none of its items will be answered: send smaller
            # frames, from the first stored item, on a new connection.
            if code == "too_large":
                self.max_frame_bytes = max(_MIN_FRAME_BYTES, self.max_frame_bytes // 2)
            else:
                self.batch_size = max(1, self.batch_size // 2)
            await ws.close()
        return None

    def _hello_ack(self, message: dict[str, Any]) -> None:
        last_seq = message.get("last_seq")
        self.unit_id = message.get("unit_id")
        if isinstance(last_seq, int):
            self.server_last_seq = last_seq
            # A new outbox file for a known device id: keep seq rising past what the server has.
            self.outbox.raise_seq_floor(last_seq)
            held = self.outbox.pending_count(up_to_seq=last_seq)
            if held:
                # Stored or refused already, but the answer never reached us; the server
                # answers these again without storing them twice.
                logger.info(
                    "%s: server has items up to seq %d; %d of ours at or below it are resent",
                    self.device_id,
                    last_seq,
                    held,
                )
        logger.info(
            "%s: connected (unit %s, server last_seq %s, %d pending)",
            self.device_id,
            self.unit_id,
            last_seq,
            self.outbox.pending_count(),
        )
        self._ready.set()
        self._wake.set()

    async def _event(self, ws: ClientConnection, event: dict[str, Any]) -> None:
        kind = str(event["type"])
        seq = event.get("seq")
        if kind.endswith(".snapshot"):
            self.stream = event.get("stream")
            if isinstance(seq, int):
                self.stream_seq = seq
            self._resync_asked_at = None
        elif isinstance(seq, int):
            # A merged state event stands for seq_from..seq (its entities' newest copies):
            # it is the next event when that range holds the next seq.
            first = event.get("seq_from")
            first = first if isinstance(first, int) and first <= seq else seq
            expected = (self.stream_seq or 0) + 1
            if self.stream_seq is not None and seq < expected:
                return  # already delivered (snapshot/live overlap, or replayed twice)
            if self.stream_seq is not None and first > expected:
                asked = self._resync_asked_at
                if asked is None or time.monotonic() - asked > _RESYNC_RETRY_S:
                    logger.info(
                        "%s: missed events %d..%d; asking for them",
                        self.device_id,
                        expected,
                        first - 1,
                    )
                    await self._send_resync(ws)
                # The replay brings this event too, in order.
                return
            self.stream_seq = seq
        self.stats.events += 1
        self.events.put_nowait(event)
        if self.on_event is not None:
            result = self.on_event(event)
            if inspect.isawaitable(result):
                await result
