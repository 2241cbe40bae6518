"""Real time at regional scale: device items in, the live map and the ED boards out.

    .venv/bin/python -m bench.realtime [--devices 500] [--step-s 10] [--interval-ms 500]

What it runs (docs/operations.md, "Real-time capacity"):

- PostgreSQL (a fresh `goldenhour_bench` database on 127.0.0.1:5432) and a private
  redis-server, migrated; 2 daphne processes started as `make scale` starts them.
- N devices (default 500 units, one WebSocket each, spread over the two daphne as a load
  balancer would): each unit has an open encounter bound for one of 20 hospitals. Every
  `--interval-ms` a device sends what it has as one `batch` frame (a tablet or AVL box
  reporting at 2 Hz): its new fixes and, for 10 % of the items, vitals sets. It keeps what is
  not acknowledged and sends an item answered `retry` again after `retry_after_ms`, and it
  pauses on `backoff` (docs/protocol.md), as device_client does.
- 50 dispatcher screens follow the centre (they confirm what they applied with `seen` every
  500 ms, as the console does, and ask for a replay on a gap); 20 ED screens follow their
  hospitals. Screens run in a second process so their decoding does not delay the devices.
- A rising offered load (positions/s; vitals/s = positions/9, so 10 % of items are vitals).
  Per step: offered and accepted per second, ack p50/p99 (frame sent -> its answers),
  device -> dispatcher screen p50/p99 (fix sent -> the screen holding it), device -> ED
  screen p50/p99 for vitals, items lost (answered `ack` but not in the database, or never
  answered), vitals not shown on their ED, and the daphne processes' RSS.
- Then the same offered load through Mosquitto on 127.0.0.1:1883 as the anchor: one paho
  publisher at QoS 1 to per-unit topics, 50 `mosquitto_sub` subscribers to all of them at
  QoS 1, latency from the publish to the subscriber's receive stamp.

Load generator, servers, database and broker share this machine's cores, so every figure is
a floor for a deployment. Prints tables; asserts nothing. The last line is the summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.scale import free_port, start_cluster, wait_for_port  # noqa: E402 - path above

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
BENCH_DB = "goldenhour_bench"
POSITION_STEPS = [500, 1000, 2000, 2500, 3000]
DISPATCHER_SCREENS = 50
ED_SCREENS = 20
HOSPITALS = 20
LATENCY_GOAL_MS = 500.0
CPU_GROUPS = ("daphne", "postgres", "redis", "devices", "screens")
SEEN_EVERY_S = 0.5
DRAIN_S = 15.0
# Vitals that score (NEWS2 2-3): a real set with every parameter, not an empty one.
VITALS = {
    "heart_rate": 96,
    "respiratory_rate": 20,
    "systolic_bp": 128,
    "diastolic_bp": 82,
    "spo2": 96,
    "on_oxygen": False,
    "avpu": "A",
    "temperature": 37.4,
}
# Jitter only spreads the devices' phases; no cryptographic source needed.
_rand = random.Random(17)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.0f}"  # NaN prints as a dash


# --- set-up ------------------------------------------------------------------------------


def fresh_database() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - a fixed command line
        [  # noqa: S607 - redis-server from PATH, as the tests use it
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(workdir / "redis.log"),
        ]
    )
    wait_for_port(port, proc, timeout_s=10)
    return proc, port


@dataclass
class DeviceSpec:
    token: str
    device_id: str
    unit_id: int
    encounter: str
    hospital: int


@dataclass
class Fixture:
    centre_id: int
    devices: list[DeviceSpec]
    dispatcher_cookies: list[str]
    ed_cookies: list[str]


def _cookie(user: Any) -> str:
    from django.test import Client

    web = Client()
    web.force_login(user)
    return f"sessionid={web.cookies['sessionid'].value}"


def make_fixture(devices: int) -> Fixture:
    """A centre, 20 hospitals, N units each with a crew token and an open encounter bound for
    a hospital (through the services, as a crew would), 5 dispatchers and one ED user per
    hospital (Django is set up here)."""
    import django

    django.setup()
    from django.utils import timezone

    from accounts.models import Role, User
    from accounts.services import device_token_issue
    from dispatch.models import (
        Assignment,
        AssignmentStatus,
        DispatchCentre,
        Incident,
        Station,
        Unit,
    )
    from handoff.models import Hospital
    from handoff.services.destination import destination_set
    from handoff.services.encounters import encounter_open

    centre = DispatchCentre.objects.create(name="Bench centre", code="bench")
    station = Station.objects.create(
        centre=centre, name="Bench station", code="bench-1", lat=60.17, lon=24.94
    )
    hospitals = [
        Hospital.objects.create(
            name=f"Bench hospital {i}",
            code=f"bench-h{i}",
            lat=60.16 + i * 0.003,
            lon=24.90 + i * 0.004,
            capabilities=["general"],
        )
        for i in range(HOSPITALS)
    ]
    dispatchers = [
        User.objects.create_user(
            username=f"bench-dispatcher-{i}", role=Role.DISPATCHER, dispatch_centre=centre
        )
        for i in range(5)
    ]
    specs: list[DeviceSpec] = []
    now = timezone.now()
    for index in range(devices):
        unit = Unit.objects.create(
            home_station=station,
            centre=centre,
            call_sign=f"BE{index:04d}",
            unit_type="ALS",
            capabilities=[],
        )
        crew = User.objects.create_user(username=f"bench-crew-{index}", role=Role.CREW, unit=unit)
        incident = Incident.objects.create(
            centre=centre,
            chief_complaint="chest pain",
            determinant="DELTA",
            response_mode="lights_sirens",
            location_source="map",
            lat=60.17,
            lon=24.95,
            confidence=0.9,
            road_lat=60.17,
            road_lon=24.95,
            road_distance_m=3.0,
            call_received_at=now,
            created_at=now,
            created_by=dispatchers[0],
        )
        assignment = Assignment.objects.create(
            incident=incident, unit=unit, status=AssignmentStatus.TRANSPORTING, notified_at=now
        )
        encounter = encounter_open(user=crew, assignment_id=assignment.pk)
        hospital = hospitals[index % HOSPITALS]
        destination_set(
            user=crew, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
        )
        specs.append(
            DeviceSpec(
                token=device_token_issue(user=crew, created_by=None, label="bench").key,
                device_id=f"bench-{index}",
                unit_id=unit.pk,
                encounter=str(encounter.public_id),
                hospital=index % HOSPITALS,
            )
        )
    eds = [
        User.objects.create_user(username=f"bench-ed-{i}", role=Role.ED_STAFF, hospital=h)
        for i, h in enumerate(hospitals)
    ]
    return Fixture(
        centre_id=centre.pk,
        devices=specs,
        dispatcher_cookies=[_cookie(user) for user in dispatchers],
        ed_cookies=[_cookie(user) for user in eds],
    )


# --- the devices ---------------------------------------------------------------------------


@dataclass
class Step:
    positions: int
    vitals: int
    offered_positions: int = 0
    offered_vitals: int = 0
    acked_positions: int = 0
    acked_vitals: int = 0
    retried: int = 0
    rejected: int = 0
    backoffs: int = 0
    unanswered: int = 0
    backlog: int = 0
    missing: int = 0
    ack_ms: list[float] = field(default_factory=list)
    vitals_ack_ms: list[float] = field(default_factory=list)
    dispatcher_ms: list[float] = field(default_factory=list)
    ed_ms: list[float] = field(default_factory=list)
    dispatcher_event_ms: list[float] = field(default_factory=list)
    ed_event_ms: list[float] = field(default_factory=list)
    not_shown: int = 0
    screen_gaps: int = 0
    window_s: float = 0.0
    rss_mb: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    acked_ids: list[tuple[str, str, str]] = field(default_factory=list)


class Device:
    """One unit's socket: sends what it has as one batch frame, keeps what is unanswered."""

    def __init__(self, url: str, origin: str, spec: DeviceSpec) -> None:
        self.url, self.origin, self.spec = url, origin, spec
        self.ws: Any = None
        self.seq = 0
        self.pending: list[dict[str, Any]] = []
        # id -> (frame sent at, kind, the item) for items sent and not answered yet.
        self.inflight: dict[str, tuple[float, str, dict[str, Any]]] = {}
        self.paused_until = 0.0
        self.step: Step | None = None
        # A random start: devices that all began owing nothing would all reach their first
        # vitals set in the same tick (hundreds at once every few seconds).
        self.owed_positions = _rand.random()
        self.owed_vitals = _rand.random()
        self.lat = 60.15 + _rand.random() * 0.05
        self.lon = 24.88 + _rand.random() * 0.1

    async def open(self) -> None:
        import websockets

        for attempt in range(5):
            try:
                await self._open()
                return
            except (OSError, websockets.WebSocketException):
                if attempt == 4:
                    raise
                await asyncio.sleep(1 + attempt)

    async def _open(self) -> None:
        import websockets

        self.ws = await websockets.connect(
            self.url,
            origin=websockets.Origin(self.origin),
            additional_headers={"Authorization": f"Token {self.spec.token}"},
            max_size=2**24,
            open_timeout=60,
        )
        await self.ws.send(json.dumps({"type": "hello", "device_id": self.spec.device_id}))
        async for raw in self.ws:
            if json.loads(raw).get("type") == "hello.ack":
                break
        asyncio.get_running_loop().create_task(self._read())

    def _item(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return {"type": kind, "id": uuid.uuid4().hex, "seq": self.seq, "data": data}

    def produce(self, positions: float, vitals: float) -> None:
        """Owe this tick's share of the offered rate; whole items are made now."""
        self.owed_positions += positions
        self.owed_vitals += vitals
        step = self.step
        while self.owed_positions >= 1:
            self.owed_positions -= 1
            self.lat += 0.00005
            # recorded_at is filled in at send time: the screens' latency is read off it.
            self.pending.append(
                self._item("position", {"lat": self.lat, "lon": self.lon, "speed_mps": 14.0})
            )
            if step:
                step.offered_positions += 1
        while self.owed_vitals >= 1:
            self.owed_vitals -= 1
            self.pending.append(
                self._item("vitals", {"encounter": self.spec.encounter, "vitals": VITALS})
            )
            if step:
                step.offered_vitals += 1

    async def flush(self) -> None:
        import websockets

        if not self.pending or time.monotonic() < self.paused_until or self.ws is None:
            return
        items, self.pending = self.pending, []
        sent_at = time.perf_counter()
        now = datetime.now(UTC)
        stamp = now.isoformat()
        for item in items:
            data = item["data"]
            if item["type"] == "position":
                data["recorded_at"] = stamp
                data["fix_id"] = item["id"]
            else:
                data["taken_at"] = stamp
                # The ED screens read the send time back off the set's client id.
                data["vitals_id"] = f"{time.time_ns()}-{item['id'][:20]}"
            self.inflight[item["id"]] = (sent_at, item["type"], item)
        try:
            await self.ws.send(json.dumps({"type": "batch", "items": items}))
        except websockets.ConnectionClosed:
            for item in items:
                self.inflight.pop(item["id"], None)
            self.pending = items + self.pending

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "answers":
                    for answer in message["answers"]:
                        self._answer(answer)
                elif kind == "backoff":
                    wait = message.get("retry_after_ms", 500) / 1000
                    self.paused_until = max(self.paused_until, time.monotonic() + wait)
                    if self.step:
                        self.step.backoffs += 1
                elif kind in {"ack", "reject", "retry"}:
                    self._answer(message)

    def _answer(self, answer: dict[str, Any]) -> None:
        entry = self.inflight.pop(str(answer.get("id")), None)
        if entry is None:
            return
        sent_at, kind, item = entry
        step = self.step
        if answer["type"] == "retry":
            # Not taken: it goes again, before anything newer, once the wait is over.
            wait = answer.get("retry_after_ms", 500) / 1000
            self.paused_until = max(self.paused_until, time.monotonic() + wait)
            self.pending.insert(0, item)
            if step:
                step.retried += 1
            return
        if step is None:
            return
        if answer["type"] == "ack":
            step.ack_ms.append((time.perf_counter() - sent_at) * 1000)
            if kind == "vitals":
                step.vitals_ack_ms.append(step.ack_ms[-1])

            if kind == "position":
                step.acked_positions += 1
            else:
                step.acked_vitals += 1
            client_id = item["data"]["vitals_id"] if kind == "vitals" else item["id"]
            step.acked_ids.append((kind, item["id"], client_id))
        else:
            step.rejected += 1


# --- the screens (a second process) ------------------------------------------------------


def _events(message: dict[str, Any]) -> list[dict[str, Any]]:
    if message.get("type") == "batch":
        return list(message.get("events") or [])
    return [message]


class Screen:
    """A screen's stream bookkeeping: sequence rule with merged ranges, gap -> resync."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.gaps = 0
        self.resync_asked = 0.0

    async def accept(self, ws: Any, event: dict[str, Any]) -> bool:
        seq = event.get("seq")
        if event.get("type", "").endswith(".snapshot"):
            self.last = seq if isinstance(seq, int) else self.last
            return True
        if not isinstance(seq, int):
            return False  # presence: not logged
        first = event.get("seq_from", seq)
        if self.last is not None and seq <= self.last:
            return False
        if self.last is not None and first > self.last + 1:
            if time.monotonic() - self.resync_asked > 2:
                self.gaps += 1
                self.resync_asked = time.monotonic()
                await ws.send(json.dumps({"type": "resync", "since": self.last}))
            return False
        self.last = seq
        return True


@dataclass
class ScreenTally:
    dispatcher_ms: list[float] = field(default_factory=list)
    ed_ms: list[float] = field(default_factory=list)
    # From the event's own time (written in the tick, before commit) to the screen.
    dispatcher_event_ms: list[float] = field(default_factory=list)
    ed_event_ms: list[float] = field(default_factory=list)
    vitals_shown: set[str] = field(default_factory=set)
    gaps: int = 0


async def _dispatcher_screen(
    url: str,
    origin: str,
    cookie: str,
    tally: ScreenTally,
    state: dict[int, str],
    ready: asyncio.Event,
) -> None:
    import websockets

    screen = Screen()
    async with websockets.connect(
        url, origin=websockets.Origin(origin), additional_headers={"Cookie": cookie}, max_size=2**24
    ) as ws:
        ready.set()

        async def confirm() -> None:
            while True:
                await asyncio.sleep(SEEN_EVERY_S)
                if screen.last is not None:
                    await ws.send(json.dumps({"type": "seen", "seq": screen.last}))

        confirming = asyncio.create_task(confirm())
        try:
            async for raw in ws:
                received = time.time()
                for event in _events(json.loads(raw)):
                    before = screen.gaps
                    if not await screen.accept(ws, event):
                        tally.gaps += screen.gaps - before
                        continue
                    kind = event.get("type")
                    if kind == "dispatch.units.moved":
                        made = datetime.fromisoformat(event["ts"]).timestamp()
                        tally.dispatcher_event_ms.append((received - made) * 1000)
                        for unit in event["data"]["units"]:
                            fix_at = unit["last_fix_at"]
                            state[unit["id"]] = fix_at
                            sent = datetime.fromisoformat(fix_at).timestamp()
                            tally.dispatcher_ms.append((received - sent) * 1000)
                    elif kind == "dispatch.board.snapshot":
                        for unit in event["data"].get("units", []):
                            if unit.get("last_fix_at"):
                                state[unit["id"]] = unit["last_fix_at"]
        finally:
            confirming.cancel()


async def _ed_screen(
    url: str, origin: str, cookie: str, tally: ScreenTally, ready: asyncio.Event
) -> None:
    import websockets

    screen = Screen()
    async with websockets.connect(
        url, origin=websockets.Origin(origin), additional_headers={"Cookie": cookie}, max_size=2**24
    ) as ws:
        ready.set()
        async for raw in ws:
            received = time.time_ns()
            for event in _events(json.loads(raw)):
                before = screen.gaps
                if not await screen.accept(ws, event):
                    tally.gaps += screen.gaps - before
                    continue
                if event.get("type") != "handoff.encounter.updated":
                    continue
                latest = event["data"].get("latest_vitals") or {}
                client_id = latest.get("client_id") or ""
                sent_ns, _, _ = client_id.partition("-")
                if sent_ns.isdigit() and client_id not in tally.vitals_shown:
                    tally.vitals_shown.add(client_id)
                    tally.ed_ms.append((received - int(sent_ns)) / 1e6)
                    made = datetime.fromisoformat(event["ts"]).timestamp()
                    tally.ed_event_ms.append(received / 1e6 - made * 1000)


def screens_main(
    conn: Connection, ports: list[int], dispatchers: list[str], eds: list[str]
) -> None:
    """The screens process: answers "collect" with what it measured since the last one."""

    async def run() -> None:
        tally = ScreenTally()
        states: list[dict[int, str]] = [{} for _ in range(DISPATCHER_SCREENS)]
        tasks = []
        for index in range(DISPATCHER_SCREENS + ED_SCREENS):
            port = ports[index % len(ports)]
            origin = f"http://127.0.0.1:{port}"
            ready = asyncio.Event()
            if index < DISPATCHER_SCREENS:
                screen = _dispatcher_screen(
                    f"ws://127.0.0.1:{port}/ws/dispatch/",
                    origin,
                    dispatchers[index % len(dispatchers)],
                    tally,
                    states[index],
                    ready,
                )
            else:
                screen = _ed_screen(
                    f"ws://127.0.0.1:{port}/ws/ed/", origin, eds[index % len(eds)], tally, ready
                )
            tasks.append(asyncio.create_task(screen))
            # One at a time, as screens are opened in a centre (a snapshot each).
            await asyncio.wait_for(ready.wait(), 30)
        loop = asyncio.get_running_loop()
        conn.send("ready")
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            broken = [t for t in tasks if t.done()]
            if command == "collect":
                conn.send(
                    {
                        "dispatcher_ms": tally.dispatcher_ms,
                        "ed_ms": tally.ed_ms,
                        "dispatcher_event_ms": tally.dispatcher_event_ms,
                        "ed_event_ms": tally.ed_event_ms,
                        "vitals_shown": sorted(tally.vitals_shown),
                        "gaps": tally.gaps,
                        "closed_screens": len(broken),
                    }
                )
                tally.dispatcher_ms, tally.ed_ms = [], []
                tally.dispatcher_event_ms, tally.ed_event_ms = [], []
                tally.vitals_shown, tally.gaps = set(), 0
            elif command == "final":
                conn.send(states)
                for task in tasks:
                    task.cancel()
                return

    asyncio.run(run())


# --- the run -----------------------------------------------------------------------------


def _rss_mb(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return total


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its reaped children so far."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / _TICKS_PER_S
    return 0.0


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far per group of processes (postgres: every backend, re-listed)."""
    snapshot = {name: sum(_cpu_s(pid) for pid in pids) for name, pids in groups.items()}
    snapshot["postgres"] = sum(_cpu_s(pid) for pid in _postgres_pids())
    return snapshot


def _stored(step: Step) -> int:
    """Acknowledged items of the step missing from the database (must be 0)."""
    from dispatch.models import UnitPosition
    from handoff.models import VitalsSet
    from realtime.models import DeviceItem

    item_ids = [item_id for _, item_id, _ in step.acked_ids]
    fixes = [client_id for kind, _, client_id in step.acked_ids if kind == "position"]
    sets = [client_id for kind, _, client_id in step.acked_ids if kind == "vitals"]
    held = 0
    for chunk in range(0, len(item_ids), 5000):
        held += DeviceItem.objects.filter(
            client_id__in=item_ids[chunk : chunk + 5000], accepted=True
        ).count()
    points = sum(
        UnitPosition.objects.filter(client_id__in=fixes[c : c + 5000]).count()
        for c in range(0, len(fixes), 5000)
    )
    stored_sets = sum(
        VitalsSet.objects.filter(client_id__in=sets[c : c + 5000]).count()
        for c in range(0, len(sets), 5000)
    )
    return (len(item_ids) - held) + (len(fixes) - points) + (len(sets) - stored_sets)


async def run_channels(
    ports: list[int],
    fixture: Fixture,
    screens: Connection,
    step_s: float,
    interval_s: float,
    cpu_groups: dict[str, list[int]],
    rates: list[int],
) -> tuple[list[Step], int]:
    devices = []
    for index, spec in enumerate(fixture.devices):
        port = ports[index % len(ports)]
        devices.append(Device(f"ws://127.0.0.1:{port}/ws/crew/", f"http://127.0.0.1:{port}", spec))
    # A few at a time, as devices come online: daphne drops a handshake not accepted in 5 s.
    for start in range(0, len(devices), 10):
        await asyncio.gather(*(d.open() for d in devices[start : start + 10]))
    print(f"{len(devices)} devices connected", flush=True)
    await asyncio.sleep(2)
    await asyncio.to_thread(screens.send, "collect")
    await asyncio.to_thread(screens.recv)
    steps: list[Step] = []
    phases = [_rand.random() * interval_s for _ in devices]
    for positions in rates:
        vitals = round(positions / 9)
        step = Step(positions=positions, vitals=vitals)
        steps.append(step)
        for device in devices:
            device.step = step
        per_tick_positions = positions / len(devices) * interval_s
        per_tick_vitals = vitals / len(devices) * interval_s

        async def pace(
            device: Device,
            phase: float,
            t0: float,
            positions_per_tick: float = per_tick_positions,
            vitals_per_tick: float = per_tick_vitals,
        ) -> None:
            k = 0
            while True:
                due = t0 + phase + k * interval_s
                if due - t0 >= step_s:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                device.produce(positions_per_tick, vitals_per_tick)
                await device.flush()
                k += 1

        started = time.perf_counter()
        cpu_before = cpu_snapshot(cpu_groups)
        await asyncio.gather(*(pace(d, p, started) for d, p in zip(devices, phases, strict=True)))
        step.window_s = time.perf_counter() - started
        cpu_after = cpu_snapshot(cpu_groups)
        step.cpu = {k: (cpu_after[k] - cpu_before[k]) / step.window_s for k in cpu_after}
        step.rss_mb = _rss_mb(cpu_groups["daphne"])
        # What is still owed or waiting goes out and is answered before the step is scored.
        drain_until = time.perf_counter() + DRAIN_S
        while time.perf_counter() < drain_until:
            for device in devices:
                await device.flush()
            if not any(d.inflight or d.pending for d in devices):
                break
            await asyncio.sleep(0.1)
        # Sent and never answered is lost; still in a device's queue (told to back off) is
        # offered but not accepted, which the accepted rate shows.
        step.unanswered = sum(len(d.inflight) for d in devices)
        step.backlog = sum(len(d.pending) for d in devices)
        for device in devices:
            device.inflight.clear()
            device.pending.clear()
            device.step = None
        await asyncio.sleep(1.0)  # the last frames reach the screens
        await asyncio.to_thread(screens.send, "collect")
        seen = await asyncio.to_thread(screens.recv)
        step.dispatcher_ms = seen["dispatcher_ms"]
        step.ed_ms = seen["ed_ms"]
        step.dispatcher_event_ms = seen["dispatcher_event_ms"]
        step.ed_event_ms = seen["ed_event_ms"]
        step.screen_gaps = seen["gaps"]
        shown = set(seen["vitals_shown"])
        step.not_shown = sum(
            1 for kind, _, cid in step.acked_ids if kind == "vitals" and cid not in shown
        )
        step.missing = await asyncio.to_thread(_stored, step)
        print(
            f"  offered {positions}+{vitals}/s: accepted "
            f"{(step.acked_positions + step.acked_vitals) / step.window_s:.0f}/s, "
            f"screen p99 {_ms(_pct(step.dispatcher_ms, 0.99))} ms, vitals ack p50 "
            f"{_ms(_pct(step.vitals_ack_ms, 0.5))} ms",
            flush=True,
        )
        if _pct(step.dispatcher_ms, 0.99) > 4 * LATENCY_GOAL_MS:
            break
    for device in devices:
        with contextlib.suppress(Exception):
            await device.ws.close()
    await asyncio.to_thread(screens.send, "final")
    states: list[dict[int, str]] = await asyncio.to_thread(screens.recv)
    return steps, await asyncio.to_thread(_screens_off_database, fixture, states)


def _screens_off_database(fixture: Fixture, states: list[dict[int, str]]) -> int:
    """Dispatcher screens whose last position of some unit differs from the database's."""
    from dispatch.models import Unit

    truth = {
        pk: fix_at.isoformat()
        for pk, fix_at in Unit.objects.filter(centre_id=fixture.centre_id).values_list(
            "pk", "last_fix_at"
        )
        if fix_at is not None
    }
    off = 0
    for state in states:
        if any(
            datetime.fromisoformat(state.get(pk, "1970-01-01T00:00:00+00:00"))
            != datetime.fromisoformat(value)
            for pk, value in truth.items()
        ):
            off += 1
    return off


def channels_table(steps: list[Step], devices: int, interval_ms: int) -> str:
    lines = [
        f"\nGolden Hour: 2 daphne, Redis layer, PostgreSQL; {devices} devices (batch frame every "
        f"{interval_ms} ms), {DISPATCHER_SCREENS} dispatcher + {ED_SCREENS} ED screens",
        "| offered pos+vit/s | accepted/s | ack p50 | ack p99 | disp p50 | disp p99 "
        "| ED p50 | ED p99 | retried | backoffs | left queued | lost | not on ED | gaps "
        "| daphne RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        accepted = (s.acked_positions + s.acked_vitals) / s.window_s if s.window_s else 0
        lines.append(
            f"| {s.positions}+{s.vitals} | {accepted:.0f} | {_ms(_pct(s.ack_ms, 0.5))} "
            f"| {_ms(_pct(s.ack_ms, 0.99))} | {_ms(_pct(s.dispatcher_ms, 0.5))} "
            f"| {_ms(_pct(s.dispatcher_ms, 0.99))} | {_ms(_pct(s.ed_ms, 0.5))} "
            f"| {_ms(_pct(s.ed_ms, 0.99))} | {s.retried} | {s.backoffs} | {s.backlog} "
            f"| {s.missing + s.unanswered} "
            f"| {s.not_shown} | {s.screen_gaps} | {s.rss_mb:.0f} |"
        )
    lines.append(
        "(latencies in ms; left queued = items still in the devices' queues when the step's "
        "drain ended (told to back off); lost = acknowledged but not stored + sent and never "
        "answered; not on ED = acknowledged vitals no ED screen of its hospital showed)"
    )
    lines.append(
        "\nWhere the time goes: from the event's own time (taken in the tick, before its commit)"
        " to the screen"
    )
    lines.append("| offered pos+vit/s | dispatcher p50 | dispatcher p99 | ED p50 | ED p99 |")
    lines.append("|---|---:|---:|---:|---:|")
    for s in steps:
        lines.append(
            f"| {s.positions}+{s.vitals} | {_ms(_pct(s.dispatcher_event_ms, 0.5))} "
            f"| {_ms(_pct(s.dispatcher_event_ms, 0.99))} | {_ms(_pct(s.ed_event_ms, 0.5))} "
            f"| {_ms(_pct(s.ed_event_ms, 0.99))} |"
        )
    lines.append("\nCPU cores busy per step (of 2): where the machine went")
    lines.append("| offered pos+vit/s | " + " | ".join(CPU_GROUPS) + " | total |")
    lines.append("|---|" + "---:|" * (len(CPU_GROUPS) + 1))
    for s in steps:
        lines.append(
            f"| {s.positions}+{s.vitals} | "
            + " | ".join(f"{s.cpu.get(g, 0):.2f}" for g in CPU_GROUPS)
            + f" | {sum(s.cpu.values()):.2f} |"
        )
    return "\n".join(lines)


def _p99_of(step: Step) -> float:
    return max(_pct(step.dispatcher_ms, 0.99), _pct(step.ed_ms, 0.99))


def sustained(steps: list[Step]) -> Step | None:
    """The highest step that was accepted in full, within the goal, with nothing lost."""
    good = [
        s
        for s in steps
        if s.window_s
        and (s.acked_positions + s.acked_vitals) >= 0.97 * (s.offered_positions + s.offered_vitals)
        and _p99_of(s) <= LATENCY_GOAL_MS
        and s.missing + s.unanswered == 0
        and s.not_shown == 0
    ]
    return good[-1] if good else None


# --- the Mosquitto anchor ----------------------------------------------------------------


@dataclass
class MqttStep:
    rate: int
    published: int = 0
    window_s: float = 0.0
    delivered: int = 0
    lat_ms: list[float] = field(default_factory=list)


def mqtt_step(rate: int, devices: int, step_s: float, workdir: Path) -> MqttStep:
    import paho.mqtt.client as mqtt

    out = MqttStep(rate=rate)
    files = [workdir / f"mqtt-{rate}-{i}.txt" for i in range(DISPATCHER_SCREENS)]
    subscribers = [
        subprocess.Popen(
            [  # noqa: S607 - Debian's mosquitto-clients
                "mosquitto_sub",
                "-h",
                "127.0.0.1",
                "-q",
                "1",
                "-t",
                "gh/bench/#",
                "-F",
                "%U %p",
            ],
            stdout=path.open("w"),
        )
        for path in files
    ]
    time.sleep(1.5)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gh-bench-{rate}")
    client.max_inflight_messages_set(2000)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    started = time.perf_counter()
    interval = 0.01
    owed = 0.0
    k = 0
    while time.perf_counter() - started < step_s:
        owed += rate * interval
        while owed >= 1:
            owed -= 1
            unit = k % devices
            client.publish(f"gh/bench/{unit}", f"{time.time_ns()}", qos=1)
            k += 1
        time.sleep(max(0.0, started + (k / rate) - time.perf_counter()))
    out.window_s = time.perf_counter() - started
    out.published = k
    time.sleep(2.0)
    client.loop_stop()
    client.disconnect()
    for proc in subscribers:
        proc.terminate()
        proc.wait(timeout=10)
    for path in files:
        for line in path.read_text().splitlines():
            received, _, sent = line.partition(" ")
            if sent.isdigit():
                out.delivered += 1
                out.lat_ms.append(float(received) * 1000 - int(sent) / 1e6)
        path.unlink()
    return out


def mqtt_table(steps: list[MqttStep], golden: dict[int, Step]) -> str:
    lines = [
        f"\nMosquitto anchor (same machine): paho publisher QoS 1, {DISPATCHER_SCREENS} "
        "mosquitto_sub subscribers QoS 1",
        "| offered msgs/s | published/s | delivered per subscriber/s | p50 ms | p99 ms "
        "| lost | Golden Hour p99 / Mosquitto p99 |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        ours = golden.get(s.rate)
        theirs = _pct(s.lat_ms, 0.99)
        ratio = f"{_p99_of(ours) / theirs:.0f}x" if ours and theirs == theirs and theirs else "-"
        lost = s.published * DISPATCHER_SCREENS - s.delivered
        lines.append(
            f"| {s.rate} | {s.published / s.window_s:.0f} "
            f"| {s.delivered / DISPATCHER_SCREENS / s.window_s:.0f} | {_ms(_pct(s.lat_ms, 0.5))} "
            f"| {_ms(theirs)} | {lost} | {ratio} |"
        )
    return "\n".join(lines)


def _mosquitto_up() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 1883), 1):
        return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description="Real-time bench (prints tables).")
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--step-s", type=float, default=10.0)
    parser.add_argument("--interval-ms", type=int, default=500)
    parser.add_argument("--no-mqtt", action="store_true", help="skip the Mosquitto anchor")
    parser.add_argument(
        "--steps",
        default=",".join(str(p) for p in POSITION_STEPS),
        help="offered positions/s per step, comma-separated (vitals/s = positions/9)",
    )
    args = parser.parse_args()
    rates = [int(p) for p in args.steps.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="gh-bench-"))
    db_url = fresh_database()
    redis, redis_port = start_redis(workdir)
    env = dict(os.environ)
    settings_env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "EMBEDDED_SCHEDULER": "0",
        "LOG_LEVEL": "WARNING",
        "CHANNEL_PREFIX": "bench",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.update(settings_env)
    os.environ.update(settings_env)
    out: list[str] = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        began = time.perf_counter()
        fixture = make_fixture(args.devices)
        took = time.perf_counter() - began
        print(f"fixture: {args.devices} units with encounters in {took:.0f} s")
        from django.db import connections

        connections.close_all()
        cluster, ports = start_cluster(
            servers=2, env=env, log_dir=workdir, beat=False, worker=False
        )
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        viewer = context.Process(
            target=screens_main,
            args=(child, ports, fixture.dispatcher_cookies, fixture.ed_cookies),
            daemon=True,
        )
        try:
            viewer.start()
            parent.recv()
            pids = [c.proc.pid for c in cluster.children if c.name.startswith("daphne")]
            groups = {
                "daphne": pids,
                "redis": [redis.pid],
                "devices": [os.getpid()],
                "screens": [viewer.pid or 0],
            }
            interval_s = args.interval_ms / 1000
            steps, off = asyncio.run(
                run_channels(ports, fixture, parent, args.step_s, interval_s, groups, rates)
            )
        finally:
            viewer.join(timeout=10)
            if viewer.is_alive():
                viewer.terminate()
            cluster.stop()
        out.append(channels_table(steps, args.devices, args.interval_ms))
        out.append(
            f"dispatcher screens whose final map differs from the database: {off} "
            f"of {DISPATCHER_SCREENS}; daphne logs in {workdir}"
        )
        print(out[-2] + "\n" + out[-1], flush=True)
        mqtt: list[MqttStep] = []
        if not args.no_mqtt and _mosquitto_up():
            for s in steps:
                mqtt.append(mqtt_step(s.positions + s.vitals, args.devices, args.step_s, workdir))
            out.append(mqtt_table(mqtt, {s.positions + s.vitals: s for s in steps}))
            print(out[-1], flush=True)
    finally:
        redis.terminate()
        redis.wait(timeout=10)
    best = sustained(steps)
    chosen = best or steps[0]
    anchor = next((m for m in mqtt if m.rate == chosen.positions + chosen.vitals), None)
    lost = chosen.missing + chosen.unanswered
    print("\n".join(out))
    if best is None:
        print(
            f"no step met the goal (all accepted, p99 <= {LATENCY_GOAL_MS:.0f} ms, nothing "
            "lost); the line below is the lowest step"
        )
    print(
        f"realtime: sustained {chosen.acked_positions / chosen.window_s:.0f} positions/s + "
        f"{chosen.acked_vitals / chosen.window_s:.0f} vitals/s, "
        f"{DISPATCHER_SCREENS}+{ED_SCREENS} screens, p99 device->screen {_p99_of(chosen):.0f} ms, "
        f"lost {lost} (2 daphne, Redis, PostgreSQL); mosquitto same run "
        + (
            f"{anchor.delivered / DISPATCHER_SCREENS / anchor.window_s:.0f} msgs/s "
            f"p99 {_pct(anchor.lat_ms, 0.99):.0f} ms"
            if anchor
            else "not measured"
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
