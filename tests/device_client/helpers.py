"""What the device client tests share: items, bounded waits, a client, and a tap on the wire."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from websockets.asyncio.client import ClientConnection

from device_client import DeviceClient

# Every wait in these tests is bounded; a hang fails the test instead of the session.
WAIT_S = 20.0


def fix(n: int, **override: Any) -> dict[str, Any]:
    """The data of a valid `position` item."""
    data: dict[str, Any] = {
        "lat": 60.1700 + n * 1e-5,
        "lon": 24.9450,
        "recorded_at": datetime.now(UTC).isoformat(),
        "heading": 90.0,
        "speed_mps": 10.0,
        "accuracy_m": 5.0,
        "fix_id": f"fix-{n}",
    }
    data.update(override)
    return data


async def read_db(query: Callable[[], Any]) -> Any:
    """Run an ORM read off the event loop (Django refuses ORM calls inside it)."""

    def run() -> Any:
        try:
            return query()
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


async def until(predicate: Callable[[], Any], what: str) -> None:
    """Poll a database predicate until true, within WAIT_S."""
    for _ in range(int(WAIT_S / 0.05)):
        if await read_db(predicate):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"not {what} within {WAIT_S} s")


def make_client(
    server: Any, token: str, tmp_path: Path, device_id: str = "tab-1", **options: Any
) -> DeviceClient:
    options.setdefault("backoff_initial_s", 0.1)
    options.setdefault("backoff_max_s", 1.0)
    return DeviceClient(server.base_url, token, device_id, tmp_path / "outbox.sqlite3", **options)


@dataclass
class Wire:
    """Every frame the client sent and every message it handled, with monotonic times."""

    sent: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def item_frames(self) -> list[tuple[float, dict[str, Any]]]:
        """The frames that carried items (a batch, or one item alone)."""
        return [(t, f) for t, f in self.sent if f.get("type") == "batch" or "seq" in f]

    def of_type(self, kind: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, m) for t, m in self.received if m.get("type") == kind]

    def answers(self) -> list[tuple[float, dict[str, Any]]]:
        """Each item's answer in the order they came, unpacked from `answers` frames."""
        out: list[tuple[float, dict[str, Any]]] = []
        for t, message in self.received:
            if message.get("type") == "answers":
                out += [(t, answer) for answer in message["answers"]]
            elif message.get("type") in {"ack", "reject", "retry"}:
                out.append((t, message))
        return out


def items_of(frame: dict[str, Any]) -> list[dict[str, Any]]:
    return list(frame["items"]) if frame.get("type") == "batch" else [frame]


def tap(client: DeviceClient, monkeypatch: pytest.MonkeyPatch) -> Wire:
    """Record what `client` sends (every connection of this process) and what it handles."""
    wire = Wire()
    send = ClientConnection.send

    async def noting_send(self: ClientConnection, message: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(message, str):
            wire.sent.append((time.monotonic(), json.loads(message)))
        await send(self, message, *args, **kwargs)

    monkeypatch.setattr(ClientConnection, "send", noting_send)
    handle = client._handle

    async def noting_handle(ws: Any, message: dict[str, Any]) -> None:
        wire.received.append((time.monotonic(), message))
        await handle(ws, message)

    client._handle = noting_handle  # type: ignore[method-assign]
    return wire
