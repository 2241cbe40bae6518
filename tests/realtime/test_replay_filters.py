"""A screen's replay passes through the filters the apps registered, in order."""

from __future__ import annotations

from typing import Any

from handoff.access import replay_visible
from realtime import consumers
from realtime.consumers import ScreenConsumer


def test_handoff_registers_its_replay_filter_when_the_app_is_ready() -> None:
    # Registered in HandoffConfig.ready, so every process that serves sockets has it.
    assert replay_visible in consumers._REPLAY_FILTERS


def test_replayable_applies_every_registered_filter_in_order(monkeypatch) -> None:
    seen: list[tuple[str, Any]] = []

    def first(user: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen.append(("first", user))
        return [e for e in events if e["seq"] != 2]

    def second(user: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen.append(("second", [e["seq"] for e in events]))
        return [*events, {"seq": 9}]

    monkeypatch.setattr(consumers, "_REPLAY_FILTERS", [])
    consumers.register_replay_filter(first)
    consumers.register_replay_filter(second)
    consumers.register_replay_filter(first)  # a second registration is ignored
    consumer = ScreenConsumer()
    consumer.scope = {"user": "u"}
    events = [{"seq": 1}, {"seq": 2}, {"seq": 3}]
    assert consumer.replayable(events) == [{"seq": 1}, {"seq": 3}, {"seq": 9}]
    assert seen == [("first", "u"), ("second", [1, 3])]
