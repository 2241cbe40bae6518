"""Attacks on the sockets' subscriptions by changed ids (issue 22, "Trust").

A screen's socket follows one stream, resolved from its user (realtime.consumers.ScreenConsumer:
`resolve` is the access function): there is no id to subscribe by. Each outsider tries anyway,
on every socket route, with the world's ids in the query string, a `subscribe` frame naming
the world's stream, a `resync` from 0 naming it, and on the crew socket the device items that
carry ids (the world's encounter, assignment and hospital). Each is refused, or answered from
the outsider's own stream only; no frame holds a byte of the world's patient or call, and
nothing of it is audited as read by them. The rightful subject, doing the same, gets the
patient, audited: the control that shows the marks and the audit check can fail.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from config.asgi import websocket_urlpatterns
from dispatch.events import centre_group, unit_group
from handoff.events import ed_group
from tests.security.attack import (
    NOROLE,
    OUTSIDERS,
    attack_world,
    frames,
    leaked,
    open_socket,
    reads_of_the_world,
)
from tests.security.test_access_matrix import ANON, OC, OD, OE, C, D, E, World

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SOCKET_PATHS = ["/" + str(pattern.pattern) for pattern in websocket_urlpatterns]
# The socket each role may open (its own organisation's stream).
OWN_SOCKET = {
    "/ws/crew/": {C, OC},
    "/ws/ed/": {E, OE},
    "/ws/dispatch/": {D, OD},
}
RIGHTFUL = {"/ws/crew/": C, "/ws/ed/": E, "/ws/dispatch/": D}


async def test_every_socket_route_is_attacked():
    assert set(SOCKET_PATHS) == set(OWN_SOCKET)


def _streams(world: World) -> list[str]:
    return [
        unit_group(world.unit.pk),
        ed_group(world.hospital.pk),
        centre_group(world.incident.centre_id),
    ]


def _query(world: World, since: int | None = 0) -> str:
    ids = {
        "unit": world.unit.pk,
        "unit_id": world.unit.pk,
        "hospital": world.hospital.pk,
        "hospital_id": world.hospital.pk,
        "centre": world.incident.centre_id,
        "incident": world.incident.pk,
        "encounter": world.encounter.public_id,
        "stream": ed_group(world.hospital.pk),
    }
    query = "&".join(f"{key}={value}" for key, value in ids.items())
    return query + (f"&since={since}" if since is not None else "")


def _device_items(world: World) -> list[dict]:
    """Crew items naming the world's objects instead of the sender's own."""
    public_id = str(world.encounter.public_id)
    items = [
        {"type": "encounter", "data": {"encounter": public_id, "fields": {"age_text": "70"}}},
        {
            "type": "encounter",
            "data": {
                "encounter": "5b7e3c1e-8f7a-4d55-9c43-1f0e9c2b7a10",
                "assignment_id": world.assignment.pk,
                "fields": {},
            },
        },
        {"type": "vitals", "data": {"encounter": public_id, "vitals": {"heart_rate": 80}}},
        {"type": "message", "data": {"encounter": public_id, "text": "who is this"}},
        {
            "type": "destination",
            "data": {"encounter": public_id, "hospital_id": world.hospital.pk, "reason": "x"},
        },
        {"type": "arrival", "data": {"encounter": public_id}},
        {"type": "transfer", "data": {"encounter": public_id}},
        {"type": "status", "data": {"assignment_id": world.assignment.pk, "status": "on_scene"}},
        {"type": "acknowledge", "data": {"assignment_id": world.assignment.pk}},
    ]
    return [{**item, "id": f"attack-{i:04d}", "seq": i + 1} for i, item in enumerate(items)]


async def _attack(world: World, subject: str, path: str) -> tuple[bool, object, str]:
    """Every way to name the world's stream on `path`; (connected, close code, all frames)."""
    communicator, connected, code = await open_socket(world, subject, path + "?" + _query(world))
    if not connected:
        return False, code, ""
    try:
        received = await frames(communicator)
        for stream in _streams(world):
            await communicator.send_json_to({"type": "subscribe", "stream": stream})
            await communicator.send_json_to({"type": "resync", "since": 0, "stream": stream})
        await communicator.send_json_to(
            {"type": "resync", "since": 0, "hospital_id": world.hospital.pk}
        )
        if path == "/ws/crew/":
            await communicator.send_json_to({"type": "hello", "device_id": "attack-tablet"})
            await communicator.send_json_to({"type": "batch", "items": _device_items(world)})
            for item in _device_items(world):
                await communicator.send_json_to({**item, "seq": item["seq"] + 100})
        received += await frames(communicator, quiet_s=1.0)
    finally:
        await communicator.disconnect()
    return True, code, "\n".join(received)


@pytest.mark.parametrize("subject", OUTSIDERS)
@pytest.mark.parametrize("path", SOCKET_PATHS)
async def test_an_outsider_naming_the_worlds_ids_gets_nothing_of_its_patient(path, subject):
    world = await sync_to_async(attack_world)()
    connected, code, text = await _attack(world, subject, path)
    if subject not in OWN_SOCKET[path]:
        assert not connected
        assert code == (4401 if subject == ANON else 4403), code
        assert text == ""
    else:
        assert connected
        # Answered from the outsider's own stream only: every stream named is their own.
        own = {
            OC: unit_group(world.users[OC].unit_id),
            OE: ed_group(world.users[OE].hospital_id),
            OD: centre_group(world.users[OD].dispatch_centre_id),
        }[subject]
        for stream in _streams(world):
            assert f'"stream": "{stream}"' not in text
            assert f'"stream":"{stream}"' not in text
        assert own in text
    assert leaked(world, text) == [], f"{subject} on {path} received {leaked(world, text)}"
    assert await sync_to_async(reads_of_the_world)(world, subject) == []


@pytest.mark.parametrize("path", SOCKET_PATHS)
async def test_the_rightful_subject_doing_the_same_gets_the_patient_audited(path):
    """The control: the same frames from the world's own subject do reach its data."""
    world = await sync_to_async(attack_world)()
    subject = RIGHTFUL[path]
    connected, _, text = await _attack(world, subject, path)
    assert connected
    if path == "/ws/dispatch/":
        # The dispatch board shows the job (its complaint), never the clinical record.
        assert "MARKER-COMPLAINT-4471" in text
        assert "Virtanen" not in text
        return
    assert world.encounter.temp_identifier in text
    reads = await sync_to_async(reads_of_the_world)(world, subject)
    # since=0 is a replay: each patient it resends is a read (handoff.access.replay_visible).
    assert ("read", "encounter", str(world.encounter.public_id)) in reads, reads


async def test_a_refused_socket_is_not_audited_as_a_read():
    """Refusals leave no read: not the world's, and none at all by the refused user."""
    from audit.models import AuditEvent

    world = await sync_to_async(attack_world)()
    for subject in (NOROLE, OC, OE, OD):
        for path in SOCKET_PATHS:
            if subject in OWN_SOCKET[path]:
                continue
            communicator, connected, _ = await open_socket(world, subject, path + "?since=0")
            assert not connected
            await communicator.disconnect()
        count = await sync_to_async(
            AuditEvent.objects.filter(actor_id=world.users[subject].pk).count
        )()
        assert count == 0, subject
