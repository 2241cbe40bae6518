"""The handover over the real ASGI app: the tablet's arrival and transfer items reach the
ED board live, the handed-over card leaves `incoming` for `recent` in the next snapshot, and
the crew's confirmation after "Clear" is accepted."""

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from dispatch.models import AssignmentStatus
from handoff.services.handover import transfer_of_care_confirm
from tests.handoff.test_board_socket import connect
from tests.sockets import next_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _clear(assignment):
    assignment.status = AssignmentStatus.CLEARED
    assignment.cleared_at = timezone.now()
    assignment.save(update_fields=["status", "cleared_at"])


async def test_arrival_and_crew_confirmation_after_clear_reach_the_board(
    paramedic, ed_nurse, routed, assignment
):
    encounter = str(routed.public_id)
    board = await connect(ed_nurse, "/ws/ed/")
    snapshot = await board.receive_json_from()
    assert [r["encounter_id"] for r in snapshot["data"]["incoming"]] == [encounter]
    assert snapshot["data"]["recent"] == []
    tablet = await connect(paramedic, "/ws/crew/")
    await tablet.receive_json_from()
    await tablet.send_json_to({"type": "hello", "device_id": "tab-h"})
    await next_of(tablet, "hello.ack")

    await tablet.send_json_to(
        {"type": "arrival", "id": "arr-1", "seq": 1, "data": {"encounter": encounter}}
    )
    assert (await next_of(tablet, "ack"))["arrived_at"]
    row = await next_of(board, "handoff.encounter.updated")
    assert row["data"]["arrived_at"] is not None

    await sync_to_async(transfer_of_care_confirm)(user=ed_nurse, encounter_id=routed.pk)
    await next_of(board, "handoff.encounter.updated")
    await sync_to_async(_clear)(assignment)
    await tablet.send_json_to(
        {"type": "transfer", "id": "tr-1", "seq": 2, "data": {"encounter": encounter}}
    )
    ack = await next_of(tablet, "ack")
    assert ack["transfer_of_care_at"] is not None
    done = await next_of(board, "handoff.encounter.updated")
    assert done["data"]["status"] == "closed"
    assert done["data"]["offload_seconds"] is not None
    await tablet.disconnect()
    await board.disconnect()

    again = await connect(ed_nurse, "/ws/ed/")
    snapshot = await again.receive_json_from()
    assert snapshot["data"]["incoming"] == []
    assert [r["encounter_id"] for r in snapshot["data"]["recent"]] == [encounter]
    await again.disconnect()
