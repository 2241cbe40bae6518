"""Two processes' ticks at once on PostgreSQL: a claim held by one tick makes the other wait
and answer as it did; a unit's row locked by one tick is moved by the other only forward.

SQLite has one writer at a time, so only PostgreSQL can show the waits (config.sql's
PostgreSQL branch). CI runs the `services` tests with DATABASE_URL on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from dispatch import events
from dispatch.models import Unit, UnitPosition
from realtime import ingest
from realtime.ingest import TickResult, tick_run
from realtime.models import DeviceItem, EventLog
from tests.realtime.conftest import ago, position
from tests.realtime.test_ingest import submission

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL only (DATABASE_URL=postgres://...)")


def _lock_waiters() -> int:
    """Backends of this database waiting for a lock another transaction holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def _race(
    monkeypatch: Any, first: Callable[[], TickResult], second: Callable[[], TickResult]
) -> tuple[TickResult, TickResult]:
    """Run `first` until its tick has applied its items (holding its locks), then `second`;
    once `second` is seen waiting for a lock, let `first` commit. Returns both results."""
    applied, release = threading.Event(), threading.Event()
    real_finalize = ingest._finalize

    def finalize(entries: Any) -> None:
        if threading.current_thread().name == "first":
            applied.set()
            assert release.wait(20), "the second tick never waited"
        real_finalize(entries)

    monkeypatch.setattr(ingest, "_finalize", finalize)
    results: dict[str, TickResult] = {}
    errors: list[BaseException] = []

    def run(name: str, work: Callable[[], TickResult]) -> None:
        try:
            results[name] = work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = {
        name: threading.Thread(target=run, args=(name, work), name=name)
        for name, work in (("first", first), ("second", second))
    }
    threads["first"].start()
    assert applied.wait(20)
    threads["second"].start()
    deadline = time.monotonic() + 20
    while _lock_waiters() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    waited = _lock_waiters() > 0
    release.set()
    for thread in threads.values():
        thread.join(30)
    assert errors == []
    assert waited, "the second tick did not wait for the first one's locks"
    return results["first"], results["second"]


def test_an_item_claimed_by_a_running_tick_is_answered_as_that_tick_answers_it(
    paramedic, monkeypatch
):
    shared = position("p1", 1, at=ago(30), lat=60.111)
    first, second = _race(
        monkeypatch,
        lambda: tick_run([submission(paramedic, [shared, position("p2", 2, at=ago(20))])]),
        lambda: tick_run([submission(paramedic, [shared, position("p3", 3, at=ago(10))])]),
    )
    assert (first.mode, second.mode) == ("tick", "tick")
    assert first.answers[0][0] == second.answers[0][0] == {"type": "ack", "id": "p1", "seq": 1}
    assert second.answers[0][1]["type"] == "ack"
    assert sorted(UnitPosition.objects.values_list("client_id", flat=True)) == ["p1", "p2", "p3"]
    assert sorted(DeviceItem.objects.values_list("client_id", flat=True)) == ["p1", "p2", "p3"]


def test_an_older_fix_of_a_tick_waiting_on_the_units_lock_does_not_move_it_back(
    crew_of, centre, monkeypatch
):
    a, b = crew_of(), crew_of()
    newest, older = ago(10), ago(40)
    first, second = _race(
        monkeypatch,
        lambda: tick_run(
            [
                submission(a, [position("a-new", 1, at=newest, lat=60.101)], device_id="tab-a"),
                submission(b, [position("b-1", 1, at=older, lat=60.201)], device_id="tab-b"),
            ]
        ),
        # Started before the first commits; its fix of `a` is older than the first's.
        lambda: tick_run(
            [
                submission(b, [position("b-2", 2, at=newest, lat=60.202)], device_id="tab-b"),
                submission(a, [position("a-old", 2, at=older, lat=60.999)], device_id="tab-a"),
            ]
        ),
    )
    assert (first.mode, second.mode) == ("tick", "tick")
    assert Unit.objects.get(pk=a.unit_id).last_lat == pytest.approx(60.101)
    assert Unit.objects.get(pk=b.unit_id).last_lat == pytest.approx(60.202)
    assert UnitPosition.objects.count() == 4
    moved = EventLog.objects.filter(
        stream=events.centre_group(centre.pk), type=events.UNITS_MOVED
    ).order_by("seq")
    assert [(e.seq, sorted(u["id"] for u in e.data["units"])) for e in moved] == [
        (1, sorted([a.unit_id, b.unit_id])),
        (2, [b.unit_id]),
    ]
