"""Reads of patient data that were neither access-checked nor audited (issue 24, items 5, 6).

Each test performs the read as the attacker or the screen does, over HTTP with the Django
client or over WebSocket against the real ASGI app, and then looks at the audit trail.
"""

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from audit.models import AuditEvent
from config.asgi import application
from handoff.models import Encounter
from handoff.services.encounters import encounter_close, encounter_open
from tests.handoff.conftest import PATIENT, make_assignment
from tests.sockets import next_of

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def reads(**filters):
    return list(
        AuditEvent.objects.filter(action="read", **filters)
        .order_by("seq")
        .values_list("actor_id", "object_type", "object_id")
    )


def _open_with_own_id(client, paramedic, assignment, public_id):
    return client.post(
        f"/api/v1/assignments/{assignment.pk}/encounters/",
        {"public_id": str(public_id), **PATIENT},
        content_type="application/json",
    )


# --- Item 5: the idempotent create as a way back into a closed record ----------------------


@pytest.mark.django_db
def test_crew_cannot_reread_a_closed_encounter_by_posting_its_public_id_again(
    client, paramedic, assignment
):
    client.force_login(paramedic)
    public_id = uuid.uuid4()
    assert _open_with_own_id(client, paramedic, assignment, public_id).status_code == 201
    encounter = encounter_close(
        user=paramedic,
        encounter_id=Encounter.objects.get(public_id=public_id).pk,
    )
    # The assignment is still active: the crew may open new records on it, not re-read this.
    replay = _open_with_own_id(client, paramedic, assignment, public_id)
    assert replay.status_code == 403, replay.content[:200]
    assert PATIENT["family_name"].encode() not in replay.content
    # The same answer as a read of the record.
    assert client.get(f"/api/v1/encounters/{encounter.public_id}/").status_code == 403


@pytest.mark.django_db
def test_crew_of_another_unit_gets_403_not_a_hint_for_someone_elses_public_id(
    client, encounter, centre, dispatcher
):
    from tests import factories

    unit = factories.UnitFactory(home_station=factories.StationFactory(centre=centre))
    crew = factories.CrewFactory(unit=unit)
    own = make_assignment(unit, dispatcher)
    client.force_login(crew)
    replay = _open_with_own_id(client, crew, own, encounter.public_id)
    assert replay.status_code == 403, replay.content[:200]


@pytest.mark.django_db
def test_idempotent_replay_to_its_crew_is_an_audited_read(
    client, paramedic, assignment, django_capture_on_commit_callbacks
):
    client.force_login(paramedic)
    public_id = uuid.uuid4()
    assert _open_with_own_id(client, paramedic, assignment, public_id).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        replay = _open_with_own_id(client, paramedic, assignment, public_id)
    assert replay.status_code == 201
    assert replay.json()["encounter_id"] == str(public_id)
    assert reads() == [(paramedic.pk, "encounter", str(public_id))]


# --- Item 6: lists, snapshots, resyncs and replays -----------------------------------------


@pytest.mark.django_db
def test_the_assignments_encounter_list_audits_each_patient(
    client, paramedic, assignment, django_capture_on_commit_callbacks
):
    first = encounter_open(user=paramedic, assignment_id=assignment.pk, data=PATIENT)
    second = encounter_open(user=paramedic, assignment_id=assignment.pk)
    client.force_login(paramedic)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.get(f"/api/v1/assignments/{assignment.pk}/encounters/")
    assert answer.status_code == 200
    assert len(answer.json()) == 2
    assert sorted(reads()) == sorted(
        [
            (paramedic.pk, "encounter", str(first.public_id)),
            (paramedic.pk, "encounter", str(second.public_id)),
        ]
    )


async def _connect(user, path):
    client = AsyncClient()
    await client.aforce_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    communicator = WebsocketCommunicator(application, path, headers=[*HEADERS, cookie])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _reads(**filters):
    return await sync_to_async(reads)(**filters)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_ed_board_snapshot_and_each_resync_audit_each_patient_shown(ed_nurse, routed):
    board = await _connect(ed_nurse, "/ws/ed/")
    try:
        snapshot = await next_of(board, "handoff.board.snapshot")
        assert [r["encounter_id"] for r in snapshot["data"]["incoming"]] == [str(routed.public_id)]
        mine = (ed_nurse.pk, "encounter", str(routed.public_id))
        assert (await _reads(object_type="encounter")).count(mine) == 1
        await board.send_json_to({"type": "resync"})
        await next_of(board, "handoff.board.snapshot")
        assert (await _reads(object_type="encounter")).count(mine) == 2
    finally:
        await board.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_crew_socket_replay_audits_each_patient_it_resends(paramedic, encounter):
    tablet = await _connect(paramedic, "/ws/crew/?since=0")
    try:
        updated = await next_of(tablet, "handoff.encounter.updated")
        assert updated["data"]["encounter_id"] == str(encounter.public_id)
    finally:
        await tablet.disconnect()
    assert (paramedic.pk, "encounter", str(encounter.public_id)) in await _reads(
        object_type="encounter"
    )


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_ed_board_replay_audits_each_patient_it_resends(ed_nurse, routed):
    board = await _connect(ed_nurse, "/ws/ed/?since=0")
    try:
        await next_of(board, "handoff.encounter.updated")
    finally:
        await board.disconnect()
    assert (ed_nurse.pk, "encounter", str(routed.public_id)) in await _reads(
        object_type="encounter"
    )


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_crew_snapshot_audits_the_incident_of_its_job(paramedic, assignment):
    tablet = await _connect(paramedic, "/ws/crew/")
    try:
        snapshot = await next_of(tablet, "dispatch.unit.snapshot")
        assert snapshot["data"]["assignment"]["incident"]["id"] == assignment.incident_id
    finally:
        await tablet.disconnect()
    assert (paramedic.pk, "incident", str(assignment.incident_id)) in await _reads(
        object_type="incident"
    )
