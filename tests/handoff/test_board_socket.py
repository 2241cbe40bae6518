"""The ED board over the real ASGI app: the snapshot's incoming list and live rows from the
crew tablet's device items."""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from config.asgi import application
from handoff.models import VitalsSet
from handoff.services.vitals import vitals_record
from tests.handoff.conftest import PATIENT
from tests.sockets import next_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


async def connect(user, path):
    client = AsyncClient()
    await client.aforce_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    communicator = WebsocketCommunicator(application, path, headers=[*HEADERS, cookie])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.fixture
def with_vitals(paramedic, routed):
    vitals_record(
        user=paramedic,
        encounter_id=routed.pk,
        data={"heart_rate": 92, "respiratory_rate": 18, "systolic_bp": 125, "spo2": 96},
        client_id="v1",
    )
    return routed


async def test_board_snapshot_lists_incoming_with_the_crews_vitals(ed_nurse, with_vitals):
    board = await connect(ed_nurse, "/ws/ed/")
    snapshot = await board.receive_json_from()
    assert snapshot["type"] == "handoff.board.snapshot"
    [row] = snapshot["data"]["incoming"]
    assert row["temp_identifier"] == with_vitals.temp_identifier
    assert row["latest_vitals"]["values"]["heart_rate"] == 92
    assert row["trend"]["heart_rate"][0][1] == 92
    assert row["acuity"] == "low"
    assert PATIENT["family_name"] not in json.dumps(snapshot)
    await board.disconnect()


async def test_vitals_from_the_tablet_reach_the_board_live(paramedic, ed_nurse, with_vitals):
    board = await connect(ed_nurse, "/ws/ed/")
    await board.receive_json_from()
    tablet = await connect(paramedic, "/ws/crew/")
    await tablet.receive_json_from()
    await tablet.send_json_to({"type": "hello", "device_id": "tab-1"})
    await next_of(tablet, "hello.ack")
    item = {
        "type": "vitals",
        "id": "vit-2",
        "seq": 1,
        "data": {
            "encounter": str(with_vitals.public_id),
            "vitals_id": "v2",
            "vitals": {"heart_rate": 131, "respiratory_rate": 26, "spo2": 91, "avpu": "V"},
        },
    }
    await tablet.send_json_to(item)
    ack = await next_of(tablet, "ack")
    assert ack["id"] == "vit-2"
    assert ack["news2_risk"] == "high"
    await tablet.send_json_to(item)
    assert (await next_of(tablet, "ack"))["id"] == "vit-2"
    assert await VitalsSet.objects.filter(encounter=with_vitals).acount() == 2
    before: list[str] = []
    row = await next_of(board, "handoff.encounter.updated", before)
    assert row["data"]["latest_vitals"]["values"]["heart_rate"] == 131
    assert [p[1] for p in row["data"]["trend"]["heart_rate"]] == [92, 131]
    # NEWS2 >= 7: the deterioration proposal goes out in the same transaction, first.
    assert before == ["handoff.activation.proposed"]
    assert [a["kind"] for a in row["data"]["activations"]] == ["deterioration"]
    bad = {**item, "id": "vit-3", "seq": 2}
    bad["data"] = {**item["data"], "vitals_id": "v3", "vitals": {"heart_rate": 400}}
    await tablet.send_json_to(bad)
    rejected = await next_of(tablet, "reject")
    assert rejected["field"] == "heart_rate"
    assert "0-300" in rejected["message"]
    await tablet.disconnect()
    await board.disconnect()


async def test_tablet_opens_an_encounter_offline_style_and_picks_a_destination(
    paramedic, assignment, hospital
):
    tablet = await connect(paramedic, "/ws/crew/")
    await tablet.receive_json_from()
    await tablet.send_json_to({"type": "hello", "device_id": "tab-2"})
    await next_of(tablet, "hello.ack")
    public_id = "5b0c1d0e-1111-4a2b-8c3d-222233334444"
    await tablet.send_json_to(
        {
            "type": "encounter",
            "id": "enc-1",
            "seq": 1,
            "data": {"encounter": public_id, "assignment_id": assignment.pk, "fields": PATIENT},
        }
    )
    opened = await next_of(tablet, "ack")
    assert opened["encounter"] == public_id
    await tablet.send_json_to(
        {
            "type": "destination",
            "id": "dest-1",
            "seq": 2,
            "data": {"encounter": public_id, "hospital_id": 99999, "reason": "closest"},
        }
    )
    assert (await next_of(tablet, "reject"))["field"] == "hospital"
    await tablet.send_json_to(
        {
            "type": "destination",
            "id": "dest-2",
            "seq": 3,
            "data": {"encounter": public_id, "hospital_id": hospital.pk, "reason": "closest"},
        }
    )
    assert (await next_of(tablet, "ack"))["hospital_id"] == hospital.pk
    await tablet.send_json_to(
        {
            "type": "message",
            "id": "msg-1",
            "seq": 4,
            "data": {"encounter": public_id, "text": "10 min out", "message_id": "m1"},
        }
    )
    assert (await next_of(tablet, "ack"))["id"] == "msg-1"
    await tablet.disconnect()
