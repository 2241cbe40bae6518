"""Run Golden Hour at scale on one machine: N daphne behind one address, a worker and beat.

    .venv/bin/python -m scripts.scale [--servers 2] [--port 8000]

Needs PostgreSQL and Redis; DATABASE_URL and REDIS_URL default to
postgres://postgres@127.0.0.1:5432/goldenhour and redis://127.0.0.1:6379/0. It runs
`migrate`, starts the daphne processes on free ports, a TCP round-robin proxy on --port (a
WebSocket is a TCP stream after its HTTP upgrade, so a TCP proxy passes it through), one
Celery worker and one Celery beat, prints what runs where, and stops everything on Ctrl-C.
Logs go to var/scale/. docs/operations.md, "At scale", explains the pieces.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/goldenhour"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

logger = logging.getLogger("scale")


class RoundRobinProxy:
    """A TCP proxy that hands each new connection to the next backend that accepts it.

    A backend that refuses (killed, restarting) is skipped for that connection, so clients
    that reconnect after a server died land on a live one. Existing connections are not
    moved: when a backend dies its clients see the socket close and reconnect.
    """

    def __init__(
        self,
        backends: Sequence[tuple[str, int]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        connect_timeout_s: float = 2.0,
    ) -> None:
        if not backends:
            raise ValueError("at least one backend is needed")
        self.backends = list(backends)
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.connections = 0
        self.refused = 0
        self._next = itertools.cycle(range(len(self.backends)))
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Listen; returns the port (a free one when constructed with port 0)."""
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        for task in list(self._pipes):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._pipes.add(task)
        try:
            upstream = await self._connect()
            if upstream is None:
                return
            self.connections += 1
            up_reader, up_writer = upstream
            try:
                await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
            finally:
                up_writer.close()
        finally:
            writer.close()
            if task is not None:
                self._pipes.discard(task)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            host, port = self.backends[next(self._next)]
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    return await asyncio.open_connection(host, port)
            except (OSError, TimeoutError):
                self.refused += 1
        return None

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            # Either side ending ends both: half-open WebSockets only confuse the client.
            writer.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on {port} within {timeout_s} s")


def daphne_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "config.asgi:application",
    ]


def worker_command(hostname: str, *, app: str = "config", concurrency: int = 2) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        "--loglevel=WARNING",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--without-mingle",
        "--without-gossip",
        "-n",
        hostname,
    ]


def beat_command(schedule_file: Path, *, app: str = "config") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "beat",
        "--loglevel=WARNING",
        "-s",
        str(schedule_file),
    ]


@dataclass
class Child:
    """A started process, in its own process group so a stop takes its children too."""

    name: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    where: str = ""

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait(timeout=timeout_s)
        # Prefork children may outlive a parent that was killed: sweep the group.
        self.signal_group(signal.SIGKILL)
        self.log.close()


def spawn(name: str, command: list[str], env: dict[str, str], log_path: Path) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Child(name, proc, log)


@dataclass
class Cluster:
    """Everything `make scale` runs; `stop` ends it in reverse order."""

    children: list[Child] = field(default_factory=list)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()


def cluster_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # Beat runs the periodic jobs; the embedded scheduler would run them once per
            # daphne process.
            "EMBEDDED_SCHEDULER": "0",
        }
    )
    return env


def start_cluster(
    *, servers: int, env: dict[str, str], log_dir: Path, beat: bool = True, worker: bool = True
) -> tuple[Cluster, list[int]]:
    cluster = Cluster()
    ports: list[int] = []
    try:
        for index in range(servers):
            port = free_port()
            child = spawn(
                f"daphne-{index + 1}", daphne_command(port), env, log_dir / f"daphne-{port}.log"
            )
            child.where = f"127.0.0.1:{port}"
            cluster.children.append(child)
            wait_for_port(port, child.proc)
            ports.append(port)
        if worker:
            child = spawn("celery-worker", worker_command("scale@%h"), env, log_dir / "worker.log")
            child.where = "consumes the Redis broker"
            cluster.children.append(child)
        if beat:
            child = spawn(
                "celery-beat",
                beat_command(log_dir / "beat-schedule"),
                env,
                log_dir / "beat.log",
            )
            child.where = "sends CELERY_BEAT_SCHEDULE"
            cluster.children.append(child)
    except BaseException:
        cluster.stop()
        raise
    return cluster, ports


async def _serve(proxy: RoundRobinProxy, cluster: Cluster) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await proxy.start()
    print(f"\nGolden Hour at http://{proxy.host}:{proxy.port}/  (Ctrl-C stops everything)")
    print(f"  proxy           {proxy.host}:{proxy.port} -> round robin")
    for child in cluster.children:
        print(f"  {child.name:15} pid {child.proc.pid:<7} {child.where}")
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await stop.wait()
        for child in cluster.children:
            if child.proc.poll() is not None:
                print(f"{child.name} exited with {child.proc.returncode}; stopping")
                stop.set()
    await proxy.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--servers", type=int, default=2, help="daphne processes (default 2)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the one address (default 8000)")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args(argv)
    if args.servers < 1:
        parser.error("--servers must be at least 1")
    env = cluster_env(args.database_url, args.redis_url)
    print(f"DATABASE_URL={args.database_url}\nREDIS_URL={args.redis_url}\nmigrating ...")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log_dir = ROOT / "var" / "scale"
    cluster, ports = start_cluster(servers=args.servers, env=env, log_dir=log_dir)
    try:
        proxy = RoundRobinProxy(
            [("127.0.0.1", port) for port in ports], host=args.host, port=args.port
        )
        asyncio.run(_serve(proxy, cluster))
    finally:
        print("stopping ...")
        cluster.stop()
    print(f"stopped; logs in {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
