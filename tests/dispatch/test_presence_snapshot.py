"""A console opened after tablets connected sees them online in its snapshot."""

import pytest
from django.test import AsyncClient

from dispatch.models import UnitPresence
from tests.dispatch.test_sockets import _connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _hello(tablet, device_id):
    assert (await tablet.receive_json_from())["type"] == "dispatch.unit.snapshot"
    await tablet.send_json_to({"type": "hello", "device_id": device_id})
    assert (await tablet.receive_json_from())["type"] == "hello.ack"


async def test_console_opened_after_a_tablet_connected_shows_it_online(dispatcher, paramedic, unit):
    tablet, connected, _ = await _connect(AsyncClient(), paramedic, "/ws/crew/")
    assert connected
    await _hello(tablet, "tablet-7")

    console, connected, _ = await _connect(AsyncClient(), dispatcher, "/ws/dispatch/")
    assert connected
    snapshot = await console.receive_json_from()
    assert snapshot["type"] == "dispatch.board.snapshot"
    [online] = snapshot["data"]["presence"]
    assert online["unit_id"] == unit.pk
    assert online["device_id"] == "tablet-7"
    await console.disconnect()

    await tablet.disconnect()
    assert await UnitPresence.objects.acount() == 0
    late, _, _ = await _connect(AsyncClient(), dispatcher, "/ws/dispatch/")
    assert (await late.receive_json_from())["data"]["presence"] == []
    await late.disconnect()


async def test_unit_stays_online_while_another_of_its_tablets_is_connected(
    dispatcher, paramedic, unit
):
    first, _, _ = await _connect(AsyncClient(), paramedic, "/ws/crew/")
    await _hello(first, "tablet-a")
    second, _, _ = await _connect(AsyncClient(), paramedic, "/ws/crew/")
    await _hello(second, "tablet-b")
    console, _, _ = await _connect(AsyncClient(), dispatcher, "/ws/dispatch/")
    assert (await console.receive_json_from())["data"]["presence"][0]["device_id"] == "tablet-b"

    await first.disconnect()
    # No offline event: the unit still has tablet-b.
    assert await console.receive_nothing(timeout=0.5)
    await second.disconnect()
    offline = await console.receive_json_from()
    assert offline["type"] == "dispatch.unit.offline"
    assert offline["data"]["unit_id"] == unit.pk
    await console.disconnect()


async def test_a_console_of_another_centre_does_not_see_the_tablet(paramedic, unit):
    from asgiref.sync import sync_to_async

    from tests.factories import DispatcherFactory

    other = await sync_to_async(DispatcherFactory)()
    assert other.dispatch_centre_id != unit.centre_id
    tablet, _, _ = await _connect(AsyncClient(), paramedic, "/ws/crew/")
    await _hello(tablet, "tablet-7")
    console, _, _ = await _connect(AsyncClient(), other, "/ws/dispatch/")
    assert (await console.receive_json_from())["data"]["presence"] == []
    await console.disconnect()
    await tablet.disconnect()
