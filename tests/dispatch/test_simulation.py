"""The simulator against a real daphne process: a call, a dispatch, a unit that drives it."""

from __future__ import annotations

import asyncio
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from dispatch.events import unit_group
from dispatch.models import Assignment, AssignmentTransition, UnitPosition
from dispatch.simulation import (
    ApiError,
    Path2D,
    SimulationConfig,
    Simulator,
    metres,
    simulation_plan,
)
from realtime.models import DeviceItem, EventLog
from tests.services import processes

pytestmark = pytest.mark.django_db(transaction=True)

SENATE_SQUARE = (60.16940, 24.95200)
WAIT_S = 60.0


def _env(map_dir: Any) -> dict[str, str]:
    env = processes.child_env(MAP_CACHE_DIR=str(map_dir))
    # One daphne process: the in-memory channel layer is enough, never a developer's Redis.
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


async def _db(query: Any) -> Any:
    def run() -> Any:
        try:
            return query()
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def _near_route(point: tuple[float, float], route: Path2D) -> float:
    """Distance from a point to a route, sampled every 5 m."""
    steps = int(route.length_m // 5) + 1
    return min(metres(point, route.at(k * 5.0)[0]) for k in range(steps + 1))


def test_a_dispatched_unit_drives_its_route_to_the_scene_and_on(road_map, built_map_dir, tmp_path):
    call_command("seed_demo", verbosity=0)
    plan = simulation_plan(dispatcher="dispatcher", call_signs=["HE101", "HE102"])
    config = SimulationConfig(
        calls=False,
        tick_s=0.2,
        scene_minutes=0.2,
        speedup=40.0,
        idle_interval_s=2.0,
        outbox_dir=tmp_path / "outboxes",
        seed=1,
    )

    async def scenario(port: int) -> tuple[int, list[str]]:
        sim = Simulator(
            config=SimulationConfig(**{**config.__dict__, "base_url": f"http://127.0.0.1:{port}"}),
            plan=plan,
        )
        running = asyncio.create_task(sim.run())
        try:
            async with asyncio.timeout(20):
                for driver in sim.drivers:
                    await driver.client.wait_connected()
            incident_id = await sim.create_call(
                point=SENATE_SQUARE, complaint="chest pain", determinant="DELTA"
            )
            seen: list[str] = []
            for _ in range(int(WAIT_S / 0.1)):
                status = await _db(
                    lambda: (
                        Assignment.objects.filter(incident_id=incident_id)
                        .values_list("status", flat=True)
                        .first()
                    )
                )
                if status and (not seen or seen[-1] != status):
                    seen.append(status)
                if status == "cleared":
                    break
                await asyncio.sleep(0.1)
            # Let the last items of the return drive settle before stopping.
            await asyncio.sleep(0.5)
            return incident_id, seen
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    with processes.daphne(_env(built_map_dir)) as port:
        incident_id, seen = asyncio.run(scenario(port))

    assignment = Assignment.objects.select_related("unit", "incident").get(incident_id=incident_id)
    unit = assignment.unit
    assert unit.call_sign in {"HE101", "HE102"}
    transitions = list(
        AssignmentTransition.objects.filter(assignment=assignment)
        .order_by("at", "pk")
        .values_list("to_status", flat=True)
    )
    assert transitions[:3] == ["dispatched", "en_route", "on_scene"]
    # With this speedup the whole job fits in the time bound: transport, handover, clear.
    assert transitions == [
        "dispatched",
        "en_route",
        "on_scene",
        "transporting",
        "at_destination",
        "cleared",
    ], seen
    assert assignment.acknowledged_at is not None
    assert assignment.destination is not None
    assert "stemi_pci_24_7" in assignment.destination.capabilities

    # The unit drove the route it was sent: fixes from the station to the scene lie on it.
    created = EventLog.objects.get(
        stream=unit_group(unit.pk), type="dispatch.assignment.created"
    ).data
    route = Path2D([(lat, lon) for lon, lat in created["route"]["geometry"]["coordinates"]])
    scene = (assignment.incident.road_lat, assignment.incident.road_lon)
    fixes = list(
        UnitPosition.objects.filter(unit=unit).order_by("recorded_at").values_list("lat", "lon")
    )
    arrival = min(range(len(fixes)), key=lambda k: metres(fixes[k], scene))
    assert metres(fixes[arrival], scene) < 25
    en_route = [
        f
        for f in fixes[: arrival + 1]
        if metres(f, (unit.home_station.lat, unit.home_station.lon)) > 30
    ]
    assert len(en_route) >= 3
    assert max(_near_route(f, route) for f in en_route) < 25
    # The unit moved on from the scene (to the hospital, then toward its station).
    assert unit.last_fix_at is not None
    assert metres((unit.last_lat, unit.last_lon), scene) > 25

    # Every position once: one stored row per accepted item, nothing refused.
    device_id = f"sim-{unit.call_sign.lower()}"
    accepted = DeviceItem.objects.filter(device_id=device_id, type="position", accepted=True)
    assert accepted.count() == UnitPosition.objects.filter(unit=unit).count() > 10
    assert not DeviceItem.objects.filter(accepted=False).exists()


class _Recorder:
    """Stands in for the Simulator: records the plan the command built, runs nothing."""

    plans: list[Any] = []

    def __init__(self, *, config: SimulationConfig, plan: Any) -> None:
        self.plans.append(plan)

    async def run(self) -> None:
        return None


@pytest.fixture
def recorded(monkeypatch):
    from demo.management.commands import simulate

    _Recorder.plans = []
    monkeypatch.setattr(simulate, "Simulator", _Recorder)
    return _Recorder.plans


def _simulated(plans: list[Any]) -> set[str]:
    [plan] = plans
    return {unit.call_sign for unit in plan.units}


def _centre_units(dispatcher: str) -> set[str]:
    """Call signs of the units of `dispatcher`'s centre: the simulator drives those only."""
    from accounts.models import User
    from dispatch.models import Unit

    centre_id = User.objects.get(username=dispatcher).dispatch_centre_id
    return set(Unit.objects.filter(centre_id=centre_id).values_list("call_sign", flat=True))


def test_simulate_leaves_the_demo_crews_units_to_people_by_default(recorded):

    call_command("seed_demo", verbosity=0)
    out = StringIO()
    call_command("simulate", "--no-calls", stdout=out)
    simulated = _simulated(recorded)
    assert "HE101" not in simulated
    assert "HE111" not in simulated
    assert simulated == _centre_units("dispatcher") - {"HE101", "HE111"}
    assert "Left to people (not simulated): HE101, HE111" in out.getvalue()
    # The person-driven units got no device user: nothing signs in for them.
    from accounts.models import User

    assert not User.objects.filter(username__in=["device-he101", "device-he111"]).exists()


def test_simulate_person_driven_option_chooses_the_units(recorded):
    call_command("seed_demo", verbosity=0)
    call_command("simulate", "--no-calls", "--person-driven", "he102", stdout=StringIO())
    simulated = _simulated(recorded)
    assert "HE102" not in simulated
    assert {"HE101", "HE111"} <= simulated


def test_simulate_person_driven_empty_simulates_every_unit(recorded):

    call_command("seed_demo", verbosity=0)
    call_command("simulate", "--no-calls", "--person-driven", "", stdout=StringIO())
    assert _simulated(recorded) == _centre_units("dispatcher")


def test_units_named_with_units_are_simulated_even_if_a_demo_crew_drives_them(recorded):
    call_command("seed_demo", verbosity=0)
    call_command("simulate", "--no-calls", "--units", "HE101,HE102", stdout=StringIO())
    assert _simulated(recorded) == {"HE101", "HE102"}


def test_a_unit_cannot_be_both_simulated_and_person_driven(db):
    from django.core.management.base import CommandError

    call_command("seed_demo", verbosity=0)
    with pytest.raises(CommandError, match=r"HE101.*both simulated and driven by a person"):
        call_command("simulate", "--units", "HE101", "--person-driven", "HE101", stdout=StringIO())


def test_a_person_driven_unit_gets_no_simulated_driver(db):
    call_command("seed_demo", verbosity=0)
    plan = simulation_plan(dispatcher="dispatcher", call_signs=None, person_driven=["HE101"])
    assert "HE101" not in {u.call_sign for u in plan.units}
    sim = Simulator(config=SimulationConfig(calls=False), plan=plan)
    assert all(d.plan.call_sign != "HE101" for d in sim.drivers)


def test_simulated_calls_fall_in_the_dispatchers_centre_area(db, road_map):
    """Each centre's simulator plays its own callers: calls are drawn inside its area."""
    import random

    from dispatch import region
    from dispatch.simulation import random_call_point, simulation_plan

    call_command("seed_demo", verbosity=0)
    for dispatcher in ("dispatcher", "dispatcher2"):
        plan = simulation_plan(dispatcher=dispatcher, call_signs=[], person_driven=[])
        rng = random.Random(7)
        points = [random_call_point(rng, plan.area) for _ in range(20)]
        assert plan.area is not None
        assert all(region.area_contains(plan.area, lat, lon) for lat, lon in points), dispatcher


def test_the_simulated_telephony_system_rings_and_ends_a_queued_call(built_map_dir):
    from accounts.models import User
    from dispatch.models import QueuedCall

    call_command("seed_demo", verbosity=0)
    earlier = simulation_plan(dispatcher="dispatcher", call_signs=["HE101"])
    plan = simulation_plan(dispatcher="dispatcher", call_signs=["HE101"])
    assert plan.telephony_token.startswith("ghtel_")

    async def scenario(port: int) -> tuple[int, str]:
        config = SimulationConfig(calls=False, base_url=f"http://127.0.0.1:{port}")
        # A second run's token replaced the first's.
        stale = Simulator(config=config, plan=earlier)
        with pytest.raises(ApiError) as refused:
            await stale.ring_call()
        assert refused.value.status == 401
        sim = Simulator(config=config, plan=plan)
        call_id = await sim.ring_call(phone="+358 40 555 0101")
        status = await _db(lambda: QueuedCall.objects.get(pk=call_id).status)
        await sim.telephony.call("POST", f"/api/v1/call-queue/{call_id}/end/")
        return call_id, status

    with processes.daphne(_env(built_map_dir)) as port:
        call_id, status = asyncio.run(scenario(port))
    assert status == "ringing"
    call = QueuedCall.objects.get(pk=call_id)
    assert call.status == "abandoned"
    assert call.caller_phone == "+358 40 555 0101"
    assert call.centre_id == User.objects.get(username="dispatcher").dispatch_centre_id
