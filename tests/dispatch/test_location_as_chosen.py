"""The incident's address is the place the dispatcher chose; the road point is where to stop."""

import pytest

from dispatch import selectors, services
from routing.services import geocode_forward, geocode_reverse, get_network
from tests import factories

pytestmark = pytest.mark.django_db


def _candidate(text, predicate=lambda c: True):
    return next(c for c in geocode_forward(text=text, limit=5).candidates if predicate(c))


def _create(dispatcher, location):
    return services.incident_create(
        user=dispatcher,
        chief_complaint="fall",
        determinant="BRAVO",
        location=location,
        allow_duplicate=True,
    )


def test_an_exact_house_number_is_kept_not_the_one_nearest_the_road(dispatcher, road_map):
    chosen = _candidate("Kalevankatu 6")
    assert chosen.housenumber == "6"
    # The defect: the road point's nearest address is another house.
    road = get_network().snap(chosen.lat, chosen.lon, field="location")
    assert geocode_reverse(lat=road.lat, lon=road.lon).label != chosen.label

    incident = _create(
        dispatcher,
        services.LocationInput(
            source="address",
            text=chosen.label,
            lat=chosen.lat,
            lon=chosen.lon,
            confidence=chosen.confidence,
        ),
    )
    assert incident.address == chosen.label == "Kalevankatu 6, 00100 Helsinki"
    assert incident.road_street == "Kalevankatu"
    assert (incident.lat, incident.lon) == (chosen.lat, chosen.lon)
    summary = selectors.incident_summary(incident)
    assert summary["address"] == chosen.label
    assert summary["stop"] == f"Kalevankatu, {round(incident.road_distance_m)} m"


def test_a_typed_address_resolved_by_the_server_keeps_the_best_candidate(dispatcher, road_map):
    incident = _create(dispatcher, services.LocationInput(source="address", text="Kalevankatu 6"))
    assert incident.address == "Kalevankatu 6, 00100 Helsinki"


def test_a_chosen_square_keeps_its_name(dispatcher, road_map):
    square = _candidate("Rautatientori", lambda c: "(square)" in c.label)
    incident = _create(
        dispatcher,
        services.LocationInput(
            source="address", text=square.label, lat=square.lat, lon=square.lon, confidence=0.95
        ),
    )
    assert incident.address == "Rautatientori (square)"
    assert "Mikonkatu" not in incident.address
    assert incident.road_street  # where to stop is a street beside the square


def test_a_map_click_is_named_by_the_point_itself_not_its_road_point(dispatcher, road_map):
    chosen = _candidate("Kalevankatu 6")
    incident = _create(
        dispatcher, services.LocationInput(source="map", lat=chosen.lat, lon=chosen.lon)
    )
    assert incident.address == geocode_reverse(lat=chosen.lat, lon=chosen.lon).label
    assert incident.address == "Kalevankatu 6, 00100 Helsinki"


def test_a_chosen_address_without_its_label_is_refused(dispatcher, road_map):
    with pytest.raises(services.DispatchError) as caught:
        _create(dispatcher, services.LocationInput(source="address", lat=60.1675, lon=24.9389))
    assert caught.value.field == "location.text"


def test_the_tablet_gets_the_chosen_address_and_where_to_stop(dispatcher, road_map, centre):
    chosen = _candidate("Kalevankatu 6")
    incident = _create(
        dispatcher,
        services.LocationInput(
            source="address", text=chosen.label, lat=chosen.lat, lon=chosen.lon, confidence=1.0
        ),
    )
    unit = factories.UnitFactory(
        home_station=factories.StationFactory(centre=centre, lat=60.16930, lon=24.93860)
    )
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[unit.pk]
    )
    crew = selectors.assignment_for_crew(assignment)["incident"]
    assert crew["address"] == "Kalevankatu 6, 00100 Helsinki"
    assert crew["stop_street"] == "Kalevankatu"
    assert crew["stop"].startswith("Kalevankatu, ")
    assert (crew["lat"], crew["lon"]) == (incident.road_lat, incident.road_lon)
    assert (crew["patient_lat"], crew["patient_lon"]) == (chosen.lat, chosen.lon)
