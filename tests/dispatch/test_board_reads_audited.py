"""A dispatcher's board shows each open incident's complaint, caller and address: the console
page and every socket snapshot (connect and resync) are an audited read of each incident."""

from __future__ import annotations

import pytest
from django.test import AsyncClient

from audit.models import AuditEvent
from tests.dispatch.test_sockets import _connect


def _reads(user, via):
    return sorted(
        int(e.object_id)
        for e in AuditEvent.objects.filter(
            actor=user, action="read", object_type="incident", detail__via=via
        )
    )


@pytest.mark.django_db(transaction=True)
def test_the_console_page_is_a_read_of_each_open_incident(client, dispatcher, make_incident):
    first = make_incident(chief_complaint="chest pain")
    second = make_incident(chief_complaint="fall")
    client.force_login(dispatcher)
    assert client.get("/dispatch/").status_code == 200
    assert _reads(dispatcher, "page") == sorted([first.pk, second.pk])


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_each_socket_snapshot_is_a_read_of_each_open_incident(dispatcher, make_incident):
    from asgiref.sync import sync_to_async

    incident = await sync_to_async(make_incident)(chief_complaint="chest pain")
    console, connected, _ = await _connect(AsyncClient(), dispatcher, "/ws/dispatch/")
    assert connected
    assert (await console.receive_json_from())["type"] == "dispatch.board.snapshot"
    await console.send_json_to({"type": "resync"})
    assert (await console.receive_json_from(timeout=5))["type"] == "dispatch.board.snapshot"
    await console.disconnect()
    reads = await sync_to_async(_reads)(dispatcher, "ws_snapshot")
    assert reads == [incident.pk, incident.pk]


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_of_another_centre_reads_nothing_of_this_one(client, make_incident, centre):
    from tests import factories

    make_incident(chief_complaint="chest pain")
    other = factories.DispatcherFactory(dispatch_centre=factories.DispatchCentreFactory())
    client.force_login(other)
    assert client.get("/dispatch/").status_code == 200
    assert _reads(other, "page") == []
