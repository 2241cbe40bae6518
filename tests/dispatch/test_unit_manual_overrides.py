"""A dispatcher sets a unit's status and position by hand (radio report): marked manual,
audited, announced to the consoles, and superseded by the next device fix."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from audit.models import AuditEvent
from config.asgi import application
from dispatch import selectors, services
from dispatch.models import AssignmentTransition, Unit, UnitStatus
from tests.dispatch.conftest import HAKANIEMI, KAMPPI

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_status_by_hand_without_an_assignment_is_marked_manual_and_audited(dispatcher, unit):
    services.unit_set_status(user=dispatcher, unit_id=unit.pk, status="out_of_service")
    unit.refresh_from_db()
    assert unit.status == UnitStatus.OUT_OF_SERVICE
    summary = selectors.unit_summary(unit)
    assert summary["status_source"] == "manual"
    assert summary["status_set_by"] == selectors.user_label(dispatcher)
    assert summary["status_set_at"] is not None
    event = AuditEvent.objects.get(action="unit_status_set")
    assert event.detail["from"] == "available"
    assert event.detail["to"] == "out_of_service"


@pytest.mark.parametrize("status", ["on_scene", "transporting", "dispatched", "en_route"])
def test_a_free_unit_cannot_be_put_on_scene_by_hand(dispatcher, unit, status):
    with pytest.raises(services.InvalidTransition) as refused:
        services.unit_set_status(user=dispatcher, unit_id=unit.pk, status=status)
    assert "available or out of service" in refused.value.message
    assert refused.value.field == "status"


def test_status_by_hand_with_an_assignment_moves_the_assignment(
    dispatcher, demo_units, make_incident
):
    unit = demo_units[0]
    incident = make_incident(determinant="CHARLIE")
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[unit.pk]
    )
    with pytest.raises(services.InvalidTransition) as refused:
        services.unit_set_status(user=dispatcher, unit_id=unit.pk, status="transporting")
    assert "en route" in refused.value.message
    services.unit_set_status(
        user=dispatcher, unit_id=unit.pk, status="en_route", reason="radio: rolling"
    )
    services.unit_set_status(user=dispatcher, unit_id=unit.pk, status="on_scene")
    assignment.refresh_from_db()
    unit.refresh_from_db()
    assert assignment.status == "on_scene"
    assert assignment.on_scene_at is not None
    assert unit.status == UnitStatus.ON_SCENE
    assert unit.status_source == "manual"
    notes = list(
        AssignmentTransition.objects.filter(assignment=assignment).values_list("note", flat=True)
    )
    assert "set by a dispatcher: radio: rolling" in notes
    # The crew's next step is the lifecycle again, no longer manual.
    services.assignment_transition(
        user=dispatcher, assignment_id=assignment.pk, to_status="transporting"
    )
    unit.refresh_from_db()
    assert unit.status_source == "system"
    services.unit_set_status(user=dispatcher, unit_id=unit.pk, status="at_destination")
    services.unit_set_status(user=dispatcher, unit_id=unit.pk, status="available")
    assignment.refresh_from_db()
    assert assignment.status == "cleared"


def test_position_by_hand_is_manual_and_a_later_device_fix_supersedes_it(
    dispatcher, unit, road_map
):
    services.unit_set_position(user=dispatcher, unit_id=unit.pk, lat=KAMPPI[0], lon=KAMPPI[1])
    unit.refresh_from_db()
    summary = selectors.unit_summary(unit)
    assert (summary["lat"], summary["lon"]) == KAMPPI
    assert summary["position_source"] == "manual"
    assert summary["position_set_by"] == selectors.user_label(dispatcher)
    audit = AuditEvent.objects.get(action="unit_position_set")
    assert audit.detail["lat"] == f"{KAMPPI[0]:.6f}"
    # A fix the tablet took before the radio report does not move it back.
    older = timezone.now() - timedelta(seconds=30)
    services.unit_positions_record(
        unit_id=unit.pk,
        device_id="t",
        fixes=[services.Fix("old", HAKANIEMI[0], HAKANIEMI[1], older)],
    )
    unit.refresh_from_db()
    assert unit.position_source == "manual"
    assert (unit.last_lat, unit.last_lon) == KAMPPI
    services.unit_positions_record(
        unit_id=unit.pk,
        device_id="t",
        fixes=[services.Fix("new", HAKANIEMI[0], HAKANIEMI[1], timezone.now())],
    )
    unit.refresh_from_db()
    assert unit.position_source == "device"
    assert unit.position_set_by is None
    assert selectors.unit_summary(unit)["position_source"] == "fix"


def test_a_manual_position_is_not_flagged_stale_by_the_device_check(dispatcher, unit, settings):
    settings.UNIT_STALE_AFTER_SECONDS = 60
    services.unit_set_position(user=dispatcher, unit_id=unit.pk, lat=KAMPPI[0], lon=KAMPPI[1])
    Unit.objects.filter(pk=unit.pk).update(last_fix_at=timezone.now() - timedelta(minutes=10))
    assert services.units_flag_stale() == 0


def test_position_from_typed_coordinates_and_bad_input_names_the_field(dispatcher, unit, road_map):
    services.unit_set_position(user=dispatcher, unit_id=unit.pk, text="60.1783, 24.9505")
    unit.refresh_from_db()
    assert unit.last_lat == pytest.approx(60.1783)
    with pytest.raises(services.DispatchError) as refused:
        services.unit_set_position(user=dispatcher, unit_id=unit.pk, lat=95.0, lon=24.9)
    assert refused.value.field == "lat"
    with pytest.raises(services.DispatchError) as refused:
        services.unit_set_position(user=dispatcher, unit_id=unit.pk, text="Nowhere-at-all 999")
    assert refused.value.field == "text"


def test_api_status_and_position_by_hand(client, dispatcher, unit, road_map):
    client.force_login(dispatcher)
    status = post(client, f"/api/v1/units/{unit.pk}/status/", {"status": "out_of_service"})
    assert status.status_code == 200, status.json()
    assert status.json()["status_source"] == "manual"
    refused = post(client, f"/api/v1/units/{unit.pk}/status/", {"status": "on_scene"})
    assert refused.status_code == 409
    assert "status" in refused.json()
    moved = post(client, f"/api/v1/units/{unit.pk}/position/", {"lat": KAMPPI[0], "lon": KAMPPI[1]})
    assert moved.status_code == 200, moved.json()
    assert moved.json()["position_source"] == "manual"
    half = post(client, f"/api/v1/units/{unit.pk}/position/", {"lat": KAMPPI[0]})
    assert half.status_code == 400
    assert "lon" in half.json()
    empty = post(client, f"/api/v1/units/{unit.pk}/position/", {})
    assert empty.status_code == 400
    assert "lat" in empty.json()


def test_api_the_crew_cannot_place_its_unit_by_hand_nor_put_it_on_scene(
    client, paramedic, unit, outsider
):
    client.force_login(paramedic)
    url = f"/api/v1/units/{unit.pk}/position/"
    assert post(client, url, {"lat": KAMPPI[0], "lon": KAMPPI[1]}).status_code == 403
    crew = post(client, f"/api/v1/units/{unit.pk}/status/", {"status": "on_scene"})
    assert crew.status_code == 400
    assert "status" in crew.json()
    ok = post(client, f"/api/v1/units/{unit.pk}/status/", {"status": "out_of_service"})
    assert ok.json()["status_source"] == "system"
    client.force_login(outsider)
    assert post(client, url, {"lat": KAMPPI[0], "lon": KAMPPI[1]}).status_code == 403
    assert (
        post(client, f"/api/v1/units/{unit.pk}/status/", {"status": "available"}).status_code == 403
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_console_gets_the_manual_change_as_a_unit_event(async_client, dispatcher, unit):
    await async_client.aforce_login(dispatcher)
    cookie = f"sessionid={async_client.cookies['sessionid'].value}".encode()
    console = WebsocketCommunicator(
        application,
        "/ws/dispatch/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", cookie),
        ],
    )
    connected, _ = await console.connect()
    assert connected
    assert (await console.receive_json_from())["type"] == "dispatch.board.snapshot"
    await database_sync_to_async(services.unit_set_position)(
        user=dispatcher, unit_id=unit.pk, lat=KAMPPI[0], lon=KAMPPI[1]
    )
    moved = await console.receive_json_from(timeout=5)
    assert moved["type"] == "dispatch.unit.updated"
    assert moved["data"]["position_source"] == "manual"
    assert (moved["data"]["lat"], moved["data"]["lon"]) == KAMPPI
    await database_sync_to_async(services.unit_set_status)(
        user=dispatcher, unit_id=unit.pk, status="out_of_service"
    )
    changed = await console.receive_json_from(timeout=5)
    assert changed["data"]["status"] == "out_of_service"
    assert changed["data"]["status_source"] == "manual"
    assert changed["data"]["status_set_by"] == selectors.user_label(dispatcher)
    await console.disconnect()
