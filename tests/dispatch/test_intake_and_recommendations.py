"""Call intake with every location source, duplicates, and the drive-time recommendation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import selectors, services
from dispatch.models import Call, Incident, UnitStatus
from routing.engine import snap
from routing.engine.reference import reference_eta, to_networkx
from tests import factories
from tests.dispatch.conftest import HAKANIEMI, KAMPPI, SENATE_SQUARE

pytestmark = pytest.mark.django_db


def _create(dispatcher, location, **extra):
    return services.incident_create(
        user=dispatcher,
        chief_complaint="fall",
        determinant=extra.pop("determinant", "BRAVO"),
        location=location,
        allow_duplicate=True,
        **extra,
    )


def test_caller_gps_keeps_accuracy_and_derives_confidence(dispatcher, road_map):
    incident = _create(
        dispatcher,
        services.LocationInput(
            source="caller_gps", lat=SENATE_SQUARE[0], lon=SENATE_SQUARE[1], accuracy_m=260
        ),
    )
    assert incident.accuracy_m == 260
    assert incident.confidence == pytest.approx(0.5)
    assert incident.road_distance_m < 250
    assert incident.road_street
    assert incident.address
    assert incident.response_mode == "non_urgent"


def test_address_is_geocoded_snapped_and_reverse_geocoded(dispatcher, road_map):
    incident = _create(
        dispatcher,
        services.LocationInput(source="address", text="Mannerheimintie 6"),
        determinant="ECHO",
    )
    assert incident.location_source == "address"
    assert incident.confidence >= 0.9
    assert "Mannerheimintie" in incident.address or incident.road_street
    assert incident.response_mode == "lights_sirens"
    assert Call.objects.get(incident=incident).received_at == incident.call_received_at


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("latlon", "60.1694, 24.9520"),
        ("latlon", "60°10'9.8\"N 24°57'7.2\"E"),
        ("pluscode", "9GG65X92+QR"),
    ],
)
def test_coordinates_and_plus_codes_as_text(dispatcher, road_map, source, text):
    incident = _create(dispatcher, services.LocationInput(source=source, text=text))
    assert 60.16 < incident.lat < 60.18
    assert incident.location_text == text


@pytest.mark.parametrize(
    ("location", "field"),
    [
        (services.LocationInput(source="caller_gps", lat=60.17, lon=24.94), "location.accuracy_m"),
        (services.LocationInput(source="map", lat=95.0, lon=24.94), "location.lat"),
        (services.LocationInput(source="map", lat=60.17), "location.lon"),
        (services.LocationInput(source="map", lat=60.15, lon=24.97), "location"),
        (services.LocationInput(source="map", lat=10.0, lon=10.0), "location"),
        (services.LocationInput(source="latlon", text="95, 24"), "location.text"),
        (services.LocationInput(source="latlon", text="somewhere"), "location.text"),
        (services.LocationInput(source="address", text="Qwxzv Plghtrm 999"), "location.text"),
        (services.LocationInput(source="telepathy", lat=60.17, lon=24.94), "location.source"),
    ],
)
def test_unusable_locations_are_refused_naming_the_field_and_nothing_is_stored(
    dispatcher, road_map, location, field
):
    with pytest.raises(services.DispatchError) as excinfo:
        _create(dispatcher, location)
    assert excinfo.value.field == field
    assert excinfo.value.message
    assert Incident.objects.count() == 0


def test_an_address_with_no_match_says_so(dispatcher, road_map):
    with pytest.raises(services.DispatchError, match="No match") as excinfo:
        _create(dispatcher, services.LocationInput(source="address", text="Qwxzv Plghtrm 999"))
    assert excinfo.value.code == "no_match"


def test_future_call_time_is_refused(dispatcher, road_map):
    with pytest.raises(services.DispatchError) as excinfo:
        _create(
            dispatcher,
            services.LocationInput(source="map", lat=SENATE_SQUARE[0], lon=SENATE_SQUARE[1]),
            call_received_at=timezone.now() + timedelta(minutes=5),
        )
    assert excinfo.value.field == "call_received_at"


def test_duplicate_warning_within_radius_and_window_only(dispatcher, road_map, settings):
    here = services.LocationInput(source="map", lat=SENATE_SQUARE[0], lon=SENATE_SQUARE[1])
    first = _create(dispatcher, here)
    near = services.LocationInput(
        source="map", lat=SENATE_SQUARE[0] + 0.0009, lon=SENATE_SQUARE[1]
    )  # ~100 m
    with pytest.raises(services.DispatchError) as excinfo:
        services.incident_create(
            user=dispatcher, chief_complaint="fall", determinant="BRAVO", location=near
        )
    assert excinfo.value.code == "duplicate"
    assert selectors.incident_duplicates(centre_id=first.centre_id, lat=near.lat, lon=near.lon) == [
        first
    ]
    far = services.LocationInput(source="map", lat=HAKANIEMI[0], lon=HAKANIEMI[1])
    services.incident_create(
        user=dispatcher, chief_complaint="fall", determinant="BRAVO", location=far
    )
    Incident.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    services.incident_create(
        user=dispatcher, chief_complaint="fall", determinant="BRAVO", location=near
    )
    # The third incident stands at `near`, about 100 m from `here`.
    assert (
        len(selectors.incident_duplicates(centre_id=first.centre_id, lat=here.lat, lon=here.lon))
        == 1
    )
    settings.DUPLICATE_RADIUS_M = 50
    assert (
        selectors.incident_duplicates(centre_id=first.centre_id, lat=here.lat, lon=here.lon) == []
    )


def test_a_duplicate_call_attaches_to_the_open_incident(dispatcher, road_map):
    incident = _create(
        dispatcher, services.LocationInput(source="map", lat=SENATE_SQUARE[0], lon=SENATE_SQUARE[1])
    )
    services.incident_attach_call(
        user=dispatcher, incident=incident, caller_name="Neighbour", caller_phone="+358401234567"
    )
    assert incident.calls.count() == 2


def test_recommendation_order_equals_the_networkx_reference(dispatcher, road_map, centre):
    stations = [
        factories.StationFactory(centre=centre, lat=lat, lon=lon)
        for lat, lon in (
            (60.16515, 24.94516),
            KAMPPI,
            HAKANIEMI,
            (60.17235, 24.94660),
            (60.17380, 24.95200),
        )
    ]
    units = [factories.UnitFactory(home_station=s, unit_type="ALS") for s in stations]
    incident = _create(
        dispatcher,
        services.LocationInput(source="map", lat=60.1660, lon=24.9450),
        determinant="DELTA",
    )
    recommendations = selectors.incident_recommendations(incident)
    assert [r.excluded for r in recommendations] == [None] * len(units)
    graph = road_map.graph
    reference_graph = to_networkx(graph, "urgent")
    target = snap(graph, incident.road_lat, incident.road_lon)
    reference = {
        unit.pk: reference_eta(
            graph,
            reference_graph,
            snap(graph, unit.home_station.lat, unit.home_station.lon),
            target,
        )
        for unit in units
    }
    assert [r.unit.pk for r in recommendations] == sorted(reference, key=lambda pk: reference[pk])
    for r in recommendations:
        assert r.eta_s == pytest.approx(reference[r.unit.pk], rel=1e-3, abs=0.1)


def test_excluded_units_say_why_and_a_stale_unit_is_not_excluded(
    dispatcher, demo_units, make_incident, settings
):
    als_busy, bls, als_stale = demo_units
    incident = make_incident(determinant="ECHO")
    other = make_incident(where=(60.1660, 24.9450))
    services.assignments_create(user=dispatcher, incident_id=other.pk, unit_ids=[als_busy.pk])
    als_stale.last_lat, als_stale.last_lon = HAKANIEMI
    als_stale.last_fix_at = timezone.now() - timedelta(
        seconds=settings.UNIT_STALE_AFTER_SECONDS + 5
    )
    als_stale.save()
    out = factories.UnitFactory(home_station=bls.home_station, status=UnitStatus.OUT_OF_SERVICE)
    reasons = {r.unit.pk: r.excluded for r in selectors.incident_recommendations(incident)}
    assert reasons[als_busy.pk].startswith("busy")
    assert "needs an ALS unit" in reasons[bls.pk]
    assert reasons[als_stale.pk] is None
    assert reasons[out.pk] == "out of service"


def test_a_returning_unit_is_ranked_from_its_live_position(dispatcher, demo_units, make_incident):
    incident = make_incident(where=HAKANIEMI, determinant="CHARLIE")
    far_station_unit = demo_units[0]  # based at Erottaja, far from Hakaniemi
    services.unit_positions_record(
        unit_id=far_station_unit.pk,
        device_id="t",
        fixes=[
            services.Fix(
                client_id="p1",
                lat=incident.road_lat,
                lon=incident.road_lon,
                recorded_at=timezone.now(),
            )
        ],
    )
    ranked = selectors.incident_recommendations(incident)
    assert ranked[0].unit.pk == far_station_unit.pk
    assert ranked[0].position_source == "fix"
