"""Every demo station and hospital is on the demo road map, and every drive between them is
on the road graph (never the straight-line "(approx.)" estimate)."""

from __future__ import annotations

import math
from io import StringIO

import pytest
from django.core.management import call_command

from dispatch import services
from dispatch.models import Assignment, Station
from handoff.models import Hospital
from handoff.selectors import drive_times
from tests import factories

# A site this close to a road is at its kerb (a building's centroid to its street).
ON_THE_MAP_M = 50.0


@pytest.fixture
def seeded(road_map, db):
    call_command("seed_demo", stdout=StringIO())
    return road_map


def test_every_demo_station_and_hospital_snaps_to_the_road_graph(seeded):
    places = list(Station.objects.all()) + list(Hospital.objects.all())
    assert len(places) >= 10
    for place in places:
        snapped = seeded.snap(place.lat, place.lon)
        assert snapped.distance_m < ON_THE_MAP_M, (place.name, snapped.distance_m)


def test_a_route_exists_from_every_station_to_every_hospital(seeded):
    for station in Station.objects.all():
        for hospital in Hospital.objects.all():
            route = seeded.route((station.lat, station.lon), (hospital.lat, hospital.lon))
            assert math.isfinite(route.duration_s), (station.code, hospital.code)
            assert route.distance_m > 0, (station.code, hospital.code)
            assert len(route.geometry) >= 2


def test_hospital_drive_times_from_each_station_are_by_road_not_approximate(seeded, dispatcher):
    incident = services.incident_create(
        user=dispatcher,
        chief_complaint="chest pain",
        determinant="DELTA",
        location=services.LocationInput(source="map", lat=60.16940, lon=24.95200),
        allow_duplicate=True,
    )
    for station in Station.objects.all():
        unit = factories.UnitFactory(home_station=station, centre=station.centre)
        # Unsaved: drive_times reads only the unit's position and the incident's drive mode.
        assignment = Assignment(incident=incident, unit=unit)
        times = drive_times(assignment, list(Hospital.objects.all()))
        for hospital in Hospital.objects.all():
            drive = times[hospital.pk]
            assert drive.seconds is not None, (station.code, hospital.code)
            assert not drive.approximate, (station.code, hospital.code)


def test_demo_hospitals_are_described_as_demo_stand_ins(seeded):
    for hospital in Hospital.objects.all():
        assert hospital.name.startswith("Demo "), hospital.name
