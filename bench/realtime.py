"""Real-time throughput and latency with 1 and 2 daphne processes over the Redis layer.

    .venv/bin/python -m bench.realtime [--tablets 20] [--step-s 8]

Starts a private redis-server, uses PostgreSQL when 127.0.0.1:5432 answers (a fresh
`goldenhour_bench` database) and else a SQLite file in WAL mode, migrates, then for 1 and
for 2 daphne processes behind the round-robin proxy of scripts/scale.py: N tablets send
`position` items at a rising total rate while one dispatcher screen follows the centre. Per
step it prints the items accepted per second and the latency p50/p99 of device send -> ack
and device send -> the screen's `dispatch.unit.updated`; it stops raising the rate once p99
passes 1 s. Load generator, servers and database share this machine's cores, so the numbers
are a floor for a real deployment, not a ceiling. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.scale import (  # noqa: E402 - the path above makes the project importable
    RoundRobinProxy,
    free_port,
    start_cluster,
    wait_for_port,
)

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "goldenhour_bench"
RATES = [25, 50, 100, 200, 400, 800, 1600]


def _pg_reachable() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), 1):
        return True
    return False


def database_url(workdir: Path) -> tuple[str, str]:
    if _pg_reachable():
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        return f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}", "PostgreSQL"
    return f"sqlite:///{workdir / 'bench.sqlite3'}", "SQLite (WAL)"


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
class Fixture:
    centre_id: int
    tokens: list[str]
    cookie: str


def make_fixture(tablets: int) -> Fixture:
    """Centre, units with crew tokens, and a logged-in dispatcher (Django set up here)."""
    import django

    django.setup()
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, User
    from dispatch.models import DispatchCentre, Station, Unit

    suffix = uuid.uuid4().hex[:6]
    centre = DispatchCentre.objects.create(name=f"Bench {suffix}", code=f"bench-{suffix}")
    station = Station.objects.create(
        centre=centre, name=f"Bench {suffix}", code=f"bs-{suffix}", lat=60.165, lon=24.945
    )
    tokens = []
    for index in range(tablets):
        unit = Unit.objects.create(
            home_station=station,
            centre=centre,
            call_sign=f"B{suffix}{index}",
            unit_type="ALS",
            capabilities=[],
        )
        crew = User.objects.create_user(
            username=f"bench-crew-{suffix}-{index}", role=Role.CREW, unit=unit
        )
        tokens.append(Token.objects.create(user=crew).key)
    dispatcher = User.objects.create_user(
        username=f"bench-dispatcher-{suffix}", role=Role.DISPATCHER, dispatch_centre=centre
    )
    web = Client()
    web.force_login(dispatcher)
    return Fixture(centre.pk, tokens, f"sessionid={web.cookies['sessionid'].value}")


@dataclass
class Step:
    offered: int
    sent: int = 0
    acked: int = 0
    ack_ms: list[float] = field(default_factory=list)
    screen_ms: list[float] = field(default_factory=list)
    window_s: float = 0.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Tablet:
    """A bare device-protocol client: no outbox (that is the client's cost, not the server's)."""

    def __init__(self, url: str, origin: str, token: str, device_id: str) -> None:
        self.url, self.origin, self.token, self.device_id = url, origin, token, device_id
        self.ws: Any = None
        self.sent_at: dict[str, float] = {}
        self.seq = 0
        self.step: Step | None = None

    async def open(self) -> None:
        import websockets

        self.ws = await websockets.connect(
            self.url,
            origin=websockets.Origin(self.origin),
            additional_headers={"Authorization": f"Token {self.token}"},
            max_size=2**24,
        )
        await self.ws.send(json.dumps({"type": "hello", "device_id": self.device_id}))
        async for raw in self.ws:
            if json.loads(raw).get("type") == "hello.ack":
                break
        asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                message = json.loads(raw)
                if message.get("type") == "ack":
                    started = self.sent_at.pop(message["id"], None)
                    if started is not None and self.step is not None:
                        self.step.acked += 1
                        self.step.ack_ms.append((time.perf_counter() - started) * 1000)

    async def send_position(self) -> None:
        import websockets

        if self.ws.close_code is not None:
            # A server closed the socket (1011 after a channel-layer read timeout, see
            # docs/events.md): reconnect and count the unanswered items as lost for the step.
            self.sent_at.clear()
            with contextlib.suppress(OSError, websockets.WebSocketException):
                await self.open()
            return
        self.seq += 1
        item_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        self.sent_at[item_id] = time.perf_counter()
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(
                json.dumps(
                    {
                        "type": "position",
                        "id": item_id,
                        "seq": self.seq,
                        "data": {
                            "lat": 60.16 + (self.seq % 1000) * 1e-5,
                            "lon": 24.94,
                            # The screen's latency is read off this: the event carries the fix time.
                            "recorded_at": now.isoformat(),
                            "speed_mps": 12.0,
                            "fix_id": item_id,
                        },
                    }
                )
            )
        if self.step is not None:
            self.step.sent += 1


async def screen(url: str, origin: str, cookie: str, steps: list[Step]) -> None:
    import websockets

    async with websockets.connect(
        url, origin=websockets.Origin(origin), additional_headers={"Cookie": cookie}
    ) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") != "dispatch.unit.updated" or not steps:
                continue
            fix_at = message["data"].get("last_fix_at")
            if fix_at:
                delay = datetime.now(UTC) - datetime.fromisoformat(fix_at)
                steps[-1].screen_ms.append(delay.total_seconds() * 1000)


async def run_load(port: int, fixture: Fixture, step_s: float, label: str) -> list[Step]:
    origin = f"http://127.0.0.1:{port}"
    tablets = [
        Tablet(f"ws://127.0.0.1:{port}/ws/crew/", origin, token, f"bench-{label}-{i}")
        for i, token in enumerate(fixture.tokens)
    ]
    for tablet in tablets:
        await tablet.open()
    steps: list[Step] = []
    watcher = asyncio.create_task(
        screen(f"ws://127.0.0.1:{port}/ws/dispatch/", origin, fixture.cookie, steps)
    )
    await asyncio.sleep(1)
    try:
        for rate in RATES:
            step = Step(offered=rate)
            steps.append(step)
            for tablet in tablets:
                tablet.step = step
            interval = len(tablets) / rate
            started = time.perf_counter()

            async def pace(tablet: Tablet, offset: float, t0: float, iv: float) -> None:
                k = 0
                while True:
                    due = t0 + offset + k * iv
                    if due - t0 >= step_s:
                        return
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    await tablet.send_position()
                    k += 1

            await asyncio.gather(
                *(
                    pace(t, i * interval / len(tablets), started, interval)
                    for i, t in enumerate(tablets)
                )
            )
            step.window_s = time.perf_counter() - started
            # Let what is queued drain (bounded), so the next step starts clean.
            drain_until = time.perf_counter() + 10
            while time.perf_counter() < drain_until:  # a bounded poll of the readers' maps
                if not any(t.sent_at for t in tablets):
                    break
                await asyncio.sleep(0.1)
            for tablet in tablets:
                tablet.sent_at.clear()
            await asyncio.sleep(0.5)
            print(f"  {label}: offered {rate}/s done", flush=True)
            if _pct(step.ack_ms, 0.99) > 1000:
                break
    finally:
        watcher.cancel()
        for tablet in tablets:
            with contextlib.suppress(Exception):
                await tablet.ws.close()
    return steps


def table(label: str, steps: list[Step]) -> str:
    lines = [
        f"\n{label}",
        "| offered/s | accepted/s | ack p50 ms | ack p99 ms | screen p50 ms | screen p99 ms |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        lines.append(
            f"| {s.offered} | {s.acked / s.window_s if s.window_s else 0:.0f} "
            f"| {_pct(s.ack_ms, 0.5):.0f} | {_pct(s.ack_ms, 0.99):.0f} "
            f"| {_pct(s.screen_ms, 0.5):.0f} | {_pct(s.screen_ms, 0.99):.0f} |"
        )
    best = max((s.acked / s.window_s for s in steps if s.window_s), default=0)
    under = [s for s in steps if _pct(s.ack_ms, 0.99) <= 1000]
    sustained = max((s.acked / s.window_s for s in under if s.window_s), default=0)
    lines.append(
        f"sustained with ack p99 <= 1 s: {sustained:.0f} items/s; best seen {best:.0f}/s; "
        f"screen events seen {sum(len(s.screen_ms) for s in steps)} "
        f"(the unit event is one per accepted fix; median per step "
        f"{statistics.median([len(s.screen_ms) for s in steps]) if steps else 0:.0f})"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Real-time bench (prints tables).")
    parser.add_argument("--tablets", type=int, default=20)
    parser.add_argument("--step-s", type=float, default=8.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gh-bench-"))
    db_url, db_name = database_url(workdir)
    redis, redis_port = start_redis(workdir)
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "EMBEDDED_SCHEDULER": "0",
            "LOG_LEVEL": "WARNING",
            "CHANNEL_PREFIX": "bench",
        }
    )
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": env["REDIS_URL"],
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    out: list[str] = [f"database: {db_name}; channel layer: channels_redis (private Redis)"]
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        fixture = make_fixture(args.tablets)
        for servers in (1, 2):
            cluster, ports = start_cluster(
                servers=servers, env=env, log_dir=workdir, beat=False, worker=False
            )
            try:
                proxy = RoundRobinProxy([("127.0.0.1", p) for p in ports])

                async def go(proxy: RoundRobinProxy = proxy, n: int = servers) -> list[Step]:
                    port = await proxy.start()
                    try:
                        return await run_load(port, fixture, args.step_s, f"{n}daphne")
                    finally:
                        await proxy.close()

                steps = asyncio.run(go())
            finally:
                cluster.stop()
            out.append(
                table(
                    f"{servers} daphne process(es), {args.tablets} tablets, position items, "
                    f"{args.step_s:.0f} s per step",
                    steps,
                )
            )
            print(out[-1], flush=True)
    finally:
        redis.terminate()
        redis.wait(timeout=10)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
