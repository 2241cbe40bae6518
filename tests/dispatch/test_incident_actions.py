"""Attached calls keep what the caller said; upgrade, replace and close act on any incident."""

import pytest

from audit.models import AuditEvent
from dispatch import services
from dispatch.models import Assignment, Call, Incident
from tests.dispatch.test_api import NEW_CALL, post

pytestmark = pytest.mark.django_db


def test_attached_call_keeps_its_complaint_and_proposes_the_upgrade(client, dispatcher, road_map):
    client.force_login(dispatcher)
    first = post(client, "/api/v1/incidents/", {**NEW_CALL, "determinant": "CHARLIE"}).json()
    second = {
        **NEW_CALL,
        "chief_complaint": "collapsed, not breathing?",
        "determinant": "ECHO",
        "notes": "neighbour calling",
        "access_notes": "door B",
        "attach_to": first["id"],
    }
    attached = post(client, "/api/v1/incidents/", second)
    assert attached.status_code == 201, attached.json()
    body = attached.json()
    assert body["attached"] is True
    assert body["message"] == (
        f"Call attached to #{first['id']}; caller reports collapsed, not breathing? (Echo); "
        "upgrade from Charlie to Echo proposed."
    )
    call = Call.objects.order_by("pk").last()
    assert (call.chief_complaint, call.determinant, call.notes, call.access_notes) == (
        "collapsed, not breathing?",
        "ECHO",
        "neighbour calling",
        "door B",
    )
    incident = Incident.objects.get(pk=first["id"])
    assert incident.determinant == "CHARLIE"  # only proposed, never changed alone
    assert incident.proposed_determinant == "ECHO"
    assert "door B" in incident.access_notes
    assert [c["chief_complaint"] for c in body["incident"]["call_list"]] == [
        "unconscious",
        "collapsed, not breathing?",
    ]

    accepted = post(
        client, f"/api/v1/incidents/{first['id']}/upgrade/", {"accept": True, "determinant": "ECHO"}
    )
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["determinant"] == "ECHO"
    assert accepted.json()["response_mode"] == "lights_sirens"
    assert accepted.json()["proposed_determinant"] is None
    assert AuditEvent.objects.filter(action="upgrade_accept", object_id=str(first["id"])).exists()
    again = post(client, f"/api/v1/incidents/{first['id']}/upgrade/", {"accept": True})
    assert again.status_code == 400
    assert "determinant" in again.json()


def test_a_less_urgent_attached_call_proposes_nothing(dispatcher, make_incident):
    incident = make_incident(determinant="DELTA")
    attached = services.incident_attach_call(
        user=dispatcher, incident=incident, chief_complaint="fell", determinant="ALPHA"
    )
    assert attached.proposed_determinant == ""
    incident.refresh_from_db()
    assert incident.proposed_determinant == ""


def test_an_upgrade_can_be_declined(dispatcher, make_incident):
    incident = make_incident(determinant="BRAVO")
    services.incident_attach_call(
        user=dispatcher, incident=incident, chief_complaint="worse", determinant="DELTA"
    )
    declined = services.incident_upgrade_decide(
        user=dispatcher, incident_id=incident.pk, accept=False
    )
    assert (declined.determinant, declined.proposed_determinant) == ("BRAVO", "")


def test_replace_cancels_one_unit_and_dispatches_another_in_one_step(
    client, dispatcher, demo_units, make_incident
):
    incident = make_incident(determinant="CHARLIE")
    [first] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    client.force_login(dispatcher)
    replaced = post(
        client,
        f"/api/v1/assignments/{first.pk}/replace/",
        {"unit_id": demo_units[1].pk, "reason": "closer"},
    )
    assert replaced.status_code == 201, replaced.json()
    first.refresh_from_db()
    assert first.status == "cancelled"
    assert first.cancel_reason == "replaced: closer"
    assert replaced.json()["unit_id"] == demo_units[1].pk
    demo_units[0].refresh_from_db()
    assert demo_units[0].status == "available"
    assert AuditEvent.objects.filter(action="assignment_replace").exists()


def test_a_failed_replacement_leaves_the_first_unit_dispatched(
    dispatcher, demo_units, make_incident
):
    incident = make_incident(determinant="CHARLIE")
    other = make_incident(determinant="CHARLIE")
    [first] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    services.assignments_create(user=dispatcher, incident_id=other.pk, unit_ids=[demo_units[1].pk])
    with pytest.raises(services.DispatchError) as caught:
        services.assignment_replace(
            user=dispatcher, assignment_id=first.pk, unit_id=demo_units[1].pk
        )
    assert caught.value.field == "unit_ids"
    first.refresh_from_db()
    assert first.status == "dispatched"


def test_close_with_a_disposition_frees_the_units(client, dispatcher, demo_units, make_incident):
    incident = make_incident(determinant="CHARLIE")
    [on_way, on_scene] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk, demo_units[2].pk]
    )
    for status in ("en_route", "on_scene"):
        services.assignment_transition(user=dispatcher, assignment_id=on_scene.pk, to_status=status)
    client.force_login(dispatcher)
    bad = post(client, f"/api/v1/incidents/{incident.pk}/close/", {"disposition": "vanished"})
    assert bad.status_code == 400
    assert "disposition" in bad.json()
    closed = post(
        client,
        f"/api/v1/incidents/{incident.pk}/close/",
        {"disposition": "treated_on_scene", "note": "wound dressed"},
    )
    assert closed.status_code == 200, closed.json()
    assert closed.json()["status"] == "closed"
    assert closed.json()["disposition"] == "treated_on_scene"
    statuses = dict(Assignment.objects.values_list("pk", "status"))
    assert statuses == {on_way.pk: "cancelled", on_scene.pk: "cleared"}
    assert AuditEvent.objects.filter(action="close", object_id=str(incident.pk)).exists()


def test_close_is_refused_while_a_unit_transports_the_patient(
    dispatcher, demo_units, make_incident
):
    incident = make_incident(determinant="CHARLIE")
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    for status in ("en_route", "on_scene", "transporting"):
        services.assignment_transition(
            user=dispatcher, assignment_id=assignment.pk, to_status=status
        )
    with pytest.raises(services.InvalidTransition) as caught:
        services.incident_close(user=dispatcher, incident_id=incident.pk, disposition="cancelled")
    assert "transporting" in caught.value.message


def test_cancelled_disposition_cancels_the_incident(dispatcher, make_incident):
    incident = make_incident()
    closed = services.incident_close(
        user=dispatcher, incident_id=incident.pk, disposition="duplicate"
    )
    assert closed.status == "cancelled"


def test_another_centres_dispatcher_cannot_close(client, make_incident, outsider):
    from tests.factories import DispatcherFactory

    incident = make_incident()
    stranger = DispatcherFactory()
    client.force_login(stranger)
    refused = post(client, f"/api/v1/incidents/{incident.pk}/close/", {"disposition": "cancelled"})
    assert refused.status_code in {403, 404}
    client.force_login(outsider)
    refused = post(client, f"/api/v1/incidents/{incident.pk}/close/", {"disposition": "cancelled"})
    assert refused.status_code in {403, 404}
    incident.refresh_from_db()
    assert incident.status == "open"
