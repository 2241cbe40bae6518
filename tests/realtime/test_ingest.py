"""The ingest tick (realtime.ingest): positions of many units in one statement set and one
event per centre, vitals in a batch equal to vitals one by one, the fallbacks of a failing
tick, and the REST batch on the same code."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import DatabaseError, OperationalError
from django.test import Client
from django.utils.dateparse import parse_datetime

from audit.context import SYSTEM
from audit.models import AuditEvent
from dispatch import events, services
from dispatch.devices import CREW_ITEM_TYPES
from dispatch.models import Unit, UnitPosition
from handoff.models import VitalsSet
from realtime.ingest import Submission, get_ingestor, tick_run
from realtime.models import DeviceItem, EventLog
from tests import factories
from tests.realtime.conftest import (
    ago,
    answers_frame,
    connect,
    frames,
    position,
    tablet,
    vitals,
)
from tests.sockets import next_of

pytestmark = pytest.mark.django_db(transaction=True)

HELSINKI_SUMMER = dt.timezone(dt.timedelta(hours=3))


def moved_events(centre_id: int) -> list[dict[str, Any]]:
    rows = EventLog.objects.filter(
        stream=events.centre_group(centre_id), type=events.UNITS_MOVED
    ).order_by("seq")
    return [row.envelope() for row in rows]


async def _no_reply(answers: list[dict[str, Any]]) -> None:
    raise AssertionError("tick_run answers through its result, not the reply")


def submission(user: Any, items: list[Any], *, device_id: str = "tab-1", types=None) -> Submission:
    return Submission(
        user=user,
        device_id=device_id,
        items=items,
        types=types or CREW_ITEM_TYPES,
        reply=_no_reply,
        context=SYSTEM,
    )


# --- positions ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_one_tick_of_many_units_moves_them_in_one_event_per_centre(
    centre, crew_of, dispatcher, settings
):
    # A group window long enough that every tablet's frame joins the same tick.
    settings.INGEST_TICK_MS = 400
    make = database_sync_to_async(crew_of)
    crews = [await make() for _ in range(3)]
    elsewhere = await make(await database_sync_to_async(factories.DispatchCentreFactory)())
    console = await connect(dispatcher, "/ws/dispatch/")
    assert (await console.receive_json_from())["type"] == "dispatch.board.snapshot"
    tablets = [await tablet(crew, f"tab-{n}") for n, crew in enumerate([*crews, elsewhere])]
    newest, older = ago(20), ago(60)
    sent = [
        # The newer fix first, the older one after it in the same frame: the newer wins.
        [position("a-new", 1, at=newest, lat=60.101), position("a-old", 2, at=older, lat=60.9)],
        [position("b-1", 1, at=older, lat=60.102)],
        [position("c-1", 1, at=newest, lat=60.103)],
        [position("d-1", 1, at=newest, lat=60.104)],
    ]
    for device, items in zip(tablets, sent, strict=True):
        await device.send_json_to({"type": "batch", "items": items})
    for device, items in zip(tablets, sent, strict=True):
        assert [a["type"] for a in await answers_frame(device)] == ["ack"] * len(items)
    assert get_ingestor().stats.ticks == 1
    [moved] = await database_sync_to_async(moved_events)(centre.pk)
    by_unit = {u["id"]: u for u in moved["data"]["units"]}
    assert sorted(by_unit) == sorted(c.unit_id for c in crews)
    assert by_unit[crews[0].unit_id]["lat"] == pytest.approx(60.101)
    assert parse_datetime(by_unit[crews[0].unit_id]["last_fix_at"]) == newest
    [other] = await database_sync_to_async(moved_events)(elsewhere.unit.centre_id)
    assert [u["id"] for u in other["data"]["units"]] == [elsewhere.unit_id]
    # The console of the centre gets that one event, not one per unit.
    live = await next_of(console, events.UNITS_MOVED)
    assert live["seq"] == moved["seq"]
    assert sorted(u["id"] for u in live["data"]["units"]) == sorted(by_unit)
    assert [f for f in await frames(console) if f.get("type") == events.UNITS_MOVED] == []
    first = await Unit.objects.aget(pk=crews[0].unit_id)
    assert (first.last_lat, first.last_fix_at) == (pytest.approx(60.101), newest)
    assert await UnitPosition.objects.filter(unit_id=crews[0].unit_id).acount() == 2
    for device in [console, *tablets]:
        await device.disconnect()


def test_an_older_fix_in_a_later_tick_is_kept_in_the_track_but_does_not_move_the_unit(
    paramedic, centre
):
    newest, older = ago(10), ago(120)
    tick_run([submission(paramedic, [position("p1", 1, at=newest, lat=60.111)])])
    result = tick_run([submission(paramedic, [position("p0", 2, at=older, lat=60.999)])])
    assert result.answers == [[{"type": "ack", "id": "p0", "seq": 2}]]
    assert result.events == []
    unit = Unit.objects.get(pk=paramedic.unit_id)
    assert (unit.last_lat, unit.last_fix_at) == (pytest.approx(60.111), newest)
    track = UnitPosition.objects.filter(unit=unit).order_by("recorded_at")
    assert [p.client_id for p in track] == ["p0", "p1"]
    assert len(moved_events(centre.pk)) == 1


@pytest.mark.parametrize("via", ["tick", "rest"])
def test_an_older_fix_written_with_another_utc_offset_does_not_move_the_unit_back(
    paramedic, centre, via
):
    # A tablet in Helsinki may send local time (+03:00); the REST API hands the service times
    # in TIME_ZONE. The comparison must be of instants, not of how they were written.
    newest = ago(20).astimezone(dt.UTC)
    older = ago(600).astimezone(HELSINKI_SUMMER)
    tick_run([submission(paramedic, [position("p1", 1, at=newest, lat=60.111)])])
    if via == "tick":
        tick_run([submission(paramedic, [position("p0", 2, at=older, lat=60.999)])])
    else:
        client = Client()
        client.force_login(paramedic)
        body = {
            "device_id": "avl-1",
            "positions": [
                {"id": "p0", "lat": 60.999, "lon": 24.9, "recorded_at": older.isoformat()}
            ],
        }
        response = client.post(
            f"/api/v1/units/{paramedic.unit_id}/positions/", body, content_type="application/json"
        )
        assert response.json()["results"][0]["status"] == "stored"
    unit = Unit.objects.get(pk=paramedic.unit_id)
    assert unit.last_lat == pytest.approx(60.111)
    assert unit.last_fix_at == newest
    track = UnitPosition.objects.filter(unit=unit).order_by("recorded_at")
    assert [p.client_id for p in track] == ["p0", "p1"]
    assert len(moved_events(centre.pk)) == 1
    # The stale sweep reads the same column: a unit with a fresh fix is not stale.
    assert services.units_flag_stale() == 0


def test_the_rest_batch_gives_the_same_rows_and_event_as_the_device_tick(
    crew_of, centre, monkeypatch
):
    by_rest, by_device = crew_of(), crew_of()
    calls = []
    real = services.units_positions_record

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "units_positions_record", spy)
    fixes: list[dict[str, Any]] = [
        {"id": "f1", "lat": 60.171, "lon": 24.941, "at": ago(90), "heading": 90.0},
        {"id": "f2", "lat": 95.0, "lon": 24.942, "at": ago(60)},
        {"id": "f3", "lat": 60.173, "lon": 24.943, "at": ago(30), "speed_mps": 12.5},
        {"id": "f0", "lat": 60.170, "lon": 24.940, "at": ago(300)},
    ]
    client = Client()
    client.force_login(by_rest)
    body = {
        "device_id": "avl-1",
        "positions": [
            {
                "id": f["id"],
                "lat": f["lat"],
                "lon": f["lon"],
                "recorded_at": f["at"].isoformat(),
                **{k: f[k] for k in ("heading", "speed_mps") if k in f},
            }
            for f in fixes
        ],
    }
    response = client.post(
        f"/api/v1/units/{by_rest.unit_id}/positions/", body, content_type="application/json"
    )
    assert response.status_code == 200
    assert len(calls) == 1
    items = [
        position(
            f["id"],
            n,
            at=f["at"],
            lat=f["lat"],
            lon=f["lon"],
            **{k: f[k] for k in ("heading", "speed_mps") if k in f},
        )
        for n, f in enumerate(fixes, start=1)
    ]
    result = tick_run([submission(by_device, items, device_id="avl-1")])
    assert len(calls) == 2
    rest_status = [r["status"] for r in response.json()["results"]]
    assert rest_status == ["stored", "rejected", "stored", "stored"]
    assert [a["type"] for a in result.answers[0]] == ["ack", "reject", "ack", "ack"]
    assert response.json()["results"][1]["field"] == result.answers[0][1]["field"] == "lat"

    def track(user: Any) -> list[tuple[Any, ...]]:
        return list(
            UnitPosition.objects.filter(unit_id=user.unit_id)
            .order_by("recorded_at")
            .values_list("client_id", "lat", "lon", "heading", "speed_mps", "recorded_at")
        )

    def place(user: Any) -> tuple[Any, ...]:
        return (
            Unit.objects.filter(pk=user.unit_id)
            .values_list(
                "last_lat",
                "last_lon",
                "last_fix_at",
                "last_heading",
                "last_speed_mps",
                "position_stale",
            )
            .get()
        )

    assert track(by_rest) == track(by_device)
    assert [row[0] for row in track(by_rest)] == ["f0", "f1", "f3"]
    assert place(by_rest) == place(by_device)
    assert place(by_rest)[:3] == (60.173, 24.943, fixes[2]["at"])
    rest_event, device_event = moved_events(centre.pk)

    def moved(event: dict[str, Any]) -> dict[str, Any]:
        [unit] = event["data"]["units"]
        return {**unit, "id": None, "last_fix_at": parse_datetime(unit["last_fix_at"])}

    assert rest_event["data"]["units"][0]["id"] == by_rest.unit_id
    assert moved(rest_event) == moved(device_event)


# --- vitals ---------------------------------------------------------------------------------

SETS = [
    {"heart_rate": 88, "respiratory_rate": 18, "systolic_bp": 128, "spo2": 97, "avpu": "A"},
    {"heart_rate": 95, "respiratory_rate": 21, "systolic_bp": 108, "spo2": 95, "avpu": "A"},
    {"heart_rate": 131, "respiratory_rate": 28, "systolic_bp": 88, "spo2": 90, "avpu": "V"},
]
SCORES = [
    "news2_total",
    "news2_risk",
    "news2_missing",
    "news2_change",
    "gcs_total",
    "shock_index",
    "qsofa_score",
    "flags",
    "trend",
    "spo2_scale",
]


def _scores(encounter_id: int) -> list[dict[str, Any]]:
    return [
        {name: getattr(v, name) for name in SCORES}
        for v in VitalsSet.objects.filter(encounter_id=encounter_id).order_by("taken_at")
    ]


def _audit(encounter: Any) -> list[tuple[Any, ...]]:
    return [
        (e.action, e.object_type, e.actor_id, e.role, e.channel, sorted(e.detail), e.request_id)
        for e in AuditEvent.objects.filter(object_id=str(encounter.public_id)).order_by("seq")
    ]


@pytest.mark.asyncio
async def test_vitals_in_one_batch_score_and_audit_as_the_same_vitals_one_by_one(
    paramedic, routed, second_encounter, ed_nurse
):
    other_crew, other_encounter = second_encounter
    board = await connect(ed_nurse, "/ws/ed/")
    assert (await board.receive_json_from())["type"] == "handoff.board.snapshot"
    taken = [ago(180), ago(120), ago(60)]
    audited_before = {
        e.pk: len(await database_sync_to_async(_audit)(e)) for e in (routed, other_encounter)
    }
    batched = await tablet(paramedic, "tab-a")
    items = [
        vitals(f"s{n}", n, routed.public_id, values, taken_at=taken[n])
        for n, values in enumerate(SETS)
    ]
    await batched.send_json_to({"type": "batch", "items": items})
    batch_answers = await answers_frame(batched)
    assert [a["type"] for a in batch_answers] == ["ack"] * 3
    single = await tablet(other_crew, "tab-b")
    single_answers = []
    for n, values in enumerate(SETS):
        await single.send_json_to(
            vitals(f"s{n}", n, other_encounter.public_id, values, taken_at=taken[n])
        )
        single_answers.append(await next_of(single, "ack"))
    strip = ("index",)
    assert [{k: v for k, v in a.items() if k not in strip} for a in batch_answers] == [
        {k: v for k, v in a.items() if k not in strip} for a in single_answers
    ]
    batch_scores = await database_sync_to_async(_scores)(routed.pk)
    assert batch_scores == await database_sync_to_async(_scores)(other_encounter.pk)
    assert [s["news2_risk"] for s in batch_scores] == ["low", "medium", "high"]
    # Each set's change and trend are against the set before it, within the batch too.
    assert batch_scores[0]["trend"] == {}
    assert batch_scores[2]["news2_change"] != batch_scores[1]["news2_change"]
    batch_audit = (await database_sync_to_async(_audit)(routed))[audited_before[routed.pk] :]
    single_audit = (await database_sync_to_async(_audit)(other_encounter))[
        audited_before[other_encounter.pk] :
    ]
    assert [row[0] for row in batch_audit].count("vitals_record") == 3
    # The same rows; in a tick every item's access read is appended before the writes.
    assert sorted(row[:2] + row[3:-1] for row in batch_audit) == sorted(
        row[:2] + row[3:-1] for row in single_audit
    )
    assert {row[2] for row in batch_audit} == {paramedic.pk}
    # Each item has its own request id, with its read before its write.
    by_request: dict[str, list[str]] = {}
    for row in batch_audit:
        by_request.setdefault(row[-1], []).append(row[0])
    assert list(by_request.values()) == [["read", "vitals_record"]] * 3
    # The receiving ED's board gets a row per set, each as it was after that set.
    rows: list[dict[str, Any]] = []
    while len(rows) < 3:
        message = await next_of(board, "handoff.encounter.updated")
        if message["data"]["encounter_id"] == str(routed.public_id):
            rows.append(message["data"])
    assert [r["latest_vitals"]["values"]["heart_rate"] for r in rows] == [88, 95, 131]
    assert [p[1] for p in rows[-1]["trend"]["heart_rate"]] == [88, 95, 131]
    for device in (board, batched, single):
        await device.disconnect()


# --- a failing tick -------------------------------------------------------------------------


def _flaky_positions(monkeypatch: Any, error: Exception, times: int) -> list[int]:
    """The position batch handler, writing its rows and then failing `times` times."""
    real = CREW_ITEM_TYPES["position"]
    failures: list[int] = []

    def flaky(items: Any) -> None:
        assert real.batch is not None
        real.batch(items)
        if len(failures) < times:
            failures.append(1)
            raise error

    monkeypatch.setitem(CREW_ITEM_TYPES, "position", replace(real, batch=flaky))
    return failures


def test_a_tick_that_fails_in_the_database_once_is_run_again_and_stores_each_item_once(
    paramedic, centre, monkeypatch
):
    failures = _flaky_positions(monkeypatch, OperationalError("deadlock detected"), 1)
    items = [position("p1", 1, at=ago(30)), position("p2", 2, at=ago(20)), position("p1", 1)]
    result = tick_run([submission(paramedic, items)])
    assert failures == [1]
    assert result.mode == "tick"
    assert [a["type"] for a in result.answers[0]] == ["ack", "ack", "ack"]
    assert sorted(UnitPosition.objects.values_list("client_id", flat=True)) == ["p1", "p2"]
    assert sorted(DeviceItem.objects.values_list("client_id", flat=True)) == ["p1", "p2"]
    assert len(moved_events(centre.pk)) == 1


@pytest.mark.parametrize(
    ("error", "times"),
    [(RuntimeError("a bug in the batch handler"), 1), (OperationalError("database locked"), 3)],
)
def test_a_tick_that_keeps_failing_stores_each_item_once_one_by_one(
    paramedic, centre, monkeypatch, error, times
):
    failures = _flaky_positions(monkeypatch, error, times)
    items = [
        position("p1", 1, at=ago(30), lat=60.111),
        position("bad", 2, lat=95),
        position("p2", 3, at=ago(20), lat=60.122),
        position("p1", 1, at=ago(30), lat=60.111),
    ]
    result = tick_run([submission(paramedic, items)])
    assert len(failures) == times
    assert result.mode == "one-by-one"
    answers = result.answers[0]
    assert [a["type"] for a in answers] == ["ack", "reject", "ack", "ack"]
    assert answers[0] == answers[3]
    assert answers[1]["field"] == "lat"
    assert sorted(UnitPosition.objects.values_list("client_id", flat=True)) == ["p1", "p2"]
    stored = dict(DeviceItem.objects.values_list("client_id", "accepted"))
    assert stored == {"p1": True, "bad": False, "p2": True}
    unit = Unit.objects.get(pk=paramedic.unit_id)
    assert unit.last_lat == pytest.approx(60.122)
    # Nothing of the failed attempts stayed behind: the events are those of the items alone.
    assert len(moved_events(centre.pk)) == 2


def _broken_for_p2(monkeypatch, exc: Exception) -> None:
    real = CREW_ITEM_TYPES["position"]

    def broken_for_p2(user: Any, device_id: str, data: dict[str, Any]) -> Any:
        if data.get("fix_id") == "p2":
            raise exc
        return real.handler(user, device_id, data)

    monkeypatch.setitem(
        CREW_ITEM_TYPES, "position", replace(CREW_ITEM_TYPES["position"], handler=broken_for_p2)
    )


def test_an_item_the_database_fails_on_its_own_is_retried_with_every_later_item_of_its_frame(
    paramedic, centre, monkeypatch
):
    # One by one, an item the database cannot store is answered retry; what the device sent
    # after it is not taken either, so the device's order holds when it sends them again.
    _flaky_positions(monkeypatch, RuntimeError("a bug in the batch handler"), 1)
    _broken_for_p2(monkeypatch, DatabaseError("disk full"))
    items = [position("p1", 1, at=ago(30)), position("p2", 2, at=ago(20)), position("p3", 3)]
    result = tick_run([submission(paramedic, items)])
    assert result.mode == "one-by-one"
    assert [(a["type"], a["id"]) for a in result.answers[0]] == [
        ("ack", "p1"),
        ("retry", "p2"),
        ("retry", "p3"),
    ]
    assert list(UnitPosition.objects.values_list("client_id", flat=True)) == ["p1"]


def test_an_item_whose_handler_fails_on_its_content_is_refused_and_the_rest_goes_on(
    paramedic, centre, monkeypatch
):
    # Answered retry, it would fail again on every resend and block the device for ever.
    _flaky_positions(monkeypatch, RuntimeError("a bug in the batch handler"), 1)
    _broken_for_p2(monkeypatch, RuntimeError("a bug for this item"))
    items = [position("p1", 1, at=ago(30)), position("p2", 2, at=ago(20)), position("p3", 3)]
    result = tick_run([submission(paramedic, items)])
    assert [(a["type"], a["id"]) for a in result.answers[0]] == [
        ("ack", "p1"),
        ("reject", "p2"),
        ("ack", "p3"),
    ]
    assert result.answers[0][1]["code"] == "unprocessable"
    assert sorted(UnitPosition.objects.values_list("client_id", flat=True)) == ["p1", "p3"]
    # Not remembered: once the handler is fixed, the same id is taken.
    assert not DeviceItem.objects.filter(client_id="p2").exists()


@pytest.mark.asyncio
async def test_a_failing_tick_still_answers_the_socket_and_counts_a_fallback(
    paramedic, monkeypatch
):
    _flaky_positions(monkeypatch, RuntimeError("a bug in the batch handler"), 1)
    device = await tablet(paramedic)
    await device.send_json_to({"type": "batch", "items": [position("p1", 1), position("p2", 2)]})
    assert [a["type"] for a in await answers_frame(device)] == ["ack", "ack"]
    assert get_ingestor().stats.fallbacks == 1
    assert await UnitPosition.objects.acount() == 2
    await device.disconnect()
