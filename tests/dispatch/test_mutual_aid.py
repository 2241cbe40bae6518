"""Mutual aid between neighbouring centres: a partner's available units in the ranking,
requested from that centre and sent only when it accepts; the lender never sees who called."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from audit.models import AuditEvent
from config.asgi import application
from dispatch import events, selectors, services
from dispatch.models import (
    Assignment,
    MutualAidAgreement,
    UnitStatus,
)
from realtime.models import EventLog
from tests import factories
from tests.dispatch.conftest import HAKANIEMI, KAMPPI, SENATE_SQUARE
from tests.sockets import next_of, receive_message

CALLER_NAME = "Aino Soittaja-4471"
CALLER_PHONE = "+358409998877"


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def agree(one, other, **extra):
    low, high = sorted((one, other), key=lambda c: c.pk)
    return MutualAidAgreement.objects.create(centre_a=low, centre_b=high, **extra)


@pytest.fixture
def partner(db, centre):
    partner = factories.DispatchCentreFactory(name="Vantaa Dispatch", code="vantaa")
    agree(centre, partner)
    return partner


@pytest.fixture
def partner_dispatcher(partner):
    return factories.DispatcherFactory(dispatch_centre=partner)


@pytest.fixture
def partner_unit(road_map, partner):
    station = factories.StationFactory(centre=partner, lat=KAMPPI[0], lon=KAMPPI[1])
    return factories.UnitFactory(home_station=station, unit_type="ALS", call_sign="VAN-11")


@pytest.fixture
def home_unit(road_map, centre):
    station = factories.StationFactory(centre=centre, lat=HAKANIEMI[0], lon=HAKANIEMI[1])
    return factories.UnitFactory(home_station=station, unit_type="ALS", call_sign="HEL-21")


@pytest.fixture
def incident(road_map, dispatcher, home_unit, partner_unit):
    return services.incident_create(
        user=dispatcher,
        chief_complaint="chest pain",
        determinant="DELTA",
        location=services.LocationInput(source="map", lat=SENATE_SQUARE[0], lon=SENATE_SQUARE[1]),
        caller_name=CALLER_NAME,
        caller_phone=CALLER_PHONE,
        notes="lives alone",
        access_notes="Gate 4411",
        allow_duplicate=True,
    )


def ask(dispatcher, incident, unit):
    return services.mutual_aid_request(user=dispatcher, incident_id=incident.pk, unit_id=unit.pk)


# --- Recommendations -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_partners_available_unit_is_ranked_with_the_centres_own_and_marked(
    client, dispatcher, incident, home_unit, partner_unit
):
    client.force_login(dispatcher)
    recs = client.get(f"/api/v1/incidents/{incident.pk}/recommendations/").json()
    by_unit = {r["unit_id"]: r for r in recs}
    assert set(by_unit) == {home_unit.pk, partner_unit.pk}
    lent = by_unit[partner_unit.pk]
    assert lent["mutual_aid"] is True
    assert lent["lending_centre"] == {
        "id": partner_unit.centre_id,
        "name": "Vantaa Dispatch",
        "code": "vantaa",
    }
    assert lent["eta_s"] is not None
    assert lent["excluded"] is None
    assert by_unit[home_unit.pk]["mutual_aid"] is False
    assert by_unit[home_unit.pk]["lending_centre"] is None
    assert [r["eta_s"] for r in recs] == sorted(r["eta_s"] for r in recs)


@pytest.mark.django_db
def test_only_available_units_of_centres_with_an_active_agreement_appear(
    dispatcher, incident, home_unit, partner_unit, partner, centre
):
    stranger = factories.DispatchCentreFactory()
    factories.UnitFactory(home_station=factories.StationFactory(centre=stranger, lat=KAMPPI[0]))
    factories.UnitFactory(home_station=partner_unit.home_station, status=UnitStatus.OUT_OF_SERVICE)
    listed = {r.unit.pk for r in selectors.incident_recommendations(incident)}
    assert listed == {home_unit.pk, partner_unit.pk}
    MutualAidAgreement.objects.update(share_units=False)
    assert {r.unit.pk for r in selectors.incident_recommendations(incident)} == {home_unit.pk}
    MutualAidAgreement.objects.update(share_units=True, active=False)
    assert {r.unit.pk for r in selectors.incident_recommendations(incident)} == {home_unit.pk}


@pytest.mark.django_db
def test_a_partner_unit_cannot_be_dispatched_directly(client, dispatcher, incident, partner_unit):
    client.force_login(dispatcher)
    answer = post(
        client, f"/api/v1/incidents/{incident.pk}/assignments/", {"unit_ids": [partner_unit.pk]}
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "mutual_aid_required"
    assert "Vantaa Dispatch" in body["unit_ids"][0]
    assert f"/api/v1/incidents/{incident.pk}/mutual-aid/" in body["unit_ids"][0]
    assert not Assignment.objects.exists()


# --- Request, accept, refuse, withdraw ----------------------------------------------------


@pytest.mark.django_db
def test_accepting_dispatches_the_lent_unit_as_a_local_dispatch_would(
    client, dispatcher, partner_dispatcher, incident, partner_unit
):
    client.force_login(dispatcher)
    asked = post(
        client, f"/api/v1/incidents/{incident.pk}/mutual-aid/", {"unit_id": partner_unit.pk}
    )
    assert asked.status_code == 201, asked.json()
    request = asked.json()
    assert request["status"] == "requested"
    assert request["eta_s"] is not None
    assert request["distance_m"] is not None
    assert request["requesting_centre"]["id"] == incident.centre_id
    assert request["lending_centre"]["name"] == "Vantaa Dispatch"
    partner_unit.refresh_from_db()
    assert partner_unit.status == UnitStatus.AVAILABLE  # nothing moves before the lender says so

    client.force_login(partner_dispatcher)
    accepted = post(client, f"/api/v1/mutual-aid/{request['id']}/accept/")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["status"] == "accepted"
    assignment = Assignment.objects.get(pk=accepted.json()["assignment_id"])
    assert (assignment.incident_id, assignment.unit_id) == (incident.pk, partner_unit.pk)
    assert assignment.transitions.get().note.startswith("mutual aid from Vantaa Dispatch")
    partner_unit.refresh_from_db()
    assert partner_unit.status == UnitStatus.DISPATCHED
    # The crew's tablet got the job exactly as for a local dispatch.
    created = EventLog.objects.get(
        stream=events.unit_group(partner_unit.pk), type="dispatch.assignment.created"
    )
    assert created.data["incident"]["address"] == incident.address
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"mutual_aid_request", "mutual_aid_accept"} <= actions

    # The lender sees its unit, not the incident.
    assert client.get(f"/api/v1/incidents/{incident.pk}/").status_code == 404
    assert (
        post(
            client, f"/api/v1/assignments/{assignment.pk}/transition/", {"status": "en_route"}
        ).status_code
        == 403
    )
    lender_units = client.get("/api/v1/units/").json()
    assert [u["status"] for u in lender_units if u["id"] == partner_unit.pk] == ["dispatched"]

    # The crew and the requesting centre work the assignment.
    crew = factories.CrewFactory(unit=partner_unit)
    client.force_login(crew)
    moved = post(client, f"/api/v1/assignments/{assignment.pk}/transition/", {"status": "en_route"})
    assert moved.status_code == 200, moved.json()
    client.force_login(dispatcher)
    radio = post(client, f"/api/v1/units/{partner_unit.pk}/status/", {"status": "on_scene"})
    assert radio.status_code == 200, radio.json()
    assignment.refresh_from_db()
    assert assignment.status == "on_scene"


@pytest.mark.django_db
def test_refusing_needs_a_reason_and_is_shown_to_the_requester(
    client, dispatcher, partner_dispatcher, incident, partner_unit
):
    request = ask(dispatcher, incident, partner_unit)
    client.force_login(partner_dispatcher)
    bare = post(client, f"/api/v1/mutual-aid/{request.pk}/refuse/", {"note": ""})
    assert bare.status_code == 400
    assert "note" in bare.json()
    refused = post(client, f"/api/v1/mutual-aid/{request.pk}/refuse/", {"note": "own call"})
    assert refused.status_code == 200
    assert (refused.json()["status"], refused.json()["decision_note"]) == ("refused", "own call")
    again = post(client, f"/api/v1/mutual-aid/{request.pk}/accept/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert not Assignment.objects.exists()
    requester_stream = EventLog.objects.filter(
        stream=events.centre_group(incident.centre_id), type="dispatch.aid.updated"
    )
    assert [e.data["status"] for e in requester_stream.order_by("seq")] == [
        "requested",
        "refused",
    ]


@pytest.mark.django_db
def test_only_the_lender_decides_and_only_the_requester_withdraws(
    client, dispatcher, partner_dispatcher, outsider, incident, partner_unit
):
    request = ask(dispatcher, incident, partner_unit)
    client.force_login(dispatcher)
    assert post(client, f"/api/v1/mutual-aid/{request.pk}/accept/").status_code == 403
    client.force_login(outsider)
    assert post(client, f"/api/v1/mutual-aid/{request.pk}/accept/").status_code == 403
    assert post(client, f"/api/v1/mutual-aid/{request.pk}/withdraw/").status_code == 403
    client.force_login(partner_dispatcher)
    assert post(client, f"/api/v1/mutual-aid/{request.pk}/withdraw/").status_code == 403
    client.force_login(dispatcher)
    withdrawn = post(client, f"/api/v1/mutual-aid/{request.pk}/withdraw/")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert AuditEvent.objects.filter(action="mutual_aid_withdraw").exists()
    # Withdrawn, the unit may be asked for again.
    assert ask(dispatcher, incident, partner_unit).status == "requested"


@pytest.mark.django_db
def test_a_unit_no_longer_available_cannot_be_accepted(
    client, dispatcher, partner_dispatcher, incident, partner_unit
):
    request = ask(dispatcher, incident, partner_unit)
    services.unit_set_status(
        user=partner_dispatcher, unit_id=partner_unit.pk, status="out_of_service"
    )
    client.force_login(partner_dispatcher)
    answer = post(client, f"/api/v1/mutual-aid/{request.pk}/accept/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "unit_unavailable"
    assert "no longer available" in answer.json()["unit"][0]
    request.refresh_from_db()
    assert request.status == "requested"
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_a_request_needs_a_partner_unit_that_is_free_and_not_asked_for(
    dispatcher, incident, home_unit, partner_unit
):
    with pytest.raises(services.DispatchError) as own:
        ask(dispatcher, incident, home_unit)
    assert own.value.field == "unit_id"
    assert "dispatch it directly" in own.value.message
    stranger_unit = factories.UnitFactory(
        home_station=factories.StationFactory(lat=KAMPPI[0], lon=KAMPPI[1])
    )
    with pytest.raises(services.DispatchError) as stranger:
        ask(dispatcher, incident, stranger_unit)
    assert stranger.value.field == "unit_id"
    assert stranger_unit.call_sign not in stranger.value.message
    ask(dispatcher, incident, partner_unit)
    with pytest.raises(services.DispatchError) as twice:
        ask(dispatcher, incident, partner_unit)
    assert twice.value.code == "unit_unavailable"
    assert "already been requested" in twice.value.message
    # An open request takes the unit out of the other ranking lists of the requester.
    assert partner_unit.pk not in {r.unit.pk for r in selectors.incident_recommendations(incident)}


@pytest.mark.django_db
def test_closing_the_incident_withdraws_its_open_requests(
    dispatcher, partner_dispatcher, incident, partner_unit
):
    request = ask(dispatcher, incident, partner_unit)
    services.incident_close(user=dispatcher, incident_id=incident.pk, disposition="cancelled")
    request.refresh_from_db()
    assert request.status == "withdrawn"
    assert request.decision_note == "incident closed"
    lender_events = EventLog.objects.filter(
        stream=events.centre_group(partner_unit.centre_id), type="dispatch.aid.updated"
    )
    assert lender_events.order_by("-seq").first().data["status"] == "withdrawn"
    with pytest.raises(services.InvalidTransition):
        services.mutual_aid_decide(user=partner_dispatcher, request_id=request.pk, accept=True)


# --- The board and privacy --------------------------------------------------------------


@pytest.mark.django_db
def test_the_board_lists_open_requests_both_ways_and_nothing_to_others(
    dispatcher, partner_dispatcher, outsider, incident, partner_unit
):
    request = ask(dispatcher, incident, partner_unit)
    asked = selectors.dispatch_board_snapshot(centre_id=incident.centre_id)["aid_requests"]
    lent = selectors.dispatch_board_snapshot(centre_id=partner_unit.centre_id)["aid_requests"]
    assert [r["id"] for r in asked] == [r["id"] for r in lent] == [request.pk]
    assert (
        selectors.dispatch_board_snapshot(centre_id=outsider.dispatch_centre_id)["aid_requests"]
        == []
    )
    # The lender's board has its unit, not the other centre's incident.
    board = selectors.dispatch_board_snapshot(centre_id=partner_unit.centre_id)
    assert board["incidents"] == []
    services.mutual_aid_withdraw(user=dispatcher, request_id=request.pk)
    assert selectors.dispatch_board_snapshot(centre_id=incident.centre_id)["aid_requests"] == []


@pytest.mark.django_db
def test_the_lender_never_gets_the_callers_name_or_phone(
    client, dispatcher, partner_dispatcher, incident, partner_unit
):
    client.force_login(dispatcher)
    asked = post(
        client, f"/api/v1/incidents/{incident.pk}/mutual-aid/", {"unit_id": partner_unit.pk}
    )
    client.force_login(partner_dispatcher)
    answers = [
        post(client, f"/api/v1/mutual-aid/{asked.json()['id']}/accept/").content,
        client.get("/api/v1/units/").content,
        client.get("/api/v1/incidents/").content,
        json.dumps(selectors.dispatch_board_snapshot(centre_id=partner_unit.centre_id)).encode(),
    ]
    lender_events = EventLog.objects.filter(stream=events.centre_group(partner_unit.centre_id))
    assert {e.type for e in lender_events} >= {"dispatch.aid.updated", "dispatch.unit.updated"}
    answers += [json.dumps(e.data).encode() for e in lender_events]
    for text in answers:
        for secret in (CALLER_NAME, CALLER_PHONE, "Gate 4411", "lives alone"):
            assert secret.encode() not in text


async def _console(async_client, user):
    await async_client.aforce_login(user)
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
    return console


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_both_consoles_get_the_request_live_and_the_lender_no_caller_data(
    async_client, dispatcher, partner_dispatcher, outsider, incident, partner_unit
):
    asking = await _console(async_client, dispatcher)
    lending = await _console(async_client, partner_dispatcher)
    other = await _console(async_client, outsider)
    for console in (asking, lending, other):
        await next_of(console, "dispatch.board.snapshot")
    request = await database_sync_to_async(ask)(dispatcher, incident, partner_unit)
    for console in (asking, lending):
        live = await next_of(console, "dispatch.aid.updated")
        assert (live["data"]["id"], live["data"]["status"]) == (request.pk, "requested")
    await database_sync_to_async(services.mutual_aid_decide)(
        user=partner_dispatcher, request_id=request.pk, accept=True
    )
    frames = []
    while not frames or frames[-1]["type"] != "dispatch.aid.updated":
        frames.append(await receive_message(lending))
    assert frames[-1]["data"]["status"] == "accepted"
    # Its own unit's status, never the other centre's incident.
    assert [f["data"]["status"] for f in frames if f["type"] == "dispatch.unit.updated"] == [
        "dispatched"
    ]
    assert not [f for f in frames if f["type"].startswith("dispatch.incident.")]
    taken = await next_of(asking, "dispatch.incident.updated")
    assert [a["unit_id"] for a in taken["data"]["assignments"]] == [partner_unit.pk]
    # A centre without an agreement hears nothing of it.
    assert await other.receive_nothing(timeout=0.5)
    for console in (asking, lending, other):
        await console.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_received_request_in_the_lenders_snapshot_is_an_audited_read(
    async_client, dispatcher, partner_dispatcher, incident, partner_unit
):
    await database_sync_to_async(ask)(dispatcher, incident, partner_unit)
    lending = await _console(async_client, partner_dispatcher)
    snapshot = await next_of(lending, "dispatch.board.snapshot")
    assert [r["incident_id"] for r in snapshot["data"]["aid_requests"]] == [incident.pk]
    await lending.disconnect()
    reads = await database_sync_to_async(
        lambda: list(
            AuditEvent.objects.filter(
                actor=partner_dispatcher, action="read", detail__via="ws_snapshot"
            ).values_list("object_id", flat=True)
        )
    )()
    assert reads == [str(incident.pk)]


# --- The lent unit on the requesting centre's board ----------------------------------------


def _unit_events(centre, unit):
    return [
        e.data
        for e in EventLog.objects.filter(stream=events.centre_group(centre.pk)).order_by("seq")
        if e.type == "dispatch.unit.updated" and e.data["id"] == unit.pk
    ]


def _moved(centre, unit):
    return [
        u
        for e in EventLog.objects.filter(
            stream=events.centre_group(centre.pk), type="dispatch.units.moved"
        )
        for u in e.data["units"]
        if u["id"] == unit.pk
    ]


def _board_unit(centre, unit):
    board = selectors.dispatch_board_snapshot(centre_id=centre.pk)
    return next((u for u in board["units"] if u["id"] == unit.pk), None)


@pytest.mark.django_db(transaction=True)
def test_the_lent_unit_is_on_the_requesting_board_while_it_works_there_and_leaves_after(
    dispatcher, partner_dispatcher, incident, partner_unit, partner, centre
):
    assert _board_unit(centre, partner_unit) is None
    request = ask(dispatcher, incident, partner_unit)
    assert _board_unit(centre, partner_unit) is None  # asked for, not lent yet
    assert _unit_events(centre, partner_unit) == []
    services.mutual_aid_decide(user=partner_dispatcher, request_id=request.pk, accept=True)

    shown = _board_unit(centre, partner_unit)
    assert shown is not None
    assert (shown["status"], shown["lent_by"]["name"]) == ("dispatched", "Vantaa Dispatch")
    assert "lent_by" not in _board_unit(partner, partner_unit)  # its own centre: as ever
    [dispatched] = _unit_events(centre, partner_unit)
    assert dispatched["status"] == "dispatched"
    assert dispatched["lent_by"]["code"] == "vantaa"
    assert dispatched["released"] is False

    # A device fix moves it on both centres' maps.
    fix = services.Fix(
        client_id="van-11-fix-1",
        lat=KAMPPI[0] + 0.001,
        lon=KAMPPI[1] + 0.001,
        recorded_at=timezone.now(),
    )
    services.unit_positions_record(unit_id=partner_unit.pk, device_id="tablet", fixes=[fix])
    assert [u["lat"] for u in _moved(centre, partner_unit)] == [fix.lat]
    assert [u["lat"] for u in _moved(partner, partner_unit)] == [fix.lat]

    # The assignment ends: the requester is told once that the unit went back, then no more.
    assignment = Assignment.objects.get(incident=incident, unit=partner_unit)
    services.assignment_transition(
        user=dispatcher, assignment_id=assignment.pk, to_status="cancelled", note="not needed"
    )
    released = _unit_events(centre, partner_unit)[-1]
    assert (released["status"], released["released"]) == ("available", True)
    assert _board_unit(centre, partner_unit) is None
    assert _board_unit(partner, partner_unit)["status"] == "available"
    before = len(_unit_events(centre, partner_unit))
    services.unit_set_status(
        user=partner_dispatcher, unit_id=partner_unit.pk, status="out_of_service"
    )
    services.unit_positions_record(
        unit_id=partner_unit.pk,
        device_id="tablet",
        fixes=[
            services.Fix(
                client_id="van-11-fix-2", lat=KAMPPI[0], lon=KAMPPI[1], recorded_at=timezone.now()
            )
        ],
    )
    assert len(_unit_events(centre, partner_unit)) == before
    assert len(_moved(centre, partner_unit)) == 1
    assert len(_moved(partner, partner_unit)) == 2


@pytest.mark.django_db(transaction=True)
def test_the_lent_unit_comes_back_to_its_centre_when_the_incident_closes(
    dispatcher, partner_dispatcher, incident, partner_unit, centre
):
    request = ask(dispatcher, incident, partner_unit)
    services.mutual_aid_decide(user=partner_dispatcher, request_id=request.pk, accept=True)
    services.incident_close(
        user=dispatcher, incident_id=incident.pk, disposition="no_patient_found"
    )
    released = _unit_events(centre, partner_unit)[-1]
    assert released["released"] is True
    assert _board_unit(centre, partner_unit) is None
