"""The ED card's live ETA follows the ambulance's fixes on the road graph, throttled per
unit, and never counts down while the crew is on scene."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import services as dispatch_services
from dispatch.models import AssignmentStatus
from handoff import eta, selectors
from handoff.models import Encounter
from handoff.services.destination import destination_set, encounters_eta_refresh
from handoff.services.encounters import encounter_open
from handoff.services.handover import patient_arrived
from realtime.models import EventLog
from tests import factories
from tests.handoff.conftest import make_assignment

pytestmark = pytest.mark.django_db

# Inside the central-Helsinki demo extract (tests/handoff/test_destinations.py).
KAMPPI = (60.16930, 24.93860)
HAKANIEMI = (60.17830, 24.95050)
NEAR_HAKANIEMI = (60.17700, 24.94900)


def _fix(unit, where, client_id, seconds_ago=0):
    recorded = timezone.now() - timedelta(seconds=seconds_ago)
    dispatch_services.units_positions_record(
        batches=[
            (
                unit.pk,
                "tab-1",
                [
                    dispatch_services.Fix(
                        client_id=client_id, lat=where[0], lon=where[1], recorded_at=recorded
                    )
                ],
            )
        ]
    )


@pytest.fixture
def bound(road_map, unit, dispatcher, paramedic):
    """A patient of a transporting unit at Kamppi, bound for an ED at Hakaniemi."""
    hospital = factories.HospitalFactory(lat=HAKANIEMI[0], lon=HAKANIEMI[1])
    assignment = make_assignment(unit, dispatcher, status=AssignmentStatus.TRANSPORTING)
    encounter = encounter_open(user=paramedic, assignment_id=assignment.pk)
    destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )
    # As if chosen with no route (offline tablet): only the fixes give the ETA.
    Encounter.objects.filter(pk=encounter.pk).update(
        eta_at=None, eta_drive_seconds=None, eta_computed_at=None
    )
    return Encounter.objects.get(pk=encounter.pk), hospital


def test_a_fix_recomputes_the_eta_from_the_road_graph_and_tells_the_ed(
    django_capture_on_commit_callbacks, bound, unit
):
    encounter, hospital = bound
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, KAMPPI, "f1")
    far = Encounter.objects.get(pk=encounter.pk)
    assert far.eta_drive_seconds is not None
    assert far.eta_drive_seconds > 0
    assert far.eta_computed_at is not None
    events = EventLog.objects.filter(
        stream=f"handoff.ed.{hospital.pk}", type="handoff.encounter.updated"
    ).order_by("seq")
    assert events.last().data["eta_drive_seconds"] == far.eta_drive_seconds
    assert events.last().data["eta_counts_down"] is True
    # The next window: closer to the hospital, a shorter drive and an earlier arrival.
    Encounter.objects.filter(pk=encounter.pk).update(
        eta_computed_at=timezone.now() - timedelta(seconds=60)
    )
    eta.reset()
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, NEAR_HAKANIEMI, "f2")
    near = Encounter.objects.get(pk=encounter.pk)
    assert near.eta_drive_seconds < far.eta_drive_seconds
    assert near.eta_at < far.eta_at


def test_the_recompute_runs_at_most_once_per_window_per_unit(
    django_capture_on_commit_callbacks, bound, unit, settings
):
    settings.HANDOFF_ETA_RECOMPUTE_SECONDS = 15
    encounter, hospital = bound
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, KAMPPI, "f1", seconds_ago=2)
    first = Encounter.objects.get(pk=encounter.pk)
    stream = f"handoff.ed.{hospital.pk}"
    count = EventLog.objects.filter(stream=stream).count()
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, NEAR_HAKANIEMI, "f2")
    # Within the window nothing is routed or sent, even from another process's throttle.
    assert Encounter.objects.get(pk=encounter.pk).eta_drive_seconds == first.eta_drive_seconds
    assert EventLog.objects.filter(stream=stream).count() == count
    assert encounters_eta_refresh(unit_ids=[unit.pk], min_interval_s=15) == 0


def test_units_without_a_patient_on_the_way_cost_no_recompute(
    django_capture_on_commit_callbacks, road_map, unit, dispatcher, django_assert_num_queries
):
    make_assignment(unit, dispatcher, status=AssignmentStatus.EN_ROUTE)
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, KAMPPI, "f1")
    # The watch set is fresh: the next fix schedules nothing and queries nothing for the ETA.
    with django_assert_num_queries(0):
        eta.units_moved([unit.pk])


def test_on_scene_the_eta_does_not_count_down_and_says_from_leaving(
    django_capture_on_commit_callbacks, bound, unit
):
    encounter, _ = bound
    assignment = encounter.assignment
    assignment.status = AssignmentStatus.ON_SCENE
    assignment.save(update_fields=["status"])
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, KAMPPI, "f1")
    row = selectors.board_row(Encounter.objects.get(pk=encounter.pk))
    assert row["assignment_status"] == "on_scene"
    assert row["eta_counts_down"] is False
    assert row["eta_drive_seconds"] > 0


def test_leaving_the_scene_recomputes_at_once_and_starts_the_countdown(
    django_capture_on_commit_callbacks, bound, unit, paramedic
):
    encounter, hospital = bound
    assignment = encounter.assignment
    assignment.status = AssignmentStatus.ON_SCENE
    assignment.save(update_fields=["status"])
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, KAMPPI, "f1")
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_services.assignment_transition(
            user=paramedic, assignment_id=assignment.pk, to_status="transporting"
        )
    event = (
        EventLog.objects.filter(
            stream=f"handoff.ed.{hospital.pk}", type="handoff.encounter.updated"
        )
        .order_by("-seq")
        .first()
    )
    assert event.data["assignment_status"] == "transporting"
    assert event.data["eta_counts_down"] is True


def test_the_eta_stops_with_the_arrival(django_capture_on_commit_callbacks, bound, unit, paramedic):
    encounter, _ = bound
    patient_arrived(user=paramedic, encounter_id=encounter.pk)
    Encounter.objects.filter(pk=encounter.pk).update(eta_computed_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, KAMPPI, "f1")
    arrived = Encounter.objects.get(pk=encounter.pk)
    assert arrived.eta_computed_at is None
    assert selectors.board_row(arrived)["eta_counts_down"] is False


def test_an_ambulance_driving_as_predicted_does_not_resend_its_eta(
    django_capture_on_commit_callbacks, bound, unit
):
    encounter, hospital = bound
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, KAMPPI, "f1")
    stream = f"handoff.ed.{hospital.pk}"
    count = EventLog.objects.filter(stream=stream).count()
    Encounter.objects.filter(pk=encounter.pk).update(
        eta_computed_at=timezone.now() - timedelta(seconds=60)
    )
    eta.reset()
    # The same place a moment later: the arrival time moves by seconds, the ED hears nothing.
    with django_capture_on_commit_callbacks(execute=True):
        _fix(unit, KAMPPI, "f2")
    assert EventLog.objects.filter(stream=stream).count() == count
