"""The replay limit: how far behind a screen may be and still get the events one by one."""

from __future__ import annotations

import pytest

from realtime.events import event_record, events_since

pytestmark = pytest.mark.django_db


def _record(count: int) -> None:
    for n in range(count):
        event_record(stream="centre-test", event_type="test.tick", data={"n": n})


def test_a_screen_within_the_limit_gets_the_missed_events_in_order(settings):
    settings.EVENT_REPLAY_LIMIT = 3
    _record(5)
    replay = events_since(stream="centre-test", since=2)
    assert replay.head == 5
    assert replay.events is not None
    assert [e["seq"] for e in replay.events] == [3, 4, 5]


def test_a_screen_past_the_limit_gets_a_snapshot_instead(settings):
    settings.EVENT_REPLAY_LIMIT = 3
    _record(5)
    replay = events_since(stream="centre-test", since=1)
    assert replay.head == 5
    assert replay.events is None


def test_a_screen_ahead_of_the_head_gets_a_snapshot(settings):
    _record(2)
    assert events_since(stream="centre-test", since=7).events is None
