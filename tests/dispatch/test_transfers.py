"""Jurisdiction by area: a call outside the taking centre's area is proposed to its owner,
and the whole incident moves only when a dispatcher there accepts."""

import json

import pytest
from django.test import Client

from audit.models import AuditEvent
from demo.data import area_box
from dispatch import events, region, services
from dispatch.models import Incident, IncidentTransfer
from realtime.models import EventLog
from tests import factories
from tests.dispatch.conftest import HAKANIEMI, SENATE_SQUARE
from tests.dispatch.test_api import NEW_CALL, post

pytestmark = pytest.mark.django_db

SOUTH = area_box(60.10, 24.80, 60.1745, 25.10)
NORTH = area_box(60.1745, 24.80, 60.30, 25.10)
CALLER = (NEW_CALL["caller_name"], NEW_CALL["caller_phone"])


@pytest.fixture
def south(centre):
    centre.area = SOUTH
    centre.save()
    return centre


@pytest.fixture
def north(db):
    return factories.DispatchCentreFactory(area=NORTH)


@pytest.fixture
def north_dispatcher(north):
    return factories.DispatcherFactory(dispatch_centre=north)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _call_at(client, where, **extra):
    body = {**NEW_CALL, "location": {"source": "map", "lat": where[0], "lon": where[1]}}
    answer = post(client, "/api/v1/incidents/", {**body, "allow_duplicate": True, **extra})
    assert answer.status_code == 201, answer.json()
    return answer.json()


def _events(centre, event_type):
    return [
        row.data
        for row in EventLog.objects.filter(
            stream=events.centre_group(centre.pk), type=event_type
        ).order_by("seq")
    ]


def _mentions_caller(payload) -> bool:
    text = json.dumps(payload, ensure_ascii=False)
    return any(value in text for value in CALLER)


def test_area_parsing_names_what_is_wrong():
    assert region.area_problem(SOUTH) == ""
    assert region.area_problem(None) == ""
    assert "Polygon" in region.area_problem({"type": "Point", "coordinates": [24.9, 60.1]})
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert "crosses itself" in region.area_problem(bow_tie)
    beyond_the_pole = area_box(95.0, 24.80, 96.0, 25.10)
    assert "outside" in region.area_problem(beyond_the_pole)


def test_a_centre_with_a_bad_area_is_refused_naming_the_field(centre):
    from django.core.exceptions import ValidationError

    centre.area = {"type": "LineString", "coordinates": [[24.9, 60.1], [25.0, 60.2]]}
    with pytest.raises(ValidationError) as error:
        centre.full_clean()
    assert "area" in error.value.message_dict


def test_the_owner_is_the_centre_whose_area_holds_the_point(south, north):
    assert region.centre_owning(*SENATE_SQUARE) == south
    assert region.centre_owning(*HAKANIEMI) == north
    assert region.centre_owning(61.5, 23.8) is None  # Tampere: nobody's


def test_a_call_in_its_own_area_is_not_proposed(client, south, north, dispatcher, road_map):
    client.force_login(dispatcher)
    incident = _call_at(client, SENATE_SQUARE)
    assert incident["transfer"] is None
    assert not IncidentTransfer.objects.exists()


def test_a_call_in_the_neighbours_area_is_proposed_to_it_without_the_callers_data(
    client, south, north, dispatcher, north_dispatcher, road_map
):
    client.force_login(dispatcher)
    incident = _call_at(client, HAKANIEMI)
    assert incident["transfer"]["to_centre"]["code"] == north.code
    assert north.name in incident["transfer"]["reason"]
    transfer = IncidentTransfer.objects.get()
    assert (transfer.status, transfer.from_centre, transfer.to_centre) == ("proposed", south, north)
    # The incident stays here until the north accepts; the north cannot open it meanwhile.
    assert Incident.objects.get(pk=incident["id"]).centre == south
    other = _client(north_dispatcher)
    assert other.get(f"/api/v1/incidents/{incident['id']}/").status_code == 404
    proposals = other.get("/api/v1/transfers/").json()
    assert [p["incident_id"] for p in proposals] == [incident["id"]]
    assert proposals[0]["chief_complaint"] == NEW_CALL["chief_complaint"]
    # What reached the north (answers and its stream) never names or numbers the caller.
    assert not _mentions_caller(proposals)
    north_stream = EventLog.objects.filter(stream=events.centre_group(north.pk))
    assert north_stream.exists()
    assert not any(_mentions_caller(row.data) for row in north_stream)
    assert AuditEvent.objects.filter(
        action="transfer_propose", object_id=str(incident["id"])
    ).exists()


def test_accepted_the_whole_incident_moves_and_both_streams_say_so(
    client, south, north, dispatcher, north_dispatcher, road_map
):
    client.force_login(dispatcher)
    incident = _call_at(client, HAKANIEMI, notes="third floor, dog in the flat")
    transfer = IncidentTransfer.objects.get()
    other = _client(north_dispatcher)
    answer = post(other, f"/api/v1/transfers/{transfer.pk}/accept/", {})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "accepted"
    moved = Incident.objects.get(pk=incident["id"])
    assert moved.centre == north
    detail = other.get(f"/api/v1/incidents/{moved.pk}/").json()
    assert detail["notes"] == "third floor, dog in the flat"
    assert (detail["call_list"][0]["caller_name"], detail["call_list"][0]["caller_phone"]) == CALLER
    assert detail["transfer"] is None
    # The south has it no more; its console is told to drop it.
    assert client.get(f"/api/v1/incidents/{moved.pk}/").status_code == 404
    assert _events(south, "dispatch.incident.transferred") == [
        {"id": moved.pk, "to_centre": {"id": north.pk, "code": north.code, "name": north.name}}
    ]
    assert [e["id"] for e in _events(north, "dispatch.incident.created")] == [moved.pk]
    assert [e["status"] for e in _events(south, "dispatch.transfer.updated")] == [
        "proposed",
        "accepted",
    ]
    actions = set(
        AuditEvent.objects.filter(object_id=str(moved.pk)).values_list("action", flat=True)
    )
    assert {"transfer_propose", "transfer_accept"} <= actions


def test_refused_it_stays_and_a_reason_is_required(
    client, south, north, dispatcher, north_dispatcher, road_map
):
    client.force_login(dispatcher)
    incident = _call_at(client, HAKANIEMI)
    transfer = IncidentTransfer.objects.get()
    other = _client(north_dispatcher)
    no_reason = post(other, f"/api/v1/transfers/{transfer.pk}/refuse/", {})
    assert no_reason.status_code == 400
    assert "note" in no_reason.json()
    refused = post(
        other, f"/api/v1/transfers/{transfer.pk}/refuse/", {"note": "our units are all out"}
    )
    assert refused.status_code == 200, refused.json()
    assert Incident.objects.get(pk=incident["id"]).centre == south
    again = post(other, f"/api/v1/transfers/{transfer.pk}/accept/", {})
    assert again.status_code == 409
    assert "refused already" in again.json()["transfer"][0]
    # Refused, the south may dispatch its own units; a new proposal can be made by hand.
    assert client.get(f"/api/v1/incidents/{incident['id']}/").json()["transfer"] is None


def test_only_the_receiving_centre_decides_and_only_the_proposer_withdraws(
    client, south, north, dispatcher, north_dispatcher, road_map
):
    client.force_login(dispatcher)
    _call_at(client, HAKANIEMI)
    transfer = IncidentTransfer.objects.get()
    third = _client(factories.DispatcherFactory())
    for who in (client, third):
        answer = post(who, f"/api/v1/transfers/{transfer.pk}/accept/", {})
        assert answer.status_code == 403
        assert "not proposed to your centre" in answer.json()["detail"]
    answer = post(_client(north_dispatcher), f"/api/v1/transfers/{transfer.pk}/withdraw/", {})
    assert answer.status_code == 403
    assert post(client, "/api/v1/transfers/999999/accept/", {}).status_code == 404
    withdrawn = post(client, f"/api/v1/transfers/{transfer.pk}/withdraw/", {})
    assert withdrawn.json()["status"] == "withdrawn"
    assert _client(north_dispatcher).get("/api/v1/transfers/").json() == []


def test_a_transfer_by_hand_and_its_refusals(
    client, south, north, dispatcher, north_dispatcher, demo_units, road_map
):
    client.force_login(dispatcher)
    incident = _call_at(client, SENATE_SQUARE)
    url = f"/api/v1/incidents/{incident['id']}/transfer/"
    unknown = post(client, url, {"to_centre": "atlantis"})
    assert unknown.status_code == 400
    assert "atlantis" in unknown.json()["to_centre"][0]
    own = post(client, url, {"to_centre": south.code})
    assert own.status_code == 400
    proposed = post(client, url, {"to_centre": north.code, "reason": "their units are closer"})
    assert proposed.status_code == 201, proposed.json()
    assert proposed.json()["reason"] == "their units are closer"
    twice = post(client, url, {"to_centre": north.code})
    assert twice.status_code == 409
    # Units sent meanwhile (a life first): the other centre cannot take it over any more.
    services.assignments_create(
        user=dispatcher, incident_id=incident["id"], unit_ids=[demo_units[0].pk]
    )
    transfer_id = proposed.json()["id"]
    taken = post(_client(north_dispatcher), f"/api/v1/transfers/{transfer_id}/accept/", {})
    assert taken.status_code == 409
    assert "units assigned" in taken.json()["transfer"][0]
    assert Incident.objects.get(pk=incident["id"]).centre == south


def test_the_board_snapshot_lists_transfers_both_ways_and_the_centres(
    client, south, north, dispatcher, road_map
):
    from dispatch.selectors import dispatch_board_snapshot

    client.force_login(dispatcher)
    incident = _call_at(client, HAKANIEMI)
    mine = dispatch_board_snapshot(centre_id=south.pk)
    theirs = dispatch_board_snapshot(centre_id=north.pk)
    assert [t["incident_id"] for t in mine["transfers"]] == [incident["id"]]
    assert [t["incident_id"] for t in theirs["transfers"]] == [incident["id"]]
    assert [i["transfer"]["to_centre"]["code"] for i in mine["incidents"]] == [north.code]
    assert theirs["incidents"] == []
    assert north.code in [c["code"] for c in mine["centres"]]
    assert south.code not in [c["code"] for c in mine["centres"]]
    assert not _mentions_caller(theirs)


def test_closing_the_incident_withdraws_its_transfer(
    client, south, north, dispatcher, north_dispatcher, road_map
):
    client.force_login(dispatcher)
    incident = _call_at(client, HAKANIEMI)
    closed = post(
        client, f"/api/v1/incidents/{incident['id']}/close/", {"disposition": "duplicate"}
    )
    assert closed.status_code == 200, closed.json()
    transfer = IncidentTransfer.objects.get()
    assert (transfer.status, transfer.decision_note) == ("withdrawn", "incident closed")
    assert _client(north_dispatcher).get("/api/v1/transfers/").json() == []
    assert _events(north, "dispatch.transfer.updated")[-1]["status"] == "withdrawn"
