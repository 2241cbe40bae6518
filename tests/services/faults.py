"""Processes to break and clients that must survive it, for tests/services/test_faults.py.

Also the Celery app of the fault test's workers (`celery -A tests.services.faults worker`):
the project's app plus the test outbox handler, registered in every worker child.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from celery.signals import worker_process_init

from config.celery import app as app
from scripts.scale import Child, daphne_command, spawn, wait_for_port, worker_command

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "test-results"
TEST_OUTBOX_KIND = "test.heartbeat"
# The centre stream's position event (dispatch.events.UNITS_MOVED): each unit's newest place.
UNITS_MOVED = "dispatch.units.moved"
# Short, so a task claimed by a worker that is then killed runs again within seconds.
TEST_OUTBOX_LEASE_S = 3


def outbox_heartbeat(task: Any) -> dict[str, Any]:
    """The test handler: one Heartbeat row per outbox key, counting its runs.

    `runs` counts how often the side effect committed: exactly once means runs == 1.
    """
    from django.db.models import F
    from django.utils import timezone

    from ops.models import Heartbeat

    beat, created = Heartbeat.objects.get_or_create(
        name=task.key, defaults={"last_run_at": timezone.now(), "runs": 1, "runner": "outbox"}
    )
    if not created:
        Heartbeat.objects.filter(pk=beat.pk).update(runs=F("runs") + 1)
    return {"heartbeat": beat.pk}


def register_test_outbox_handler(**_: Any) -> None:
    from outbox.services import register_outbox_handler

    register_outbox_handler(
        TEST_OUTBOX_KIND, outbox_heartbeat, lease_seconds=TEST_OUTBOX_LEASE_S, max_attempts=50
    )


# Worker children import this module through `-A`; Django is set up by the time they fork.
worker_process_init.connect(register_test_outbox_handler, weak=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server (no persistence) that a test may kill and start again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        LOG_DIR.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(LOG_DIR / f"redis-{self.port}.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc, timeout_s=10)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self, down_s: float = 0.5) -> None:
        """SIGKILL and start again: every key (groups, queues, broker messages) is gone."""
        self.kill()
        time.sleep(down_s)
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Daphne:
    """A daphne process on a fixed port, so it can be killed and started again in place."""

    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.env = env
        self.port = port or free_port()
        self.child: Child | None = None
        self.kills = 0

    def start(self) -> None:
        self.child = spawn(
            f"daphne-{self.port}",
            daphne_command(self.port),
            self.env,
            LOG_DIR / f"daphne-{self.port}.log",
        )
        wait_for_port(self.port, self.child.proc)

    def kill(self) -> None:
        if self.child is not None:
            self.child.signal_group(signal.SIGKILL)
            self.child.proc.wait(timeout=10)
            self.child.log.close()
            self.child = None
            self.kills += 1

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


class Worker:
    """A Celery worker (prefork) whose whole process group can be SIGKILLed."""

    def __init__(self, env: dict[str, str], name: str, concurrency: int = 2) -> None:
        self.env = env
        self.name = name
        self.concurrency = concurrency
        self.child: Child | None = None
        self.kills = 0

    def start(self) -> None:
        self.child = spawn(
            self.name,
            worker_command(
                f"{self.name}@%h", app="tests.services.faults", concurrency=self.concurrency
            ),
            self.env,
            LOG_DIR / f"{self.name}.log",
        )

    def kill(self) -> None:
        """SIGKILL the worker and its children: unacknowledged messages stay with the broker."""
        if self.child is not None:
            self.child.signal_group(signal.SIGKILL)
            self.child.proc.wait(timeout=10)
            self.child.log.close()
            self.child = None
            self.kills += 1

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


@dataclass
class ScreenStats:
    connects: int = 0
    frames: int = 0
    batches: int = 0
    merged: int = 0
    snapshots: int = 0
    snapshot_covered: int = 0
    gaps: int = 0
    resyncs: int = 0
    repeats_dropped: int = 0
    applied_twice: int = 0
    errors: list[str] = field(default_factory=list)


class ScreenClient:
    """A screen following one stream by the protocol's sequence rules (docs/protocol.md).

    Unpacks `batch` frames (several events of the stream) into their events, in order.
    Applies an event only when it holds the next seq (a merged state event covers
    `seq_from`..`seq`: it applies when that range holds the next seq, and moves the sequence
    to `seq`), drops repeats, answers a gap with a resync, resyncs now and then (a dropped
    last event shows no gap), and reconnects with `?since=<last>`. `applied` maps each
    applied seq to the event's data, for comparison with the database's EventLog; `units`
    is the units' state as the dispatcher board shows it (the snapshot's units, then each
    `dispatch.units.moved`). `read_delay_s` makes it a slow reader; `report_seen` makes it
    confirm what it applied after every frame, as the console does, so the server holds it
    back and merges its position events when it lags (realtime.fanout).
    """

    def __init__(
        self,
        name: str,
        base: str,
        cookie: str,
        *,
        path: str = "/ws/dispatch/",
        read_delay_s: float = 0.0,
        resync_every_s: float = 2.0,
        report_seen: bool = False,
    ) -> None:
        self.name = name
        self.base = base  # host:port
        self.cookie = cookie
        self.path = path
        self.read_delay_s = read_delay_s
        self.resync_every_s = resync_every_s
        self.report_seen = report_seen
        self.last_seq: int | None = None
        self.applied: dict[int, Any] = {}
        self.units: dict[int, dict[str, Any]] = {}
        self.stats = ScreenStats()
        self._ws: Any = None
        self._resync_at = 0.0
        self._stop = asyncio.Event()

    async def drop(self) -> None:
        ws = self._ws
        if ws is not None:
            ws.transport.abort()

    def stop(self) -> None:
        self._stop.set()
        if self._ws is not None:
            self._ws.transport.abort()

    async def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            query = "" if self.last_seq is None else f"?since={self.last_seq}"
            try:
                async with websockets.connect(
                    f"ws://{self.base}{self.path}{query}",
                    origin=websockets.Origin(f"http://{self.base}"),
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=5,
                    max_size=2**24,
                ) as ws:
                    self._ws = ws
                    self.stats.connects += 1
                    failures = 0
                    await self._session(ws)
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                self.stats.errors.append(type(exc).__name__)
            finally:
                self._ws = None
            failures += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(2.0, 0.1 * 2 ** min(failures, 5))):
                    await self._stop.wait()

    async def _session(self, ws: Any) -> None:
        ticker = asyncio.create_task(self._resync_every(ws))
        try:
            async for raw in ws:
                if self.read_delay_s:
                    await asyncio.sleep(self.read_delay_s)
                message = json.loads(raw)
                self.stats.frames += 1
                if message.get("type") == "batch" and isinstance(message.get("events"), list):
                    self.stats.batches += 1
                    for event in message["events"]:
                        await self._handle(ws, event)
                else:
                    await self._handle(ws, message)
                if self.report_seen and self.last_seq is not None:
                    await ws.send(json.dumps({"type": "seen", "seq": self.last_seq}))
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ticker

    async def _resync_every(self, ws: Any) -> None:
        while True:
            await asyncio.sleep(self.resync_every_s)
            if self.last_seq is not None:
                await self._resync(ws)

    async def _resync(self, ws: Any) -> None:
        self._resync_at = time.monotonic()
        self.stats.resyncs += 1
        await ws.send(json.dumps({"type": "resync", "since": self.last_seq}))

    async def _handle(self, ws: Any, message: dict[str, Any]) -> None:
        kind = message.get("type", "")
        seq = message.get("seq")
        if kind == "replay":
            self._resync_at = 0.0
            return
        if kind.endswith(".snapshot"):
            self.stats.snapshots += 1
            previous = self.last_seq or 0
            if isinstance(seq, int) and seq > previous:
                # Events folded into a snapshot were never applied one by one.
                self.stats.snapshot_covered += seq - previous
                self.last_seq = seq
            elif self.last_seq is None:
                self.last_seq = seq or 0
            # Read after everything this socket sent before it: never older than our state.
            units = (message.get("data") or {}).get("units")
            if isinstance(units, list):
                self.units = {unit["id"]: dict(unit) for unit in units}
            self._resync_at = 0.0
            return
        if not isinstance(seq, int) or self.last_seq is None:
            return
        first = message.get("seq_from", seq)
        if seq <= self.last_seq:
            self.stats.repeats_dropped += 1
            return
        if first > self.last_seq + 1:
            self.stats.gaps += 1
            if time.monotonic() - self._resync_at > 2.0:
                await self._resync(ws)
            return
        if first != seq:
            self.stats.merged += 1
        if seq in self.applied:
            self.stats.applied_twice += 1
        self.applied[seq] = message.get("data")
        self.last_seq = seq
        if kind == UNITS_MOVED:
            for unit in message["data"]["units"]:
                self.units.setdefault(unit["id"], {}).update(unit)


class LoopThread:
    """An asyncio loop in a thread, so sync test code (the ORM) can drive async clients."""

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Any, timeout_s: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def submit(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
