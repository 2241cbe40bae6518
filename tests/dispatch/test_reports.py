"""Response-time intervals, nearest-rank statistics, compliance and the report page."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from dispatch.models import Assignment, AssignmentStatus, Incident, QueuedCall, QueuedCallStatus
from dispatch.reports import (
    AssignmentTimes,
    IncidentTimes,
    Intervals,
    build_report,
    call_answer_seconds,
    format_m_ss,
    incident_intervals,
    nearest_rank,
    response_report,
    share_within,
)
from tests import factories

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
URL = "/dispatch/reports/"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def unit_times(unit_type: str = "ALS", **offsets: float | bool) -> AssignmentTimes:
    cancelled = bool(offsets.pop("cancelled", False))
    times = {name: at(float(value)) for name, value in offsets.items()}
    return AssignmentTimes(unit_type=unit_type, cancelled=cancelled, **times)


def incident_times(
    *units: AssignmentTimes, determinant: str = "DELTA", pk: int = 1
) -> IncidentTimes:
    return IncidentTimes(id=pk, determinant=determinant, call_received_at=T0, assignments=units)


FULL = {
    "notified_at": 50,
    "en_route_at": 80,
    "on_scene_at": 380,
    "left_scene_at": 1280,
    "at_destination_at": 2180,
    "cleared_at": 3080,
}


# --- Intervals of one incident -------------------------------------------------------------


def test_every_interval_of_a_transported_incident():
    intervals = incident_intervals(incident_times(unit_times(**FULL)))
    assert intervals == Intervals(
        call_to_dispatch_s=50,
        dispatch_to_en_route_s=30,
        travel_s=300,
        on_scene_s=900,
        transport_s=900,
        at_hospital_s=900,
        response_s=380,
        als_travel_s=300,
    )


def test_on_scene_time_runs_to_back_in_service_when_no_one_is_transported():
    unit = unit_times(notified_at=10, en_route_at=20, on_scene_at=200, cleared_at=800)
    intervals = incident_intervals(incident_times(unit))
    assert intervals.on_scene_s == 600
    assert intervals.transport_s is None
    assert intervals.at_hospital_s is None


def test_missing_times_give_none():
    intervals = incident_intervals(incident_times(unit_times(notified_at=40)))
    assert intervals.call_to_dispatch_s == 40
    assert intervals.dispatch_to_en_route_s is None
    assert intervals.travel_s is None
    assert intervals.on_scene_s is None
    assert intervals.response_s is None
    assert intervals.als_travel_s is None
    assert incident_intervals(incident_times()) == Intervals()


def test_cancelled_assignments_are_ignored():
    cancelled = unit_times(notified_at=5, en_route_at=6, cancelled=True)
    kept = unit_times(notified_at=50, en_route_at=80, on_scene_at=380)
    intervals = incident_intervals(incident_times(cancelled, kept))
    assert intervals.call_to_dispatch_s == 50
    assert intervals.dispatch_to_en_route_s == 30
    assert intervals.travel_s == 300


def test_each_interval_follows_its_own_first_unit():
    # B is notified first and en route first, but A arrives first and transports.
    a = unit_times("BLS", notified_at=60, en_route_at=100, on_scene_at=300, left_scene_at=900)
    b = unit_times("ALS", notified_at=30, en_route_at=90, on_scene_at=500, cleared_at=1000)
    intervals = incident_intervals(incident_times(a, b))
    assert intervals.call_to_dispatch_s == 30
    assert intervals.dispatch_to_en_route_s == 60  # B: 30 -> 90
    assert intervals.travel_s == 200  # A: 100 -> 300
    assert intervals.response_s == 300
    assert intervals.on_scene_s == 600  # A, the transporting unit: 300 -> 900
    assert intervals.als_travel_s == 410  # B, the first ALS on scene: 90 -> 500


def test_an_end_before_its_start_counts_as_missing():
    unit = unit_times(notified_at=50, en_route_at=40)
    assert incident_intervals(incident_times(unit)).dispatch_to_en_route_s is None


# --- Statistics ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        ([42], 42, 42),
        ([4, 1, 3, 2], 2, 4),
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 50, 90),
        ([*range(1, 21)], 10, 18),
        ([5, 1, 3], 3, 5),
    ],
)
def test_median_and_p90_are_nearest_rank(values, median, p90):
    assert nearest_rank(values, 50) == median
    assert nearest_rank(values, 90) == p90


def test_nearest_rank_of_nothing_is_none():
    assert nearest_rank([], 90) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "\u2014"), (0, "0:00"), (59.5, "1:00"), (61.4, "1:01"), (3725, "62:05")],
)
def test_durations_are_formatted_m_ss(seconds, text):
    assert format_m_ss(seconds) == text


@pytest.mark.parametrize(
    ("limit", "just_over"), [(60, 60.001), (240, 241), (480, 480.5), (180, 181)]
)
def test_a_time_exactly_at_the_limit_is_within_the_standard(limit, just_over):
    assert share_within("s", "m", [limit] * 9 + [just_over], limit, 90).met is True
    assert share_within("s", "m", [limit] * 8 + [just_over] * 2, limit, 90).met is False
    assert share_within("s", "m", [limit] * 19 + [just_over], limit, 95).met is True


def test_report_compliance_at_the_thresholds_counts_as_met():
    incidents = [
        incident_times(
            unit_times("ALS", notified_at=60, en_route_at=240, on_scene_at=480, cleared_at=600),
            determinant="ECHO",
            pk=1,
        ),
        incident_times(
            unit_times("BLS", notified_at=30, en_route_at=60, on_scene_at=300, cleared_at=400),
            unit_times("ALS", notified_at=40, en_route_at=100, on_scene_at=580, cleared_at=900),
            pk=2,
        ),
    ]
    report = build_report(incidents, since=T0, until=at(86400))
    found = {c.measure: c for c in report.compliance}
    call = found["Call processing (call received \u2192 first unit alerted)"]
    travel = found["First-unit travel (en route \u2192 on scene)"]
    als = found["First ALS unit travel (en route \u2192 on scene)"]
    leaves = found["Ambulance leaves (alerted \u2192 en route), per unit"]
    assert (call.n, call.met, call.achieved) == (2, True, "100.0% (2/2)")  # 60 s and 30 s
    assert (travel.n, travel.met) == (2, True)  # exactly 240 s twice
    assert (als.n, als.met) == (2, True)  # 240 s and exactly 480 s
    assert (leaves.n, leaves.met) == (3, True)  # per unit: exactly 180 s, 30 s, 60 s
    # Echo stands for category 1: one response of 8:00, over the 7 min mean, under 15 min p90.
    mean = found["Category 1 (Echo) response, mean"]
    p90 = found["Category 1 (Echo) response, 90th centile"]
    assert (mean.n, mean.met, mean.achieved) == (1, False, "8:00")
    assert (p90.n, p90.met, p90.achieved) == (1, True, "8:00")


def test_report_statistics_per_interval_and_no_apot_without_handovers():
    incidents = [
        incident_times(unit_times(notified_at=s, en_route_at=s + 10), pk=s)
        for s in (30, 50, 70, 90)
    ]
    report = build_report(incidents, since=T0, until=at(86400))
    stats = {s.key: s for s in report.intervals}
    call = stats["call_to_dispatch_s"]
    assert (call.n, call.mean_s, call.median_s, call.p90_s) == (4, 60, 50, 90)
    assert stats["travel_s"].n == 0
    assert stats["travel_s"].median_s is None
    assert stats["apot_s"].n == 0
    assert stats["apot_s"].median == "\u2014"
    apot = next(c for c in report.compliance if "APOT" in c.measure)
    assert (apot.n, apot.met, apot.achieved) == (0, None, "no data")
    travel = next(c for c in report.compliance if c.measure.startswith("First-unit travel"))
    assert (travel.n, travel.met, travel.achieved) == (0, None, "no data")


ANSWERED = "Call answered (first ring \u2192 answered)"
SATISFACTION = "Call satisfaction (calls that got a unit)"


def test_a_call_answered_at_10_s_is_within_and_one_never_answered_is_a_miss():
    rang = [(at(0), at(4)), (at(0), at(10)), (at(0), at(10.5)), (at(0), None)]
    seconds = call_answer_seconds(rang)
    assert seconds[:3] == [4, 10, 10.5]
    report = build_report([], since=T0, until=at(86400), call_answers_s=seconds)
    answered = next(c for c in report.compliance if c.measure == ANSWERED)
    assert (answered.standard, answered.target) == ("China 120", "\u2264 0:10 for \u2265 95%")
    assert (answered.n, answered.met, answered.achieved) == (4, False, "50.0% (2/4)")
    assert "never answered is a miss" in answered.note


@pytest.mark.parametrize(("late", "met"), [(1, True), (2, False)])
def test_call_answering_meets_the_120_target_at_exactly_95_percent(late, met):
    seconds = [3.0] * (20 - late) + [11.0] * late  # 19 of 20 within is exactly 95%
    report = build_report([], since=T0, until=at(86400), call_answers_s=seconds)
    answered = next(c for c in report.compliance if c.measure == ANSWERED)
    assert (answered.n, answered.met) == (20, met)


def test_call_satisfaction_is_the_share_of_incidents_that_got_a_unit():
    incidents = [
        incident_times(unit_times(notified_at=30), pk=1),
        incident_times(unit_times(notified_at=20, cancelled=True), pk=2),  # a unit was sent
        incident_times(pk=3),  # closed without any unit
    ]
    report = build_report(incidents, since=T0, until=at(86400))
    satisfaction = next(c for c in report.compliance if c.measure == SATISFACTION)
    assert (satisfaction.n, satisfaction.achieved) == (3, "66.7% (2/3)")
    assert (satisfaction.target, satisfaction.met) == ("no target set", None)
    empty = build_report([], since=T0, until=at(86400))
    nothing = next(c for c in empty.compliance if c.measure == SATISFACTION)
    assert (nothing.n, nothing.achieved, nothing.met) == (0, "no data", None)
    answered = next(c for c in empty.compliance if c.measure == ANSWERED)
    assert (answered.n, answered.achieved, answered.met) == (0, "no data", None)


def test_the_report_counts_the_centres_ended_queued_calls_of_the_period(centre):
    now = timezone.now().replace(microsecond=0)
    since, until = now - timedelta(days=1), now

    def queued(where, rang, answered_after=None, status=QueuedCallStatus.ANSWERED):
        QueuedCall.objects.create(
            centre=where,
            status=status,
            received_at=rang,
            answered_at=None
            if answered_after is None
            else rang + timedelta(seconds=answered_after),
        )

    queued(centre, now - timedelta(hours=2), 6)
    queued(centre, now - timedelta(hours=1), 25)  # answered, late (by the neighbour, say)
    queued(centre, now - timedelta(minutes=30), status=QueuedCallStatus.ABANDONED)
    queued(centre, now - timedelta(minutes=1), status=QueuedCallStatus.RINGING)  # not ended
    queued(centre, now - timedelta(days=2), 1)  # before the period
    queued(factories.DispatchCentreFactory(), now - timedelta(hours=1), 1)  # another centre
    report = response_report(centre_id=centre.pk, since=since, until=until)
    answered = next(c for c in report.compliance if c.measure == ANSWERED)
    assert (answered.n, answered.achieved, answered.met) == (3, "33.3% (1/3)", False)


def test_response_times_are_split_by_the_centres_urban_area():
    town = incident_times(unit_times(notified_at=30, en_route_at=40, on_scene_at=600), pk=1)
    village = incident_times(unit_times(notified_at=30, en_route_at=40, on_scene_at=1500), pk=2)
    report = build_report(
        [replace(town, urban=True), replace(village, urban=False)], since=T0, until=at(86400)
    )
    stats = {s.key: s for s in report.intervals}
    assert (stats["response_urban_s"].n, stats["response_urban_s"].median) == (1, "10:00")
    assert (stats["response_rural_s"].n, stats["response_rural_s"].median) == (1, "25:00")
    assert stats["response_s"].n == 2
    assert stats["response_urban_s"].note == ""
    unsplit = {s.key: s for s in build_report([town], since=T0, until=at(86400)).intervals}
    assert (unsplit["response_urban_s"].n, unsplit["response_rural_s"].n) == (0, 0)
    assert "no urban area set" in unsplit["response_urban_s"].note


URBAN = {  # a square around 60.17 N 24.94 E (central Helsinki)
    "type": "Polygon",
    "coordinates": [
        [[24.93, 60.16], [24.95, 60.16], [24.95, 60.18], [24.93, 60.18], [24.93, 60.16]]
    ],
}


def test_the_report_places_each_incident_by_the_urban_area_of_its_centre(centre):
    centre.urban_area = URBAN
    centre.save()
    now = timezone.now().replace(microsecond=0)
    inside = make_incident(centre, call_at=now - timedelta(hours=2))
    Incident.objects.filter(pk=inside.pk).update(lat=60.17, lon=24.94)
    outside = make_incident(centre, call_at=now - timedelta(hours=1))
    Incident.objects.filter(pk=outside.pk).update(lat=60.30, lon=25.20)
    make_assignment(inside, notified_at=20, en_route_at=40, on_scene_at=400)
    make_assignment(outside, notified_at=20, en_route_at=40, on_scene_at=1300)
    report = response_report(centre_id=centre.pk, since=now - timedelta(days=1), until=now)
    stats = {s.key: s for s in report.intervals}
    assert (stats["response_urban_s"].n, stats["response_urban_s"].median) == (1, "6:40")
    assert (stats["response_rural_s"].n, stats["response_rural_s"].median) == (1, "21:40")


def test_an_urban_area_that_is_not_a_polygon_is_refused_naming_the_field(centre):
    from django.core.exceptions import ValidationError

    centre.urban_area = {"type": "Point", "coordinates": [24.94, 60.17]}
    with pytest.raises(ValidationError) as refused:
        centre.full_clean()
    assert list(refused.value.message_dict) == ["urban_area"]
    assert "Polygon or MultiPolygon" in refused.value.message_dict["urban_area"][0]


def test_report_lists_at_most_200_incidents_most_recent_first():
    incidents = [
        IncidentTimes(id=n, determinant="ALPHA", call_received_at=at(n)) for n in range(250)
    ]
    report = build_report(incidents, since=T0, until=at(86400))
    assert report.incident_count == 250
    assert [row.id for row in report.incidents] == list(range(249, 49, -1))


# --- From the database ---------------------------------------------------------------------


def make_incident(centre, *, call_at: datetime, determinant: str = "DELTA") -> Incident:
    return Incident.objects.create(
        centre=centre,
        chief_complaint="chest pain",
        determinant=determinant,
        response_mode="lights_sirens",
        location_source="map",
        lat=60.1694,
        lon=24.9520,
        confidence=1.0,
        road_lat=60.1694,
        road_lon=24.9520,
        road_distance_m=0.0,
        call_received_at=call_at,
        created_at=call_at,
        created_by=factories.DispatcherFactory(dispatch_centre=centre),
    )


def make_assignment(incident, *, unit_type: str = "ALS", status: str = "cleared", **times):
    unit = factories.UnitFactory(
        home_station=factories.StationFactory(centre=incident.centre), unit_type=unit_type
    )
    start = incident.call_received_at
    return Assignment.objects.create(
        incident=incident,
        unit=unit,
        status=status,
        **{name: start + timedelta(seconds=s) for name, s in times.items()},
    )


@pytest.fixture
def recorded(centre):
    """Two incidents of the dispatcher's centre with explicit times, one elsewhere."""
    now = timezone.now().replace(microsecond=0)
    echo = make_incident(centre, call_at=now - timedelta(days=2), determinant="ECHO")
    make_assignment(
        echo,
        notified_at=45,
        en_route_at=75,
        on_scene_at=375,
        left_scene_at=1275,
        at_destination_at=2175,
        cleared_at=3075,
    )
    make_assignment(echo, status=AssignmentStatus.CANCELLED, notified_at=5, cancelled_at=20)
    delta = make_incident(centre, call_at=now - timedelta(days=1))
    make_assignment(
        delta, unit_type="BLS", notified_at=75, en_route_at=135, on_scene_at=555, cleared_at=1155
    )
    stranger = make_incident(factories.DispatchCentreFactory(), call_at=now - timedelta(days=1))
    make_assignment(stranger, notified_at=1, en_route_at=2, on_scene_at=3, cleared_at=4)
    return echo, delta, stranger


def test_response_report_reads_one_centre_and_the_range(
    recorded, centre, django_assert_max_num_queries
):
    echo, delta, _ = recorded
    # The centre's urban area, incidents, their assignments, the queued calls, the offloads
    # and the hospitals' outcomes.
    with django_assert_max_num_queries(6):
        report = response_report(
            centre_id=centre.pk, since=echo.call_received_at, until=delta.call_received_at
        )
    assert [row.id for row in report.incidents] == [echo.pk]
    assert report.incidents[0].intervals.call_to_dispatch_s == 45  # the cancelled unit ignored


def test_dispatcher_sees_the_numbers_for_their_centre_only(client, dispatcher, recorded):
    echo, delta, stranger = recorded
    client.force_login(dispatcher)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="incident-count">2<' in page
    assert f'data-incident-id="{echo.pk}"' in page
    assert f'data-incident-id="{delta.pk}"' in page
    assert f'data-incident-id="{stranger.pk}"' not in page
    report = response.context["report"]
    stats = {s.key: s for s in report.intervals}
    # Call to dispatch 45 and 75 s: mean 1:00, nearest-rank median 0:45, p90 1:15.
    assert (stats["call_to_dispatch_s"].mean, stats["call_to_dispatch_s"].median) == (
        "1:00",
        "0:45",
    )
    assert stats["call_to_dispatch_s"].p90 == "1:15"
    assert '<td class="num">1:15</td>' in page
    found = {c.measure: c for c in report.compliance}
    # 45 s met, 75 s not: 50% of calls processed within 60 s.
    call = found["Call processing (call received \u2192 first unit alerted)"]
    assert call.achieved == "50.0% (1/2)"
    assert "50.0% (1/2)" in page
    assert found["Category 1 (Echo) response, mean"].achieved == "6:15"
    assert found["Ambulance patient offload (APOT), 90th percentile"].achieved == "no data"


def test_report_page_names_spans_in_words_and_keeps_the_codes_for_exports(
    client, dispatcher, recorded
):
    client.force_login(dispatcher)
    response = client.get(URL)
    page = response.content.decode()
    # No NEMSIS code on the screen: not "eTimes.01", nor the short ".05 \u2192 .06" spans.
    assert not re.search(r"\be(Times|Disposition)\.\d", page)
    assert not re.search(r"\.\d\d \u2192", page)
    assert "call received \u2192 first unit alerted" in page
    assert "at hospital \u2192 transfer of care" in page
    stats = {s.key: s for s in response.context["report"].intervals}
    assert stats["call_to_dispatch_s"].codes == "eTimes.01 \u2192 first .03"
    assert stats["apot_s"].codes == ".11 \u2192 .12"


def test_explicit_dates_include_the_until_day(client, dispatcher, recorded):
    echo, _, _ = recorded
    day = timezone.localtime(echo.call_received_at).date()
    client.force_login(dispatcher)
    response = client.get(URL, {"since": day.isoformat(), "until": day.isoformat()})
    assert response.status_code == 200
    assert [row.id for row in response.context["report"].incidents] == [echo.pk]


@pytest.mark.parametrize("role_fixture", ["paramedic", "ed_nurse", "admin"])
def test_report_is_for_dispatchers_only(client, request, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get(URL).status_code == 403


def test_a_dispatcher_of_another_centre_sees_none_of_these_incidents(client, outsider, recorded):
    echo, _, _ = recorded
    client.force_login(outsider)
    page = client.get(URL).content.decode()
    assert 'id="incident-count">0<' in page
    assert f'data-incident-id="{echo.pk}"' not in page


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302


def test_a_bad_since_date_is_named_and_the_page_still_renders(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get(URL, {"since": "2025-02-30", "until": "2025-03-10"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Since: Enter a valid date." in page
    assert 'value="2025-02-30"' in page
    assert response.context["report"] is None


def test_until_before_since_is_refused_on_until(client, dispatcher):
    client.force_login(dispatcher)
    page = client.get(URL, {"since": "2025-03-10", "until": "2025-03-01"}).content.decode()
    assert "Until: Until must be on or after since." in page
