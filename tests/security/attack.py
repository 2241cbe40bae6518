"""What the attack tests share: the outsiders, their logins, sockets and the patient's marks.

The world is the access matrix's (tests/security/test_access_matrix.py): an incident of one
centre, assigned to one unit, with one patient bound for one hospital. The outsiders are
those the matrix excludes from it: anonymous, a logged-in account with no operational role
(an administrator account that is not staff: no centre, unit or hospital, no admin site),
crew of another unit, ED staff of another hospital and a dispatcher of another centre.
"""

from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from audit.models import AuditEvent
from config.asgi import application
from tests import factories
from tests.security.test_access_matrix import (
    ANON,
    MARKER_COMPLAINT,
    OC,
    OD,
    OE,
    World,
    build_world,
)

NOROLE = "no_role"
OUTSIDERS = (ANON, NOROLE, OC, OE, OD)
# The patient and caller as build_world seeds them.
FAMILY_NAME = "Virtanen"
CALLER_NAME = "Caller Name"
CALLER_PHONE = "+358401112233"

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")
# "Within seconds": the channel layer carries a close at once; this is the test's patience.
CLOSE_WITHIN_S = 3.0


def attack_world() -> World:
    """build_world, plus the logged-in account with no role."""
    world = build_world()
    world.users[NOROLE] = factories.AdminFactory(is_staff=False, is_superuser=False)
    return world


def patient_marks(world: World) -> list[str]:
    """Bytes that only someone allowed to see the patient or the call may receive."""
    return [
        MARKER_COMPLAINT,
        FAMILY_NAME,
        CALLER_NAME,
        CALLER_PHONE,
        world.encounter.temp_identifier,
        str(world.encounter.public_id),
    ]


def leaked(world: World, text: str) -> list[str]:
    return [mark for mark in patient_marks(world) if mark in text]


def client_for(world: World, subject: str) -> Client:
    client = Client()
    if subject != ANON:
        client.force_login(world.users[subject])
    return client


async def open_socket(
    world: World, subject: str, path: str, *, token: str | None = None
) -> tuple[WebsocketCommunicator, bool, Any]:
    """A socket of `subject` (session cookie, or `token` as a device)."""
    headers = [ORIGIN, HOST]
    if token is not None:
        headers.append((b"authorization", f"Token {token}".encode()))
    elif subject != ANON:
        client = Client()
        await sync_to_async(client.force_login)(world.users[subject])
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def frames(communicator: WebsocketCommunicator, quiet_s: float = 0.5) -> list[str]:
    """Every text frame until the socket is quiet for `quiet_s`, raw (as the bytes arrived)."""
    received = []
    while not await communicator.receive_nothing(timeout=quiet_s):
        output = await communicator.receive_output()
        if output["type"] == "websocket.close":
            break
        received.append(output.get("text") or "")
    return received


async def closed_within(communicator: WebsocketCommunicator, within_s: float) -> tuple[Any, str]:
    """The close code sent within `within_s` (or None) and the text of the frames before it.

    (A timed-out receive_output would cancel the application: the queue is polled instead.)
    """
    deadline = time.monotonic() + within_s
    texts = []
    while time.monotonic() < deadline:
        if await communicator.receive_nothing(timeout=0.1):
            continue
        output = await communicator.receive_output()
        if output["type"] == "websocket.close":
            return int(output.get("code", 1000)), "".join(texts)
        texts.append(output.get("text") or "")
    return None, "".join(texts)


def reads_of_the_world(world: World, subject: str) -> list[tuple[str, str, str]]:
    """The audited reads by `subject` of the world's patient, incident or ED board."""
    user = world.users.get(subject)
    if user is None:
        return []
    watched = {
        ("encounter", str(world.encounter.public_id)),
        ("incident", str(world.incident.pk)),
        ("ed_board", str(world.hospital.pk)),
    }
    rows = AuditEvent.objects.filter(actor_id=user.pk, action__in=("read", "list"))
    return [
        (row.action, row.object_type, row.object_id)
        for row in rows
        if (row.object_type, row.object_id) in watched
    ]


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
