"""A daphne process on a fixed port that a test can stop and start again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.services import processes


class Server:
    """The project's ASGI app in a daphne subprocess, restartable on the same port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = processes.free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "config.asgi:application",
            ],
            cwd=processes.ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            processes.stop(self.proc)
            self.proc = None


def server_env(**extra: str) -> dict[str, str]:
    """A child environment with the test database and the in-memory channel layer."""
    env = processes.child_env(**extra)
    # One process, so the in-memory layer is enough; never reach for a developer's Redis.
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


@pytest.fixture
def server_with(transactional_db, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start daphne with extra settings in its environment (`INGEST_BUSY_ITEMS="1"`)."""
    started: list[Server] = []

    def start(**settings: str) -> Server:
        running = Server(server_env(MAP_CACHE_DIR=str(tmp_path / "no-map"), **settings))
        started.append(running)
        running.start()
        return running

    try:
        yield start
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def server(transactional_db, tmp_path: Path) -> Iterator[Server]:
    """daphne serving the test database on a free port, stopped after the test."""
    running = Server(server_env(MAP_CACHE_DIR=str(tmp_path / "no-map")))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def token(paramedic) -> str:
    """A device token of the paramedic (crew of `unit`)."""
    from tests.factories import device_token

    return device_token(paramedic)
