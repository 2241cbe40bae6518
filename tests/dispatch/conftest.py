import pytest

from dispatch import services
from tests import factories

# Real places on the demo map (central Helsinki).
ERottaja = (60.16515, 24.94516)
KAMPPI = (60.16930, 24.93860)
HAKANIEMI = (60.17830, 24.95050)
SENATE_SQUARE = (60.16940, 24.95200)


@pytest.fixture
def demo_units(road_map, centre):
    """Three units at different stations of the demo map, all available."""
    stations = [
        factories.StationFactory(centre=centre, lat=lat, lon=lon)
        for lat, lon in (ERottaja, KAMPPI, HAKANIEMI)
    ]
    return [
        factories.UnitFactory(home_station=stations[0], unit_type="ALS"),
        factories.UnitFactory(home_station=stations[1], unit_type="BLS"),
        factories.UnitFactory(home_station=stations[2], unit_type="ALS"),
    ]


@pytest.fixture
def make_incident(road_map, dispatcher):
    def make(determinant="DELTA", where=SENATE_SQUARE, **extra):
        return services.incident_create(
            user=dispatcher,
            chief_complaint=extra.pop("chief_complaint", "chest pain"),
            determinant=determinant,
            location=services.LocationInput(source="map", lat=where[0], lon=where[1]),
            allow_duplicate=extra.pop("allow_duplicate", True),
            **extra,
        )

    return make
