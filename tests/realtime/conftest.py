"""Sockets, items and crews for the ingest and fan-out tests (over the real ASGI app)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient
from django.utils import timezone

from config.asgi import application
from tests import factories
from tests.handoff.conftest import assignment, encounter, make_assignment, routed

# The handoff fixtures, re-exported: an assignment, an open encounter, one bound for `hospital`.
__all__ = ["assignment", "encounter", "routed"]

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


async def connect(user: Any, path: str) -> WebsocketCommunicator:
    """A logged-in socket whose first frame (the snapshot) has not been read yet."""
    client = AsyncClient()
    await client.aforce_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    communicator = WebsocketCommunicator(application, path, headers=[*HEADERS, cookie])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def tablet(user: Any, device_id: str = "tab-1") -> WebsocketCommunicator:
    """A crew tablet past its snapshot and hello."""
    communicator = await connect(user, "/ws/crew/")
    assert (await communicator.receive_json_from())["type"] == "dispatch.unit.snapshot"
    await communicator.send_json_to({"type": "hello", "device_id": device_id})
    assert (await communicator.receive_json_from())["type"] == "hello.ack"
    return communicator


async def frames(communicator: WebsocketCommunicator, quiet_s: float = 0.3) -> list[Any]:
    """Every frame until the socket has been quiet for `quiet_s` (a receive timeout would
    cancel the application, so quiet is detected without one)."""
    received = []
    while not await communicator.receive_nothing(timeout=quiet_s):
        received.append(await communicator.receive_json_from())
    return received


async def answers_frame(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """The answers of the next `answers` frame (live events on the way are skipped)."""
    for _ in range(20):
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == "answers":
            return frame["answers"]  # type: ignore[no-any-return]
    raise AssertionError("no answers frame")


def ago(seconds: float) -> datetime:
    return timezone.now() - timedelta(seconds=seconds)


def position(
    item_id: str, seq: int, *, at: datetime | str | None = None, **data: Any
) -> dict[str, Any]:
    when = at if at is not None else timezone.now()
    payload = {
        "lat": 60.1700,
        "lon": 24.9450,
        "recorded_at": when if isinstance(when, str) else when.isoformat(),
        "fix_id": item_id,
    }
    payload.update(data)
    return {"type": "position", "id": item_id, "seq": seq, "data": payload}


def vitals(
    item_id: str, seq: int, encounter_id: Any, values: dict[str, Any], *, taken_at: datetime
) -> dict[str, Any]:
    data = {
        "encounter": str(encounter_id),
        "vitals_id": f"v-{item_id}",
        "taken_at": taken_at.isoformat(),
        "vitals": values,
    }
    return {"type": "vitals", "id": item_id, "seq": seq, "data": data}


@pytest.fixture
def crew_of(centre):
    """A new unit of `centre` (or of another centre) and its paramedic."""

    def make(of_centre: Any = None) -> Any:
        station = factories.StationFactory(centre=of_centre or centre)
        return factories.CrewFactory(unit=factories.UnitFactory(home_station=station))

    return make


@pytest.fixture
def second_encounter(crew_of, dispatcher, hospital):
    """Another unit's paramedic and their open encounter bound for `hospital`."""
    from handoff.services.destination import destination_set
    from handoff.services.encounters import encounter_open

    crew = crew_of()
    opened = encounter_open(
        user=crew, assignment_id=make_assignment(crew.unit, dispatcher).pk, data={}
    )
    destination_set(user=crew, encounter_id=opened.pk, hospital_id=hospital.pk, reason="closest")
    return crew, opened
