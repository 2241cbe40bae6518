"""Reading a screen's socket in tests: frames may be batches of events (realtime.fanout)."""

from __future__ import annotations

from typing import Any


async def receive_message(communicator: Any, wait_s: float = 5) -> dict[str, Any]:
    """The next message, with a batch frame taken apart into its events in order."""
    pending = communicator.__dict__.setdefault("_unpacked", [])
    if not pending:
        frame = await communicator.receive_json_from(timeout=wait_s)
        pending.extend(frame["events"] if frame.get("type") == "batch" else [frame])
    return pending.pop(0)  # type: ignore[no-any-return]


async def next_of(
    communicator: Any, event_type: str, seen: list[str] | None = None
) -> dict[str, Any]:
    """The next message of a type; the types skipped on the way are appended to `seen`."""
    for _ in range(40):
        message = await receive_message(communicator)
        if message["type"] == event_type:
            return message
        if seen is not None:
            seen.append(message["type"])
    raise AssertionError(f"no {event_type}")
