"""Faults on purpose: killed servers, a restarted Redis, dropped sockets, killed workers.

The unit tests at the top check the outbox's rules in-process. The service tests start their
own processes (a private redis-server, daphne, Celery), break them while clients work, and
check the database afterwards: every item stored once, every screen equal to the event log,
every outbox task's side effect exactly once. Each prints its counts (visible with -s).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from ops.models import Heartbeat
from outbox import services as outbox
from outbox.models import OutboxTask
from realtime.models import DeviceItem, EventLog
from tests import factories
from tests.conftest import require_service
from tests.services import faults, processes

Status = OutboxTask.Status


def _say(capsys, text: str) -> None:
    # To stderr: a pytest-xdist worker's stdout is not shown, its stderr is.
    with capsys.disabled():
        print(text, file=sys.stderr, flush=True)


# --- the outbox, in-process -------------------------------------------------------------


@pytest.fixture
def calls(db):
    """A registered kind whose handler records its calls; `fail` makes the next ones fail."""
    state: dict = {"calls": [], "fail": 0, "error": outbox.OutboxError("boom")}

    def handler(task):
        state["calls"].append(task.key)
        if state["fail"]:
            state["fail"] -= 1
            raise state["error"]
        Heartbeat.objects.create(name=task.key, last_run_at=timezone.now(), runs=1)
        return {"ok": True}

    outbox.register_outbox_handler("test.calls", handler, lease_seconds=30, max_attempts=3)
    return state


def test_enqueueing_the_same_key_twice_is_a_no_op(calls, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = outbox.outbox_enqueue(kind="test.calls", key="k-1", payload={"a": 1})
        again = outbox.outbox_enqueue(kind="test.calls", key="k-1", payload={"a": 2})
    assert first.pk == again.pk
    assert OutboxTask.objects.filter(key="k-1").count() == 1
    assert len(callbacks) == 1
    assert first.lease_seconds == 30
    with pytest.raises(ValueError, match="already used"):
        outbox.outbox_enqueue(kind="other", key="k-1", payload={})


def test_after_commit_the_task_runs_once_and_is_done(calls, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        task = outbox.outbox_enqueue(kind="test.calls", key="k-2", payload={})
    task.refresh_from_db()
    assert task.status == Status.DONE
    assert task.result == {"ok": True}
    assert calls["calls"] == ["k-2"]
    assert outbox.outbox_task_run(task.pk) == "busy"
    assert calls["calls"] == ["k-2"]


def test_a_failing_handler_is_retried_with_back_off_and_keeps_no_message_text(calls):
    task = outbox.outbox_enqueue(kind="test.calls", key="k-3", payload={})
    calls["fail"] = 1
    calls["error"] = ValueError("patient Jane Doe, 1970-01-01")
    assert outbox.outbox_task_run(task.pk) == "retry"
    task.refresh_from_db()
    assert task.status == Status.PENDING
    assert task.attempts == 1
    assert task.last_error == "ValueError"
    assert task.next_attempt_at > timezone.now()
    assert not Heartbeat.objects.filter(name="k-3").exists()
    assert outbox.outbox_task_run(task.pk) == "busy"  # still in its back-off
    OutboxTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
    assert outbox.outbox_task_run(task.pk) == "done"
    task.refresh_from_db()
    assert (task.status, task.attempts, task.last_error) == (Status.DONE, 2, "")
    assert Heartbeat.objects.filter(name="k-3").count() == 1


def test_a_task_fails_for_good_after_max_attempts(calls):
    task = outbox.outbox_enqueue(kind="test.calls", key="k-4", payload={})
    calls["fail"] = 5
    for expected in ("retry", "retry", "failed"):
        OutboxTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
        assert outbox.outbox_task_run(task.pk) == expected
    task.refresh_from_db()
    assert (task.status, task.attempts, task.last_error) == (Status.FAILED, 3, "OutboxError: boom")


def test_the_sweeper_sends_lost_messages_and_expired_claims_again(calls, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(
        outbox, "outbox_publish", lambda task_id, countdown=None: sent.append(task_id)
    )
    lost = outbox.outbox_enqueue(kind="test.calls", key="k-5", payload={})
    fresh = outbox.outbox_enqueue(kind="test.calls", key="k-6", payload={})
    dead = outbox.outbox_enqueue(kind="test.calls", key="k-7", payload={})
    past = timezone.now() - timedelta(seconds=1)
    OutboxTask.objects.filter(pk=lost.pk).update(resend_after=past)
    # Claimed by a worker that died: its lease ran out.
    OutboxTask.objects.filter(pk=dead.pk).update(
        status=Status.CLAIMED, claimed_by="dead", attempts=1, lease_expires_at=past
    )
    swept = _sweep_and_commit()
    assert swept == 2
    assert sorted(sent) == sorted([lost.pk, dead.pk])
    assert fresh.pk not in sent
    assert _sweep_and_commit() == 0  # taken once: resend_after moved on
    dead.refresh_from_db()
    assert (dead.status, dead.claimed_by) == (Status.PENDING, "")
    assert outbox.outbox_task_run(dead.pk) == "done"
    assert calls["calls"] == ["k-7"]


def _sweep_and_commit() -> int:
    """Sweep and run its after-commit sends (the test's transaction never commits)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return outbox.outbox_sweep()


def test_a_claim_with_a_live_lease_is_not_run_again(calls, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(
        outbox, "outbox_publish", lambda task_id, countdown=None: sent.append(task_id)
    )
    task = outbox.outbox_enqueue(kind="test.calls", key="k-8", payload={})
    OutboxTask.objects.filter(pk=task.pk).update(
        status=Status.CLAIMED,
        claimed_by="alive",
        attempts=1,
        lease_expires_at=timezone.now() + timedelta(seconds=30),
        resend_after=timezone.now() - timedelta(seconds=1),
    )
    assert outbox.outbox_task_run(task.pk) == "busy"
    assert _sweep_and_commit() == 0
    assert calls["calls"] == []
    assert sent == []


def test_a_runner_whose_lease_was_taken_over_commits_nothing(calls):
    task = outbox.outbox_enqueue(kind="test.calls", key="k-9", payload={})

    def slow_then_stolen(t):
        # While this runner works, its lease runs out and another runner claims the row.
        OutboxTask.objects.filter(pk=t.pk).update(claimed_by="someone-else")
        Heartbeat.objects.create(name=t.key, last_run_at=timezone.now(), runs=1)

    outbox.register_outbox_handler("test.stolen", slow_then_stolen)
    OutboxTask.objects.filter(pk=task.pk).update(kind="test.stolen")
    assert outbox.outbox_task_run(task.pk) == "lost"
    assert not Heartbeat.objects.filter(name="k-9").exists()


# --- service tests ----------------------------------------------------------------------


@pytest.fixture
def private_redis(db):
    require_service("Redis (redis-server binary)", "redis://127.0.0.1:6379/0")
    redis = faults.RedisServer()
    redis.start()
    yield redis
    redis.stop()


def _crew_with_token(centre, index: int):
    from tests.factories import device_token

    unit = factories.UnitFactory(home_station=factories.StationFactory(centre=centre))
    crew: Any = factories.CrewFactory(unit=unit)
    return unit, device_token(crew)


# Enough tablets that each stays near DEVICE_RATE_PER_S (50/s) at the rate asked for
# (1,000 items/s at least), and enough items that the faults land while they stream.
TABLETS = 40
PER_TABLET = 1_000
ITEMS = TABLETS * PER_TABLET
DROPS = 25
MIN_ITEMS_PER_S = 1_000


async def _off_loop(query):
    """An ORM read from async code (Django refuses it on the event loop)."""
    from django.db import connections

    def run():
        try:
            return query()
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


async def _poll(predicate, timeout_s: float) -> bool:
    """Wait until `predicate()` is true, at most `timeout_s`; returns whether it became so."""
    for _ in range(int(timeout_s / 0.1)):
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return bool(predicate())


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(280)
def test_tablet_items_are_stored_exactly_once_through_faults(
    private_redis, centre, tmp_path, capsys
):
    from django.test import Client

    from device_client.client import DeviceClient
    from dispatch.events import centre_group
    from dispatch.models import Unit, UnitPosition
    from realtime.events import stream_head
    from scripts.scale import RoundRobinProxy

    # Each process queues at most 8,000 items: the tablets' first burst (20,000 a process)
    # does not fit, so part of it is answered `retry` and sent again, through the faults too.
    env = processes.child_env(
        REDIS_URL=private_redis.url(0), CHANNEL_PREFIX="faults1", INGEST_MAX_QUEUED_ITEMS="8000"
    )
    tablets = [_crew_with_token(centre, i) for i in range(TABLETS)]
    stream = centre_group(centre.pk)
    cookies = []
    for _ in range(3):
        web = Client()
        dispatcher: Any = factories.DispatcherFactory(dispatch_centre=centre)
        web.force_login(dispatcher)
        cookies.append(f"sessionid={web.cookies['sessionid'].value}")
    servers = [faults.Daphne(env), faults.Daphne(env)]
    started = time.monotonic()
    base_time = timezone.now() - timedelta(hours=1)
    clients: list[DeviceClient] = []
    screens: list[faults.ScreenClient] = []
    counts: dict = {"drops": 0}

    def fix(index: int, k: int) -> dict:
        return {
            "lat": 60.16 + k * 1e-5,
            "lon": 24.93 + index * 1e-3,
            "recorded_at": (base_time + timedelta(seconds=k * 0.1)).isoformat(),
            "speed_mps": 10.0,
            "fix_id": f"fix-{index}-{k}",
        }

    async def scenario() -> None:
        proxy = RoundRobinProxy([("127.0.0.1", s.port) for s in servers])
        await proxy.start()
        for name, cookie in zip(["board-0", "board-1", "board-slow"], cookies, strict=True):
            screens.append(
                faults.ScreenClient(
                    name,
                    f"127.0.0.1:{proxy.port}",
                    cookie,
                    resync_every_s=1.0,
                    # Reads slower than its frames come and says what it applied: the server
                    # holds it back and merges its position events (seq_from..seq).
                    read_delay_s=0.15 if name == "board-slow" else 0.0,
                    report_seen=True,
                )
            )
        screen_runs = [asyncio.create_task(screen.run()) for screen in screens]
        assert await _poll(lambda: all(s.last_seq is not None for s in screens), 30)
        enqueueing = time.monotonic()
        for index, (_unit, token) in enumerate(tablets):
            client = DeviceClient(
                f"http://127.0.0.1:{proxy.port}",
                token,
                f"tablet-{index}",
                tmp_path / f"tablet-{index}.sqlite",
                backoff_initial_s=0.1,
                backoff_max_s=1.0,
                resync_interval_s=None,
            )
            client.enqueue_many([("position", fix(index, k)) for k in range(PER_TABLET)])
            clients.append(client)
        counts["enqueued_s"] = round(time.monotonic() - enqueueing, 1)
        rng = random.Random(7)
        # Faults fire at fractions of the items acknowledged, so they land mid-stream on a
        # fast or a slow machine alike (the restart of daphne takes seconds: the next fault
        # waits for it).
        plan = [(0.05 + 0.9 * i / DROPS, "drop") for i in range(DROPS)]
        plan += [(0.20, "kill-daphne"), (0.30, "restart-daphne"), (0.55, "restart-redis")]
        plan.sort()
        sending = time.monotonic()
        for client in clients:
            client.start()
        deadline = time.monotonic() + 200
        try:
            while time.monotonic() < deadline:
                acked = sum(c.stats.acked for c in clients)
                while plan and acked >= plan[0][0] * ITEMS:
                    _, what = plan.pop(0)
                    if what == "drop":
                        await rng.choice(clients).drop_connection(abort=counts["drops"] % 2 == 0)
                        counts["drops"] += 1
                    elif what == "kill-daphne":
                        await asyncio.to_thread(servers[1].kill)
                        counts["killed_at"] = acked
                    elif what == "restart-daphne":
                        await asyncio.to_thread(servers[1].start)
                        counts["daphne_back_at"] = sum(c.stats.acked for c in clients)
                    elif what == "restart-redis":
                        await asyncio.to_thread(private_redis.restart)
                        counts["redis_restarted_at"] = acked
                    acked = sum(c.stats.acked for c in clients)
                if not plan and all(c.pending_count() == 0 for c in clients):
                    break
                await asyncio.sleep(0.05)
            counts["sending_s"] = time.monotonic() - sending
            counts["delivered_s"] = round(time.monotonic() - started, 1)
            counts["pending"] = sum(c.pending_count() for c in clients)
            counts["rejected"] = sum(len(c.rejected()) for c in clients)
            # Every screen reaches the stream's head (the last position event) by itself.
            head = await _off_loop(lambda: stream_head(stream))
            counts["head"] = head
            await _poll(lambda: all(s.last_seq == head for s in screens), 60)
            counts["converged_s"] = round(time.monotonic() - started, 1)
        finally:
            counts["proxy_connections"] = proxy.connections
            counts["proxy_refused"] = proxy.refused
            for client in clients:
                await client.close()
            for screen in screens:
                screen.stop()
            for run in screen_runs:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(run, 10)
            await proxy.close()

    try:
        for server in servers:
            server.start()
        asyncio.run(scenario())
    finally:
        for server in servers:
            server.stop()
    elapsed = time.monotonic() - started
    device_ids = [f"tablet-{i}" for i in range(TABLETS)]
    unit_ids = [unit.pk for unit, _ in tablets]
    positions = UnitPosition.objects.filter(unit__in=unit_ids)
    stored = positions.count()
    distinct = len(set(positions.values_list("unit_id", "client_id")))
    items = DeviceItem.objects.filter(device_id__in=device_ids)
    sent = sum(c.stats.sent for c in clients)
    rate = ITEMS / counts["sending_s"]
    lines = [
        f"\n[faults/tablets] {TABLETS} tablets, {ITEMS} position items: all acknowledged "
        f"{counts['sending_s']:.1f} s after they started sending, {rate:.0f} items/s "
        f"(enqueue {counts['enqueued_s']} s, test {elapsed:.1f} s): sent {sent} in "
        f"{sum(c.stats.frames for c in clients)} frames (resent {sent - ITEMS}), "
        f"acked {sum(c.stats.acked for c in clients)}, "
        f"retry answers {sum(c.stats.retried for c in clients)}, "
        f"backoffs {sum(c.stats.backoffs for c in clients)}, "
        f"connects {sum(c.stats.connects for c in clients)}, forced drops {counts['drops']}, "
        f"daphne SIGKILLed at {counts.get('killed_at')} acked (back at "
        f"{counts.get('daphne_back_at')}), Redis restarted at "
        f"{counts.get('redis_restarted_at')} acked, proxy connections "
        f"{counts['proxy_connections']} (backend refusals {counts['proxy_refused']}); "
        f"UnitPosition rows {stored} (distinct {distinct}), DeviceItem rows {items.count()}, "
        f"still pending {counts['pending']}, rejected {counts['rejected']}; "
        f"screens at the head (seq {counts['head']}) after {counts['converged_s']} s"
    ]
    for s in screens:
        lines.append(
            f"  {s.name:10} last_seq {s.last_seq} frames {s.stats.frames} (batches "
            f"{s.stats.batches}) applied {len(s.applied)} (merged {s.stats.merged}) connects "
            f"{s.stats.connects} gaps {s.stats.gaps} resyncs {s.stats.resyncs} snapshots "
            f"{s.stats.snapshots} repeats dropped {s.stats.repeats_dropped}"
        )
    _say(capsys, "\n".join(lines))
    assert counts["drops"] >= 20
    assert servers[1].kills == 1
    assert private_redis.restarts == 1
    # The faults struck while items were still streaming in.
    assert counts["redis_restarted_at"] < 0.9 * ITEMS
    assert sum(c.stats.retried for c in clients) > 0
    assert counts["pending"] == 0
    assert counts["rejected"] == 0
    assert stored == ITEMS
    assert distinct == ITEMS
    assert set(positions.values_list("client_id", flat=True)) == {
        f"fix-{i}-{k}" for i in range(TABLETS) for k in range(PER_TABLET)
    }
    assert items.count() == ITEMS
    assert items.filter(accepted=True).count() == ITEMS
    # Each unit stands at its newest fix, and every screen shows exactly that.
    db_units = {
        u["pk"]: u
        for u in Unit.objects.filter(pk__in=unit_ids).values(
            "pk", "last_lat", "last_lon", "last_fix_at"
        )
    }
    for index, unit_id in enumerate(unit_ids):
        newest = fix(index, PER_TABLET - 1)
        assert (db_units[unit_id]["last_lat"], db_units[unit_id]["last_lon"]) == (
            newest["lat"],
            newest["lon"],
        )
    for screen in screens:
        assert screen.last_seq == counts["head"], screen.name
        shown = {
            unit_id: (
                screen.units[unit_id]["lat"],
                screen.units[unit_id]["lon"],
                datetime.fromisoformat(screen.units[unit_id]["last_fix_at"]),
            )
            for unit_id in unit_ids
        }
        assert shown == {
            unit_id: (u["last_lat"], u["last_lon"], u["last_fix_at"])
            for unit_id, u in db_units.items()
        }, screen.name
    assert rate >= MIN_ITEMS_PER_S


EVENTS = 5_000
BATCH = 25


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(280)
def test_screens_equal_the_event_log_through_faults(private_redis, centre, settings, capsys):
    from django.test import Client

    from dispatch.events import centre_group
    from realtime.events import event_record
    from scripts.scale import RoundRobinProxy

    prefix = "faults2"
    capacity = 20
    # Every catch-up must be a replay, so that each screen applies every event one by one
    # and can be compared with the log: a screen offline through the Redis restart and its
    # reconnect back-off can fall more than the default 500 events behind, which is
    # correctly answered with a snapshot (test_events.py), and how far behind depends on
    # how fast this machine writes the events.
    env = processes.child_env(
        REDIS_URL=private_redis.url(0),
        CHANNEL_PREFIX=prefix,
        CHANNEL_CAPACITY=str(capacity),
        EVENT_REPLAY_LIMIT=str(EVENTS),
    )
    # This process writes the events; its broadcasts go through the same Redis as the servers.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [private_redis.url(0)],
                "prefix": prefix,
                "capacity": capacity,
                "expiry": 30,
            },
        }
    }
    stream = centre_group(centre.pk)
    cookies = []
    for _ in range(7):
        web = Client()
        dispatcher: Any = factories.DispatcherFactory(dispatch_centre=centre)
        web.force_login(dispatcher)
        cookies.append(f"sessionid={web.cookies['sessionid'].value}")
    servers = [faults.Daphne(env), faults.Daphne(env)]
    loop = faults.LoopThread()
    started = time.monotonic()
    counts: dict[str, float] = {"drops": 0}
    screens: list[faults.ScreenClient] = []
    try:
        for server in servers:
            server.start()
        proxy = RoundRobinProxy([("127.0.0.1", s.port) for s in servers])
        proxy_port = loop.run(proxy.start())
        names = [f"ed-{i}" for i in range(5)] + ["dispatcher-0", "dispatcher-1"]
        for name, cookie in zip(names, cookies, strict=True):
            screens.append(
                faults.ScreenClient(
                    name,
                    f"127.0.0.1:{proxy_port}",
                    cookie,
                    # One reader that cannot keep up: its channel fills past CHANNEL_CAPACITY.
                    read_delay_s=0.004 if name == "ed-4" else 0.0,
                    resync_every_s=1.0,
                )
            )
        runs = [loop.submit(screen.run()) for screen in screens]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(s.last_seq == 0 for s in screens):
            time.sleep(0.1)
        assert all(s.last_seq == 0 for s in screens), [s.stats for s in screens]
        rng = random.Random(11)
        n = 0
        for batch in range(EVENTS // BATCH):
            # A batch commits together, so its broadcasts leave in a burst.
            with transaction.atomic():
                for _ in range(BATCH):
                    n += 1
                    event_record(stream=stream, event_type="test.tick", data={"n": n})
            if batch % 10 == 5:
                for screen in rng.sample(screens, 2):
                    loop.submit(screen.drop())
                    counts["drops"] += 2
            if batch == EVENTS // BATCH // 2:
                private_redis.restart()
            time.sleep(0.005)
        counts["generated_s"] = round(time.monotonic() - started, 1)
        head = EventLog.objects.filter(stream=stream).count()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(s.last_seq == head for s in screens):
            time.sleep(0.2)
        counts["converged_s"] = round(time.monotonic() - started, 1)
        for screen in screens:
            loop.call(screen.stop)
        for run in runs:
            run.result(15)
        loop.run(proxy.close())
    finally:
        for server in servers:
            server.stop()
        loop.close()
    logged = dict(
        EventLog.objects.filter(stream=stream).values_list("seq", "data__n").order_by("seq")
    )
    lines = [
        f"\n[faults/screens] {EVENTS} events in {counts['generated_s']} s, all screens at the "
        f"head after {counts['converged_s']} s; Redis restarts {private_redis.restarts}, "
        f"forced drops {counts['drops']}, CHANNEL_CAPACITY {capacity}"
    ]
    for s in screens:
        lines.append(
            f"  {s.name:13} last_seq {s.last_seq} frames {s.stats.frames} (batches "
            f"{s.stats.batches}) applied {len(s.applied)} connects "
            f"{s.stats.connects} gaps {s.stats.gaps} resyncs {s.stats.resyncs} snapshots "
            f"{s.stats.snapshots} (covering {s.stats.snapshot_covered}) repeats dropped "
            f"{s.stats.repeats_dropped} applied twice {s.stats.applied_twice}"
        )
    _say(capsys, "\n".join(lines))
    assert len(logged) == EVENTS
    assert set(logged) == set(range(1, EVENTS + 1))
    for s in screens:
        assert s.last_seq == EVENTS, s.name
        assert s.stats.applied_twice == 0, s.name
        assert s.stats.snapshot_covered == 0, s.name
        assert {seq: data["n"] for seq, data in s.applied.items()} == logged, s.name


OUTBOX_TASKS = 1_000


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(280)
def test_outbox_side_effects_happen_once_while_workers_are_killed(
    private_redis, tmp_path, monkeypatch, capsys
):
    from celery import Celery

    from scripts.scale import beat_command, spawn

    broker = private_redis.url(1)
    env = processes.child_env(REDIS_URL=private_redis.url(0), CELERY_BROKER_URL=broker)
    faults.register_test_outbox_handler()
    sender = Celery(broker=broker)

    def publish(task_id: int, countdown: float | None = None) -> None:
        sender.send_task("outbox.tasks.outbox_run", args=[task_id], countdown=countdown)

    # This process is in eager mode (no broker in its settings): send to the test's broker.
    monkeypatch.setattr(outbox, "outbox_publish", publish)
    workers = [faults.Worker(env, f"faults-w{i}", concurrency=1) for i in range(2)]
    beat = None
    run_id = uuid.uuid4().hex[:8]
    keys = [f"ob-{run_id}-{i}" for i in range(OUTBOX_TASKS)]
    started = time.monotonic()
    kills = 0
    try:
        for worker in workers:
            worker.start()
        beat = spawn(
            "celery-beat",
            beat_command(tmp_path / "beat-schedule", app="tests.services.faults"),
            env,
            faults.LOG_DIR / "faults-beat.log",
        )
        done = OutboxTask.objects.filter(key__in=keys, status=Status.DONE)
        plan = [100, 250, 400, 550, 700]
        for start in range(0, OUTBOX_TASKS, 50):
            with transaction.atomic():
                for key in keys[start : start + 50]:
                    outbox.outbox_enqueue(kind=faults.TEST_OUTBOX_KIND, key=key, payload={})
            # Every key again: a no-op.
            with transaction.atomic():
                for key in keys[start : start + 50]:
                    outbox.outbox_enqueue(kind=faults.TEST_OUTBOX_KIND, key=key, payload={})
        counts_enqueued_s = round(time.monotonic() - started, 1)
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline:
            finished = done.count()
            if plan and finished >= plan[0]:
                plan.pop(0)
                victim = workers[kills % 2]
                victim.kill()
                kills += 1
                time.sleep(0.5)
                victim.start()
            if finished == OUTBOX_TASKS:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        if beat is not None:
            beat.stop()
        for worker in workers:
            worker.stop()
    tasks = OutboxTask.objects.filter(key__in=keys)
    beats = Heartbeat.objects.filter(name__in=keys)
    rerun = tasks.filter(attempts__gt=1).count()
    attempts = sum(tasks.values_list("attempts", flat=True))
    _say(
        capsys,
        f"\n[faults/outbox] {OUTBOX_TASKS} tasks (each enqueued twice) in {elapsed:.1f} s "
        f"(enqueue {counts_enqueued_s} s); worker SIGKILLs {kills}; rows {tasks.count()}, done "
        f"{tasks.filter(status=Status.DONE).count()}, claimed again after a kill {rerun}, "
        f"attempts {attempts}; side effects {beats.count()} rows, runs>1: "
        f"{beats.filter(runs__gt=1).count()}",
    )
    assert kills >= 3
    assert tasks.count() == OUTBOX_TASKS
    assert tasks.filter(status=Status.DONE).count() == OUTBOX_TASKS
    assert beats.count() == OUTBOX_TASKS
    assert not beats.filter(runs__gt=1).exists()
