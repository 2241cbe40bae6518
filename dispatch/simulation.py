"""The demo simulator: calls arrive on the map and units drive their routes.

Everything the simulator does to the system goes through the same doors as real users and
devices: calls and dispatch through the REST API as a dispatcher (token auth), and every unit
through a `device_client.DeviceClient` over `/ws/crew/` (acknowledge, status, positions).
Only provisioning (device users and their tokens, reading stations and hospitals) uses the
ORM, once, before the simulation starts (`simulation_plan`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import urllib.error
import urllib.request
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from device_client import DeviceClient, DeviceClientError
from routing.engine import RoutingError
from routing.services import get_network

logger = logging.getLogger("dispatch.simulation")

LatLon = tuple[float, float]

# (chief complaint, category, {determinant: weight}, how often among calls)
COMPLAINTS: list[tuple[str, str, dict[str, float], float]] = [
    ("chest pain", "cardiac", {"DELTA": 5, "CHARLIE": 4, "ECHO": 1}, 10),
    ("breathing problems", "general", {"DELTA": 4, "CHARLIE": 4, "ECHO": 1}, 9),
    ("unconscious person", "general", {"DELTA": 6, "ECHO": 2, "CHARLIE": 2}, 6),
    ("cardiac arrest", "cardiac", {"ECHO": 1}, 2),
    ("stroke symptoms", "stroke", {"DELTA": 3, "CHARLIE": 7}, 6),
    ("fall", "trauma", {"ALPHA": 5, "BRAVO": 4, "DELTA": 1}, 12),
    ("traffic collision", "trauma", {"BRAVO": 4, "DELTA": 4, "CHARLIE": 2}, 5),
    ("abdominal pain", "general", {"ALPHA": 5, "CHARLIE": 4, "OMEGA": 1}, 8),
    ("sick person", "general", {"ALPHA": 5, "OMEGA": 3, "CHARLIE": 2}, 10),
    ("seizure", "general", {"DELTA": 4, "CHARLIE": 5, "ALPHA": 1}, 5),
    ("overdose or poisoning", "general", {"DELTA": 4, "CHARLIE": 4, "BRAVO": 2}, 5),
    ("allergic reaction", "general", {"DELTA": 3, "CHARLIE": 3, "ALPHA": 4}, 3),
    ("labour pains", "obstetric", {"CHARLIE": 5, "DELTA": 3, "ALPHA": 2}, 2),
    ("child with high fever", "pediatric", {"ALPHA": 5, "CHARLIE": 4, "DELTA": 1}, 3),
    ("assault", "trauma", {"BRAVO": 6, "DELTA": 3, "ALPHA": 1}, 4),
    ("burns", "burn", {"CHARLIE": 5, "DELTA": 4, "ALPHA": 1}, 1),
]

# The receiving capability a crew looks for, by the kind of call.
DESTINATION_CAPABILITY = {
    "cardiac": "stemi_pci_24_7",
    "stroke": "stroke_comprehensive",
    "trauma": "trauma_1",
    "burn": "burn",
    "obstetric": "obstetrics",
    "pediatric": "pediatric",
}
CATEGORY_OF = {complaint: category for complaint, category, _, _ in COMPLAINTS}

# A hospital whose nearest road node is further than this is treated as off the map.
HOSPITAL_MAX_OFF_MAP_M = 6000.0
# A unit this close to its station is "at the station".
AT_STATION_M = 60.0
EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class UnitPlan:
    """One simulated unit: who it is, how its device signs in, where it lives."""

    unit_id: int
    call_sign: str
    token: str
    station: LatLon


@dataclass(frozen=True)
class HospitalPlan:
    id: int
    name: str
    lat: float
    lon: float
    capabilities: tuple[str, ...]
    open: bool


@dataclass(frozen=True)
class SimulationPlan:
    """What provisioning produced; the simulation itself needs no database."""

    dispatcher_token: str
    units: list[UnitPlan]
    hospitals: list[HospitalPlan]
    # The dispatcher's centre's area (GeoJSON): calls are drawn inside it, as its own callers.
    area: dict[str, Any] | None = None
    # The dispatcher's centre's telephony token: the simulated telephony system rings calls
    # into its queue (empty: no ringing calls).
    telephony_token: str = ""


@dataclass(frozen=True)
class SimulationConfig:
    base_url: str = "http://127.0.0.1:8000"
    calls_per_hour: float = 12.0
    calls: bool = True
    auto_dispatch: bool = True
    tick_s: float = 1.0
    scene_minutes: float = 2.0
    speedup: float = 1.0
    duration_s: float = 0.0
    idle_interval_s: float = 10.0
    # Calls rung into the centre's queue (the "Ringing" panel) through the telephony route;
    # each caller hangs up after RINGING_HOLD_S unless answered first.
    ringing_per_hour: float = 0.0
    outbox_dir: Path = Path("var/simulator")
    seed: int | None = None


def simulation_plan(
    *,
    dispatcher: str,
    call_signs: list[str] | None,
    person_driven: list[str] | tuple[str, ...] = (),
) -> SimulationPlan:
    """Provision the simulator: the dispatcher's token, one crew device user per unit.

    Units in `person_driven` are left to the people who drive them from a tablet: no device
    user, no fixes, never auto-dispatched. Creates `device-<call sign>` crew users (no usable
    password) where missing. Each run issues fresh device tokens (only their hash is stored, so
    an old key cannot be read back), labelled "simulator", lasting SIMULATOR_TOKEN_DAYS, and
    revokes the simulator tokens of earlier runs. Raises ValueError naming what is missing or
    contradictory.
    """
    from accounts.models import Role, User
    from dispatch import hooks
    from dispatch.models import Unit

    user = User.objects.filter(username=dispatcher, role=Role.DISPATCHER).first()
    if user is None:
        raise ValueError(f"No dispatcher user {dispatcher!r}; run `manage.py seed_demo` first.")
    units = Unit.objects.filter(centre_id=user.dispatch_centre_id).select_related("home_station")
    if call_signs:
        units = units.filter(call_sign__in=call_signs)
        missing = set(call_signs) - set(units.values_list("call_sign", flat=True))
        if missing:
            raise ValueError(f"No unit(s) {', '.join(sorted(missing))} in the dispatcher's centre.")
    both = set(call_signs or ()) & set(person_driven)
    if both:
        raise ValueError(
            f"Unit(s) {', '.join(sorted(both))} cannot be both simulated and driven by a person."
        )
    units = units.exclude(call_sign__in=list(person_driven))
    plans = []
    for unit in units.order_by("call_sign"):
        device_user, created = User.objects.get_or_create(
            username=f"device-{unit.call_sign.lower()}",
            defaults={"role": Role.CREW, "unit": unit, "first_name": unit.call_sign},
        )
        if created:
            device_user.set_unusable_password()
            device_user.save(update_fields=["password"])
        elif device_user.unit_id != unit.pk:
            raise ValueError(f"{device_user.username} exists but is not crew of {unit.call_sign}.")
        plans.append(
            UnitPlan(
                unit_id=unit.pk,
                call_sign=unit.call_sign,
                token=_simulator_token(device_user),
                station=(unit.home_station.lat, unit.home_station.lon),
            )
        )
    hospitals = [
        HospitalPlan(
            id=h.pk,
            name=h.name,
            lat=h.lat,
            lon=h.lon,
            capabilities=tuple(h.capabilities or ()),
            open=h.ed_open,
        )
        for h in hooks.provided().hospitals()
    ]
    return SimulationPlan(
        dispatcher_token=_simulator_token(user),
        units=plans,
        hospitals=hospitals,
        area=user.dispatch_centre.area if user.dispatch_centre else None,
        telephony_token=_simulator_telephony_token(user.dispatch_centre_id),
    )


SIMULATOR_TOKEN_LABEL = "simulator"  # noqa: S105  (a label, not a secret)
SIMULATOR_TOKEN_DAYS = 1
# How long a simulated caller waits on the line before hanging up (answered or not), seconds.
RINGING_HOLD_S = (45.0, 150.0)


def _simulator_token(user: Any) -> str:
    """A fresh simulator token of `user` (the key), the earlier runs' ones revoked."""
    from accounts.models import DeviceToken
    from accounts.services import device_token_issue, device_token_revoke

    earlier = DeviceToken.objects.filter(
        user=user, label=SIMULATOR_TOKEN_LABEL, revoked_at__isnull=True
    ).values_list("pk", flat=True)
    for token_id in list(earlier):
        device_token_revoke(token_id=token_id, revoked_by=None)
    return device_token_issue(
        user=user, created_by=None, label=SIMULATOR_TOKEN_LABEL, days=SIMULATOR_TOKEN_DAYS
    ).key


def _simulator_telephony_token(centre_id: int | None) -> str:
    """A fresh simulator telephony token of the centre, the earlier runs' ones revoked."""
    from dispatch.models import CentreTelephonyToken, DispatchCentre
    from dispatch.services import telephony_token_issue, telephony_token_revoke

    if centre_id is None:
        return ""
    earlier = CentreTelephonyToken.objects.filter(
        centre_id=centre_id, label=SIMULATOR_TOKEN_LABEL, revoked_at__isnull=True
    ).values_list("pk", flat=True)
    for token_id in list(earlier):
        telephony_token_revoke(token_id=token_id)
    return telephony_token_issue(
        centre=DispatchCentre.objects.get(pk=centre_id), label=SIMULATOR_TOKEN_LABEL
    )


# --- Geometry ------------------------------------------------------------------------------


def metres(a: LatLon, b: LatLon) -> float:
    """Great-circle distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing(a: LatLon, b: LatLon) -> float:
    """Initial compass bearing from a to b, 0 <= bearing < 360."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    x = math.sin(lon2 - lon1) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(x, y)) % 360.0


class Path2D:
    """A polyline of (lat, lon) points that can be walked by distance."""

    def __init__(self, points: list[LatLon]) -> None:
        self.points = points or []
        self.cumulative = [0.0]
        for a, b in zip(self.points, self.points[1:], strict=False):
            self.cumulative.append(self.cumulative[-1] + metres(a, b))

    @property
    def length_m(self) -> float:
        return self.cumulative[-1]

    def at(self, distance_m: float) -> tuple[LatLon, float]:
        """The point `distance_m` along the line and the heading there."""
        if len(self.points) < 2:
            return self.points[0], 0.0
        d = min(max(distance_m, 0.0), self.length_m)
        i = 1
        while i < len(self.cumulative) - 1 and self.cumulative[i] < d:
            i += 1
        a, b = self.points[i - 1], self.points[i]
        span = self.cumulative[i] - self.cumulative[i - 1]
        f = 0.0 if span <= 0 else (d - self.cumulative[i - 1]) / span
        point = (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
        return point, bearing(a, b) if span > 0 else 0.0


def random_road_point(rng: random.Random) -> LatLon:
    """A point on a random road of the map, roads weighted by length (calls come from streets)."""
    graph = get_network().graph
    lengths = np.asarray(graph.length_m, dtype=float)
    edge = int(rng.choices(range(len(lengths)), weights=lengths.tolist(), k=1)[0])
    start, end = int(graph.geom_offsets[edge]), int(graph.geom_offsets[edge + 1])
    if end - start >= 2:
        points = [(float(graph.geom_lat[k]), float(graph.geom_lon[k])) for k in range(start, end)]
    else:
        u, v = int(graph.edge_u[edge]), int(graph.edge_v[edge])
        points = [
            (float(graph.node_lat[u]), float(graph.node_lon[u])),
            (float(graph.node_lat[v]), float(graph.node_lon[v])),
        ]
    line = Path2D(points)
    return line.at(rng.random() * line.length_m)[0]


def random_call_point(rng: random.Random, area: dict[str, Any] | None) -> LatLon:
    """A random road point inside `area` (any road point when there is none, or when 50
    draws all fall outside it: an area that misses the map)."""
    from dispatch.region import area_contains

    point = random_road_point(rng)
    for _ in range(50):
        if area is None or area_contains(area, *point):
            return point
        point = random_road_point(rng)
    return point


def random_call(rng: random.Random) -> tuple[str, str]:
    """A chief complaint and a determinant, in roughly the proportions a centre sees."""
    complaint, _, determinants, _ = rng.choices(COMPLAINTS, weights=[c[3] for c in COMPLAINTS])[0]
    determinant = rng.choices(list(determinants), weights=list(determinants.values()))[0]
    return complaint, determinant


def nearest_node(point: LatLon) -> tuple[LatLon, float]:
    """The road-graph node nearest to a point (which may lie off the map) and its distance."""
    graph = get_network().graph
    lat, lon = point
    scale = math.cos(math.radians(lat))
    d2 = (np.asarray(graph.node_lat) - lat) ** 2 + ((np.asarray(graph.node_lon) - lon) * scale) ** 2
    k = int(np.argmin(d2))
    node = (float(graph.node_lat[k]), float(graph.node_lon[k]))
    return node, metres(point, node)


def road_route(start: LatLon, end: LatLon, mode: str) -> tuple[list[LatLon], float] | None:
    """Route geometry as (lat, lon) points and duration, or None when there is no route."""
    try:
        found = get_network().route(start, end, mode)  # type: ignore[arg-type]
    except (RoutingError, RuntimeError) as exc:
        logger.warning("no route %s -> %s: %s", start, end, exc)
        return None
    return [(lat, lon) for lon, lat in found.geometry], float(found.duration_s)


# --- The dispatcher's side (REST) ------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class DispatcherApi:
    """The few REST calls a dispatcher makes, with token auth, off the event loop."""

    def __init__(self, base_url: str, token: str, *, scheme: str = "Token") -> None:
        if urlsplit(base_url).scheme not in {"http", "https"}:
            raise ValueError("base_url must be http:// or https://")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._scheme = scheme

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.base_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"{self._scheme} {self._token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = raw[:200].decode(errors="replace")
            raise ApiError(exc.code, detail) from None

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        return await asyncio.to_thread(self._call, method, path, body)


# --- Units ---------------------------------------------------------------------------------


class UnitDriver:
    """One unit's crew tablet: follows its stream and drives the assignments it gets."""

    def __init__(self, sim: Simulator, plan: UnitPlan) -> None:
        self.sim = sim
        self.plan = plan
        device_id = f"sim-{plan.call_sign.lower()}"
        self.client = DeviceClient(
            sim.config.base_url,
            plan.token,
            device_id,
            sim.config.outbox_dir / f"{device_id}.sqlite3",
        )
        self.position: LatLon = plan.station
        self.status = "unknown"
        self.assignment_id: int | None = None
        self.handled: set[int] = set()
        self._activity: asyncio.Task[None] | None = None
        self._snapshot_seen = False

    @property
    def name(self) -> str:
        return self.plan.call_sign

    async def run(self) -> None:
        client_task = self.client.start()
        try:
            while True:
                getter = asyncio.create_task(self.client.events.get())
                done, _ = await asyncio.wait(
                    {getter, client_task}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    client_task.result()  # raises why the device client stopped
                    return
                self._on_event(getter.result())
        except DeviceClientError as exc:
            logger.error("%s: device client stopped: %s", self.name, exc)
        finally:
            await self._switch(None)
            await self.client.close()

    def _on_event(self, event: dict[str, Any]) -> None:
        kind, data = event.get("type"), event.get("data") or {}
        if kind == "dispatch.unit.snapshot":
            self.status = data.get("status", self.status)
            if not self._snapshot_seen:
                self._snapshot_seen = True
                self.position = (float(data["lat"]), float(data["lon"]))
                logger.info("%s: online, %s", self.name, self.status)
                current = data.get("assignment") or {}
                if current.get("status") == "dispatched" and int(current["id"]) not in self.handled:
                    # Dispatched before this client connected: the snapshot carries the job.
                    self.handled.add(int(current["id"]))
                    self._start(self._mission(current))
                elif self.status == "available":
                    self._start(self._return_to_station())
                else:
                    # A job already under way when the simulator started: hold still.
                    self._start(self._idle())
        elif kind in {"dispatch.assignment.created", "dispatch.assignment.updated"}:
            assignment_id = int(data["id"])
            status = data.get("status")
            if status == "dispatched" and assignment_id not in self.handled:
                self.handled.add(assignment_id)
                self._start(self._mission(data))
            elif status == "cancelled" and assignment_id == self.assignment_id:
                logger.info("%s: assignment %d cancelled; returning", self.name, assignment_id)
                self.assignment_id = None
                self._start(self._return_to_station())

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        previous = self._activity
        if previous is not None:
            previous.cancel()
        self._activity = asyncio.create_task(work)

    async def _switch(self, work: Coroutine[Any, Any, None] | None) -> None:
        previous, self._activity = self._activity, None
        if previous is not None:
            previous.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await previous
        if work is not None:
            self._activity = asyncio.create_task(work)

    # --- what the crew does ----------------------------------------------------------------

    def _status(self, assignment_id: int, status: str, **extra: Any) -> None:
        self.client.enqueue("status", {"assignment_id": assignment_id, "status": status, **extra})
        self.status = status
        logger.info("%s: assignment %d %s", self.name, assignment_id, status.replace("_", " "))

    def _fix(self, point: LatLon, heading: float, speed_mps: float) -> None:
        self.position = point
        self.client.enqueue(
            "position",
            {
                "lat": round(point[0], 7),
                "lon": round(point[1], 7),
                "recorded_at": datetime.now(UTC).isoformat(),
                "heading": round(heading % 360.0, 1),
                "speed_mps": round(min(max(speed_mps, 0.0), 120.0), 1),
                "accuracy_m": 5.0,
                "fix_id": uuid.uuid4().hex,
            },
        )

    async def _drive(self, points: list[LatLon], duration_s: float) -> None:
        """Drive a polyline at the speed its duration implies, one fix per tick."""
        line = Path2D(points)
        if line.length_m < 1.0:
            self._fix(points[-1], 0.0, 0.0)
            return
        duration = max(duration_s, 1.0)
        speed = line.length_m / duration
        tick, step = self.sim.config.tick_s, self.sim.config.tick_s * self.sim.config.speedup
        elapsed = 0.0
        heading = 0.0
        while elapsed < duration:
            elapsed = min(duration, elapsed + step)
            point, heading = line.at(speed * elapsed)
            self._fix(point, heading, speed if elapsed < duration else 0.0)
            if elapsed < duration:
                await asyncio.sleep(tick)

    async def _wait(self, simulated_s: float) -> None:
        await asyncio.sleep(simulated_s / self.sim.config.speedup)

    async def _mission(self, assignment: dict[str, Any]) -> None:
        assignment_id = int(assignment["id"])
        incident = assignment["incident"]
        self.assignment_id = assignment_id
        logger.info(
            "%s: assignment %d to incident %d (%s)",
            self.name,
            assignment_id,
            incident["id"],
            incident["determinant"],
        )
        self.client.enqueue("acknowledge", {"assignment_id": assignment_id})
        self._status(assignment_id, "en_route")
        mode = "urgent" if incident.get("response_mode") == "lights_sirens" else "non_urgent"
        scene = (float(incident["lat"]), float(incident["lon"]))
        route = assignment.get("route")
        if route and route.get("geometry"):
            points = [(lat, lon) for lon, lat in route["geometry"]["coordinates"]]
            leg: tuple[list[LatLon], float] | None = (points, float(route["duration_s"]))
        else:
            leg = road_route(self.position, scene, mode)
        if leg is not None:
            await self._drive(*leg)
        self._status(assignment_id, "on_scene")
        await self._wait(self.sim.config.scene_minutes * 60)
        hospital = self._destination(incident.get("chief_complaint", ""))
        if hospital is None:
            self._status(assignment_id, "cleared", note="treated on scene")
        else:
            destination, _, points, duration = hospital
            self._status(assignment_id, "transporting", destination=destination.id)
            await self._drive(points, duration)
            self._status(assignment_id, "at_destination")
            await self._wait(self.sim.config.scene_minutes * 60)
            self._status(assignment_id, "cleared")
        self.assignment_id = None
        await self._return_to_station()

    def _destination(
        self, complaint: str
    ) -> tuple[HospitalPlan, LatLon, list[LatLon], float] | None:
        """The nearest open hospital able to take this kind of patient, if one is reachable."""
        wanted = DESTINATION_CAPABILITY.get(CATEGORY_OF.get(complaint, "general"), "general")
        hospitals = [h for h in self.sim.plan.hospitals if h.open]
        able = [h for h in hospitals if wanted in h.capabilities] or [
            h for h in hospitals if "general" in h.capabilities
        ]
        best: tuple[HospitalPlan, LatLon, list[LatLon], float] | None = None
        for hospital in able:
            # The demo hospitals lie just outside the map: drive to the road nearest to them.
            node, off_map_m = nearest_node((hospital.lat, hospital.lon))
            if off_map_m > HOSPITAL_MAX_OFF_MAP_M:
                continue
            leg = road_route(self.position, node, "non_urgent")
            if leg is not None and (best is None or leg[1] < best[3]):
                best = (hospital, node, leg[0], leg[1])
        return best

    async def _return_to_station(self) -> None:
        if metres(self.position, self.plan.station) > AT_STATION_M:
            logger.info("%s: returning to station", self.name)
            leg = road_route(self.position, self.plan.station, "non_urgent")
            if leg is not None:
                await self._drive(*leg)
            self._fix(self.plan.station, 0.0, 0.0)
            logger.info("%s: at station, available", self.name)
        await self._idle()

    async def _idle(self) -> None:
        # A fix every few seconds keeps the unit from being flagged stale.
        while True:
            self._fix(self.position, 0.0, 0.0)
            await asyncio.sleep(self.sim.config.idle_interval_s)


# --- The whole simulation ------------------------------------------------------------------


@dataclass
class Simulator:
    """Calls on the map and units on the road, until `duration_s` or cancellation."""

    config: SimulationConfig
    plan: SimulationPlan
    drivers: list[UnitDriver] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)  # noqa: S311 - a simulation, not security
        self.api = DispatcherApi(self.config.base_url, self.plan.dispatcher_token)
        self.drivers = [UnitDriver(self, unit) for unit in self.plan.units]
        # The centre's telephony system (CTI), with its own token (Bearer, not a user's).
        self.telephony = DispatcherApi(
            self.config.base_url, self.plan.telephony_token, scheme="Bearer"
        )

    async def run(self) -> None:
        tasks = [asyncio.create_task(d.run(), name=f"unit-{d.name}") for d in self.drivers]
        if self.config.calls and self.config.calls_per_hour > 0:
            tasks.append(asyncio.create_task(self._calls(), name="calls"))
        if self.config.calls and self.config.ringing_per_hour > 0 and self.plan.telephony_token:
            tasks.append(asyncio.create_task(self._ringing(), name="ringing"))
        logger.info(
            "simulating %d unit(s), %s calls/h, speedup x%g",
            len(self.drivers),
            self.config.calls_per_hour if self.config.calls else 0,
            self.config.speedup,
        )
        try:
            await asyncio.wait(tasks, timeout=self.config.duration_s or None)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            logger.info("simulation stopped")

    async def _calls(self) -> None:
        rate_per_s = self.config.calls_per_hour / 3600.0
        while True:
            await asyncio.sleep(self.rng.expovariate(rate_per_s) / self.config.speedup)
            with contextlib.suppress(ApiError, OSError):
                await self.create_call(auto_dispatch=self.config.auto_dispatch)

    async def _ringing(self) -> None:
        rate_per_s = self.config.ringing_per_hour / 3600.0
        callers: set[asyncio.Task[None]] = set()
        try:
            while True:
                await asyncio.sleep(self.rng.expovariate(rate_per_s) / self.config.speedup)
                with contextlib.suppress(ApiError, OSError):
                    call_id = await self.ring_call()
                    caller = asyncio.create_task(self._hang_up_later(call_id))
                    callers.add(caller)
                    caller.add_done_callback(callers.discard)
        finally:
            for caller in callers:
                caller.cancel()

    async def ring_call(self, *, phone: str | None = None) -> int:
        """Ring a call into the centre's queue as its telephony system; returns its id."""
        number = phone or "+358 40 " + "".join(str(self.rng.randrange(10)) for _ in range(7))
        call = await self.telephony.call(
            "POST", "/api/v1/call-queue/", {"caller_phone": number, "line": "sim-1"}
        )
        logger.info("ringing: queued call %d", call["id"])
        return int(call["id"])

    async def _hang_up_later(self, call_id: int) -> None:
        await asyncio.sleep(self.rng.uniform(*RINGING_HOLD_S) / self.config.speedup)
        with contextlib.suppress(ApiError, OSError):
            call = await self.telephony.call("POST", f"/api/v1/call-queue/{call_id}/end/")
            logger.info("ringing: call %d ended (%s)", call_id, call["status"])

    async def create_call(
        self,
        *,
        point: LatLon | None = None,
        complaint: str | None = None,
        determinant: str | None = None,
        auto_dispatch: bool = True,
    ) -> int:
        """Record a call through the REST API as the dispatcher; returns the incident id."""
        lat, lon = point or random_call_point(self.rng, self.plan.area)
        if complaint is None or determinant is None:
            complaint, determinant = random_call(self.rng)
        try:
            incident = await self.api.call(
                "POST",
                "/api/v1/incidents/",
                {
                    "chief_complaint": complaint,
                    "determinant": determinant,
                    "location": {"source": "map", "lat": lat, "lon": lon},
                    "allow_duplicate": True,
                },
            )
        except ApiError as exc:
            logger.warning("call refused: %s", exc)
            raise
        logger.info("call: incident %d, %s", incident["id"], determinant)
        if auto_dispatch:
            await self.dispatch(incident["id"])
        return int(incident["id"])

    async def dispatch(self, incident_id: int) -> int | None:
        """Send the top eligible simulated unit; returns its id, None when none is free."""
        simulated = {d.plan.unit_id for d in self.drivers}
        ranked = await self.api.call("GET", f"/api/v1/incidents/{incident_id}/recommendations/")
        for row in ranked:
            if row["excluded"] is None and row["unit_id"] in simulated:
                try:
                    await self.api.call(
                        "POST",
                        f"/api/v1/incidents/{incident_id}/assignments/",
                        {"unit_ids": [row["unit_id"]], "device_id": "simulator"},
                    )
                except ApiError as exc:
                    logger.warning("dispatch of %s refused: %s", row["call_sign"], exc)
                    continue
                logger.info("incident %d: dispatched %s", incident_id, row["call_sign"])
                return int(row["unit_id"])
        logger.info("incident %d: no simulated unit free; left open", incident_id)
        return None
