"""The assignment lifecycle: every transition, every refusal, the times and who made them."""

import pytest

from dispatch import services
from dispatch.models import AssignmentStatus, IncidentStatus, UnitStatus
from realtime.models import EventLog
from tests import factories

pytestmark = pytest.mark.django_db

FULL_PATH = [
    ("en_route", "en_route_at", UnitStatus.EN_ROUTE, IncidentStatus.DISPATCHED),
    ("on_scene", "on_scene_at", UnitStatus.ON_SCENE, IncidentStatus.ON_SCENE),
    ("transporting", "left_scene_at", UnitStatus.TRANSPORTING, IncidentStatus.TRANSPORTING),
    ("at_destination", "at_destination_at", UnitStatus.AT_DESTINATION, IncidentStatus.TRANSPORTING),
    ("cleared", "cleared_at", UnitStatus.AVAILABLE, IncidentStatus.CLOSED),
]


def test_dispatch_then_the_whole_lifecycle_keeps_times_people_and_devices(
    dispatcher, paramedic, demo_units, make_incident, hospital
):
    incident = make_incident()
    unit = demo_units[0]
    paramedic.unit = unit
    paramedic.save()
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[unit.pk], device_id="console-1"
    )
    unit.refresh_from_db()
    incident.refresh_from_db()
    assert assignment.status == AssignmentStatus.DISPATCHED
    assert assignment.notified_at is not None
    assert assignment.eta_s > 0
    assert unit.status == UnitStatus.DISPATCHED
    assert incident.status == IncidentStatus.DISPATCHED
    for to_status, time_field, unit_status, incident_status in FULL_PATH:
        extra = {"destination_id": hospital.pk} if to_status == "transporting" else {}
        services.assignment_transition(
            user=paramedic,
            assignment_id=assignment.pk,
            to_status=to_status,
            device_id="tablet-9",
            **extra,
        )
        assignment.refresh_from_db()
        unit.refresh_from_db()
        incident.refresh_from_db()
        assert assignment.status == to_status
        assert getattr(assignment, time_field) is not None
        assert unit.status == unit_status
        assert incident.status == incident_status
    assert assignment.destination == hospital
    transitions = list(
        assignment.transitions.values_list("from_status", "to_status", "by", "device_id")
    )
    assert transitions[0] == ("", "dispatched", dispatcher.pk, "console-1")
    assert transitions[1:] == [
        (prev, nxt, paramedic.pk, "tablet-9")
        for prev, nxt in zip(
            ["dispatched", "en_route", "on_scene", "transporting", "at_destination"],
            ["en_route", "on_scene", "transporting", "at_destination", "cleared"],
            strict=True,
        )
    ]
    assert incident.closed_at is not None


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "on_scene"),
        ([], "transporting"),
        ([], "cleared"),
        (["en_route"], "transporting"),
        (["en_route"], "dispatched"),
        (["en_route", "on_scene"], "cancelled"),
        (["en_route", "on_scene", "transporting"], "cleared"),
        (["en_route", "on_scene", "cleared"], "en_route"),
        (["cancelled"], "en_route"),
    ],
)
def test_a_transition_the_state_does_not_allow_is_refused_naming_the_state(
    dispatcher, demo_units, make_incident, path, refused
):
    incident = make_incident()
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    for step in path:
        services.assignment_transition(user=dispatcher, assignment_id=assignment.pk, to_status=step)
    assignment.refresh_from_db()
    before = (assignment.status, assignment.transitions.count(), EventLog.objects.count())
    with pytest.raises(services.InvalidTransition) as excinfo:
        services.assignment_transition(
            user=dispatcher, assignment_id=assignment.pk, to_status=refused
        )
    current = assignment.status.replace("_", " ")
    assert f"is {current}" in excinfo.value.message
    assignment.refresh_from_db()
    assert (assignment.status, assignment.transitions.count(), EventLog.objects.count()) == before


def test_cancel_frees_the_unit_and_reopens_the_incident(dispatcher, demo_units, make_incident):
    incident = make_incident()
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    services.assignment_transition(
        user=dispatcher, assignment_id=assignment.pk, to_status="cancelled", note="wrong address"
    )
    assignment.refresh_from_db()
    incident.refresh_from_db()
    demo_units[0].refresh_from_db()
    assert assignment.cancelled_at is not None
    assert assignment.cancel_reason == "wrong address"
    assert demo_units[0].status == UnitStatus.AVAILABLE
    assert incident.status == IncidentStatus.OPEN


def test_divert_changes_the_destination_only_while_transporting(
    dispatcher, demo_units, make_incident
):
    first, second = factories.HospitalFactory(), factories.HospitalFactory()
    incident = make_incident()
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    with pytest.raises(services.InvalidTransition, match="is dispatched"):
        services.assignment_divert(
            user=dispatcher, assignment_id=assignment.pk, destination_id=second.pk
        )
    for step in ("en_route", "on_scene"):
        services.assignment_transition(user=dispatcher, assignment_id=assignment.pk, to_status=step)
    services.assignment_transition(
        user=dispatcher,
        assignment_id=assignment.pk,
        to_status="transporting",
        destination_id=first.pk,
    )
    services.assignment_divert(
        user=dispatcher, assignment_id=assignment.pk, destination_id=second.pk, reason="CT down"
    )
    assignment.refresh_from_db()
    assert assignment.destination == second
    assert "CT down" in assignment.transitions.last().note
    with pytest.raises(services.DispatchError, match="No hospital") as excinfo:
        services.assignment_divert(
            user=dispatcher, assignment_id=assignment.pk, destination_id=999999
        )
    assert excinfo.value.field == "destination"


def test_a_unit_already_committed_cannot_be_dispatched_again(dispatcher, demo_units, make_incident):
    first = make_incident()
    second = make_incident(where=(60.1660, 24.9450))
    services.assignments_create(user=dispatcher, incident_id=first.pk, unit_ids=[demo_units[0].pk])
    with pytest.raises(services.DispatchError, match="not available") as excinfo:
        services.assignments_create(
            user=dispatcher, incident_id=second.pk, unit_ids=[demo_units[0].pk]
        )
    assert excinfo.value.code == "unit_unavailable"
    assert second.assignments.count() == 0


def test_dispatch_refuses_units_of_another_centre_and_unknown_units(
    dispatcher, demo_units, make_incident
):
    incident = make_incident()
    stranger = factories.UnitFactory()
    with pytest.raises(services.DispatchError, match="another centre"):
        services.assignments_create(
            user=dispatcher, incident_id=incident.pk, unit_ids=[stranger.pk]
        )
    with pytest.raises(services.DispatchError, match="Unknown unit"):
        services.assignments_create(user=dispatcher, incident_id=incident.pk, unit_ids=[987654])
    assert incident.assignments.count() == 0


def test_several_units_to_one_incident(dispatcher, demo_units, make_incident):
    incident = make_incident(determinant="ECHO")
    created = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[u.pk for u in demo_units[:2]]
    )
    assert {a.unit_id for a in created} == {demo_units[0].pk, demo_units[1].pk}


def test_out_of_service_only_without_an_active_assignment(dispatcher, demo_units, make_incident):
    unit = demo_units[1]
    services.unit_set_service(user=dispatcher, unit_id=unit.pk, in_service=False)
    unit.refresh_from_db()
    assert unit.status == UnitStatus.OUT_OF_SERVICE
    with pytest.raises(services.DispatchError, match="out of service"):
        services.assignments_create(
            user=dispatcher, incident_id=make_incident().pk, unit_ids=[unit.pk]
        )
    services.unit_set_service(user=dispatcher, unit_id=unit.pk, in_service=True)
    # Charlie: a BLS unit to a Delta would need the dispatcher's override.
    incident = make_incident(determinant="CHARLIE", where=(60.1660, 24.9450))
    services.assignments_create(user=dispatcher, incident_id=incident.pk, unit_ids=[unit.pk])
    with pytest.raises(services.InvalidTransition, match="dispatched"):
        services.unit_set_service(user=dispatcher, unit_id=unit.pk, in_service=False)


def test_acknowledge_is_idempotent(dispatcher, paramedic, demo_units, make_incident):
    incident = make_incident()
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    first = services.assignment_acknowledge(
        user=paramedic, assignment_id=assignment.pk
    ).acknowledged_at
    again = services.assignment_acknowledge(
        user=paramedic, assignment_id=assignment.pk
    ).acknowledged_at
    assert first == again is not None


def test_every_change_is_logged_on_its_streams_in_sequence(dispatcher, demo_units, make_incident):
    incident = make_incident()
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    centre_stream = f"dispatch.center.{dispatcher.dispatch_centre_id}"
    unit_stream = f"dispatch.unit.{demo_units[0].pk}"
    centre_events = list(EventLog.objects.filter(stream=centre_stream).order_by("seq"))
    assert [e.seq for e in centre_events] == list(range(1, len(centre_events) + 1))
    assert [e.type for e in centre_events] == [
        "dispatch.incident.created",
        "dispatch.unit.updated",
        "dispatch.incident.updated",
    ]
    [crew_event] = EventLog.objects.filter(stream=unit_stream)
    assert crew_event.type == "dispatch.assignment.created"
    assert crew_event.data["incident"]["access_notes"] == incident.access_notes
    assert crew_event.data["route"]["geometry"]["type"] == "LineString"
    assert crew_event.data["id"] == assignment.pk
