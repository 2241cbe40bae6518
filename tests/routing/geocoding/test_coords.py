"""Coordinate and plus-code spellings a dispatcher may type or paste."""

from __future__ import annotations

import pytest

from routing.engine.coords import GeocodeError, parse_coordinates

LAT, LON = 60.1699, 24.9384


@pytest.mark.parametrize(
    "text",
    [
        "60.1699, 24.9384",
        "60.1699 24.9384",
        "60.1699,24.9384",
        "  60.1699 ,  24.9384  ",
        "60.1699N 24.9384E",
        "60.1699 N, 24.9384 E",
        "N60.1699 E24.9384",
        "N 60.1699, E 24.9384",
        "24.9384E 60.1699N",
        "60,1699; 24,9384",
        "60,1699 24,9384",
        "geo:60.1699,24.9384",
        "geo:60.1699,24.9384;u=35",
        "60.1699°, 24.9384°",
    ],
)
def test_decimal_spellings_parse_to_the_same_point(text: str) -> None:
    parsed = parse_coordinates(text)
    assert parsed is not None
    assert parsed.source == "latlon"
    assert parsed.lat == pytest.approx(LAT)
    assert parsed.lon == pytest.approx(LON)
    assert parsed.precision_m == pytest.approx(5.6, abs=0.1)


@pytest.mark.parametrize(
    "text",
    [
        "60°10'11.6\"N 24°56'18.2\"E",
        "60° 10\u2032 11.6\u2033 N, 24° 56\u2032 18.2\u2033 E",
        "N 60°10'11.6\" E 24°56'18.2\"",
        "60°10\u201911.6\u201dN 24°56\u201918.2\u201dE",
        "60d10m11.6s N 24d56m18.2s E",
    ],
)
def test_degrees_minutes_seconds(text: str) -> None:
    parsed = parse_coordinates(text)
    assert parsed is not None
    assert parsed.lat == pytest.approx(60 + 10 / 60 + 11.6 / 3600)
    assert parsed.lon == pytest.approx(24 + 56 / 60 + 18.2 / 3600)
    assert parsed.precision_m < 2


def test_degrees_decimal_minutes() -> None:
    parsed = parse_coordinates("60°10.193'N 24°56.303'E")
    assert parsed is not None
    assert parsed.lat == pytest.approx(60 + 10.193 / 60)
    assert parsed.lon == pytest.approx(24 + 56.303 / 60)


@pytest.mark.parametrize(
    ("text", "lat", "lon"),
    [
        ("-33.8688, 151.2093", -33.8688, 151.2093),
        ("33.8688S 151.2093E", -33.8688, 151.2093),
        ("40.7128 N 74.0060 W", 40.7128, -74.006),
        ("W74.0060 N40.7128", 40.7128, -74.006),
    ],
)
def test_hemispheres_and_signs(text: str, lat: float, lon: float) -> None:
    parsed = parse_coordinates(text)
    assert parsed is not None
    assert (parsed.lat, parsed.lon) == pytest.approx((lat, lon))


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("95.0, 24.9", "lat", "outside -90..90"),
        ("-90.5 24.9", "lat", "outside -90..90"),
        ("60.1, 200.5", "lon", "outside -180..180"),
        ("95N 24E", "lat", "outside"),
        ("60.1N 24.9N", "latlon", "same axis"),
        ("60°61'N 24°56'E", "latlon", "minutes"),
        ("60°10'75\"N 24°56'E", "latlon", "seconds"),
        ("-60.1S 24.9E", "latlon", "minus sign"),
        ("24.9E 60.1", "latlon", "hemisphere letters"),
        ("9GG65WCH+2VZZ", "pluscode", "not a valid plus code"),
        ("9GG65WCH+2V1111111111111111", "pluscode", "not a valid"),
        ("WCH+2V Helsinki", "pluscode", "odd number"),
    ],
)
def test_invalid_coordinates_raise_with_field_and_reason(
    text: str, field: str, reason: str
) -> None:
    with pytest.raises(GeocodeError) as err:
        parse_coordinates(text)
    assert err.value.field == field
    assert reason in err.value.message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Mannerheimintie 12",
        "Mannerheimintie 12 B 5",
        "12 5",
        "12, 5",
        "Kiasma",
        "+358 40 123 4567",
        "+358401234567",
        "asdf;lkj",
        "00100 Helsinki",
    ],
)
def test_non_coordinates_return_none(text: str) -> None:
    assert parse_coordinates(text) is None


def test_full_plus_code() -> None:
    parsed = parse_coordinates("9GG65WCH+2V")
    assert parsed is not None
    assert parsed.source == "pluscode"
    assert parsed.lat == pytest.approx(60.1700625)
    assert parsed.lon == pytest.approx(24.9296875)
    assert 5 < parsed.precision_m < 10


def test_full_plus_code_lowercase_with_trailing_text() -> None:
    parsed = parse_coordinates("9gg65wch+2v Helsinki")
    assert parsed is not None
    assert parsed.lat == pytest.approx(60.1700625)


def test_short_plus_code_with_reference_point() -> None:
    parsed = parse_coordinates("5WCH+2V", ref=(60.17, 24.94))
    assert parsed is not None
    assert (parsed.lat, parsed.lon) == pytest.approx((60.1700625, 24.9296875))


def test_short_plus_code_with_locality() -> None:
    towns = {"helsinki": (60.1699, 24.9384)}
    parsed = parse_coordinates(
        "5WCH+2V Helsinki", locality_lookup=lambda name: towns.get(name.lower())
    )
    assert parsed is not None
    assert (parsed.lat, parsed.lon) == pytest.approx((60.1700625, 24.9296875))


def test_short_plus_code_without_anchor_is_an_error() -> None:
    with pytest.raises(GeocodeError, match="needs a town name"):
        parse_coordinates("5WCH+2V")


def test_short_plus_code_with_unknown_locality_is_an_error() -> None:
    with pytest.raises(GeocodeError, match="unknown locality 'Atlantis'"):
        parse_coordinates("5WCH+2V Atlantis", locality_lookup=lambda name: None)
