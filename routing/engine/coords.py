"""Parse coordinates and Open Location Codes (plus codes) typed or pasted by a dispatcher."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from openlocationcode import openlocationcode as olc

__all__ = [
    "GeocodeError",
    "LocalityLookup",
    "ParsedLocation",
    "parse_coordinates",
    "parse_plus_code",
]

# Metres per degree of latitude; longitude degrees shrink with cos(lat).
_M_PER_DEG = 111_320.0

LocalityLookup = Callable[[str], tuple[float, float] | None]


class GeocodeError(ValueError):
    """Input that is clearly a location but cannot be used, naming the field and the reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedLocation:
    """A position read directly from text, with the rounding error the spelling implies."""

    lat: float
    lon: float
    source: Literal["latlon", "pluscode"]
    precision_m: float


# Typographic quotes and primes come from copy-pasting out of maps and messaging apps.
_TRANSLATE = str.maketrans(
    {
        "\u2032": "'",
        "\u2019": "'",
        "\u2018": "'",
        "\u00b4": "'",
        "`": "'",
        "\u2033": '"',
        "\u201d": '"',
        "\u201c": '"',
        "º": "°",
        "˚": "°",
        "\u00a0": " ",
        "\u2212": "-",
    }
)

_NUM = r"\d+(?:\.\d+)?"
# One axis: optional hemisphere prefix, signed degrees, optional minutes and seconds,
# optional hemisphere suffix.  Minutes/seconds need their mark so that "60 24" stays two axes.
_AXIS = (
    r"(?:(?P<{p}h1>[NSEW])\s*)?"
    r"(?P<{p}deg>[-+]?" + _NUM + r")\s*(?P<{p}dmark>°|deg(?![a-z])|d(?![a-z]))?\s*"
    r"(?:(?P<{p}min>" + _NUM + r")\s*(?:'|min(?![a-z])|m(?![a-z]))\s*)?"
    r"(?:(?P<{p}sec>" + _NUM + r")\s*(?:\"|''|sec(?![a-z])|s(?![a-z]))\s*)?"
    r"(?P<{p}h2>[NSEW](?![A-Z]))?"
)
_PAIR_RE = re.compile(
    r"^\s*" + _AXIS.format(p="a") + r"\s*[,;/\s]\s*" + _AXIS.format(p="b") + r"\s*$",
    re.IGNORECASE,
)
# "60,1699; 24,9384" or "60,1699 24,9384": decimal commas, so the separator cannot be a comma.
_DECIMAL_COMMA_RE = re.compile(
    r"^\s*(?P<a>[-+]?\d{1,3},\d+)\s*(?:;|\s)\s*(?P<b>[-+]?\d{1,3},\d+)\s*$"
)
_GEO_URI_RE = re.compile(r"^\s*geo:\s*", re.IGNORECASE)
# Anything shaped like "XXXX+YY" is meant as a plus code, so a bad one is an error rather than
# an address to look up.
_PLUS_TOKEN_RE = re.compile(r"^[0-9A-Z]{2,8}\+[0-9A-Z]*$", re.IGNORECASE)


def parse_coordinates(
    text: str,
    *,
    ref: tuple[float, float] | None = None,
    locality_lookup: LocalityLookup | None = None,
) -> ParsedLocation | None:
    """Read a lat/lon pair or plus code from text; None when the text is not a coordinate."""
    if not text or not text.strip():
        return None
    cleaned = _GEO_URI_RE.sub("", text.translate(_TRANSLATE)).strip()
    # A geo: URI may carry ";u=12" uncertainty or "?q=" suffixes that do not change the point.
    if cleaned != text.translate(_TRANSLATE).strip():
        cleaned = re.split(r"[;?]", cleaned, maxsplit=1)[0]
    plus = parse_plus_code(cleaned, ref=ref, locality_lookup=locality_lookup)
    if plus is not None:
        return plus
    match = _DECIMAL_COMMA_RE.match(cleaned)
    if match:
        lat_s, lon_s = match.group("a"), match.group("b")
        lat = float(lat_s.replace(",", "."))
        lon = float(lon_s.replace(",", "."))
        decimals = min(_decimals(lat_s.replace(",", ".")), _decimals(lon_s.replace(",", ".")))
        return _checked(lat, lon, _M_PER_DEG * 10.0**-decimals / 2)
    match = _PAIR_RE.match(cleaned)
    if not match:
        return None
    return _from_pair(match)


def parse_plus_code(
    text: str,
    *,
    ref: tuple[float, float] | None = None,
    locality_lookup: LocalityLookup | None = None,
) -> ParsedLocation | None:
    """Decode a full plus code, or a short one near a named locality or reference point."""
    tokens = [t.strip(",;") for t in text.split()]
    code_idx = next((i for i, t in enumerate(tokens) if _PLUS_TOKEN_RE.match(t)), None)
    if code_idx is None:
        return None
    code = tokens[code_idx].upper()
    locality = " ".join(t for i, t in enumerate(tokens) if i != code_idx and t).strip(" ,;")
    if not olc.isValid(code):
        before = code.split("+", 1)[0]
        if len(before) % 2 and len(before) < 8:
            raise GeocodeError(
                "pluscode",
                f"'{code}' has an odd number of characters before '+'; a short code has 4 "
                "(like '5WCH+2V'), a full one 8",
            )
        raise GeocodeError("pluscode", f"'{code}' is not a valid plus code")
    if olc.isFull(code):
        return _decode_area(code)
    # Short codes drop leading digits; they only mean something next to a known place.
    anchor: tuple[float, float] | None = None
    if locality and locality_lookup is not None:
        anchor = locality_lookup(locality)
    if anchor is None:
        anchor = ref
    if anchor is None:
        if locality:
            raise GeocodeError(
                "pluscode", f"unknown locality '{locality}' for short plus code '{code}'"
            )
        raise GeocodeError(
            "pluscode", f"short plus code '{code}' needs a town name or a reference point"
        )
    return _decode_area(olc.recoverNearest(code, anchor[0], anchor[1]))


def _decode_area(code: str) -> ParsedLocation:
    area = olc.decode(code)
    lat, lon = area.latitudeCenter, area.longitudeCenter
    height = (area.latitudeHi - area.latitudeLo) * _M_PER_DEG
    width = (area.longitudeHi - area.longitudeLo) * _M_PER_DEG * math.cos(math.radians(lat))
    return ParsedLocation(lat, lon, "pluscode", math.hypot(height, width) / 2)


def _from_pair(match: re.Match[str]) -> ParsedLocation | None:
    letters = {k: match.group(k) for k in ("ah1", "ah2", "bh1", "bh2")}
    if letters["ah1"] and letters["ah2"] and not letters["bh1"] and not letters["bh2"]:
        # "N 60°10' E 24°56'": the letter after the first value prefixes the second one.
        letters["bh1"], letters["ah2"] = letters["ah2"], None
    axes = []
    has_marks = False
    for p in ("a", "b"):
        h1, h2 = letters[f"{p}h1"], letters[f"{p}h2"]
        if h1 and h2:
            raise GeocodeError("latlon", "a value has two hemisphere letters")
        hemi = (h1 or h2 or "").upper()
        deg_s = match.group(f"{p}deg")
        min_s, sec_s = match.group(f"{p}min"), match.group(f"{p}sec")
        has_marks = has_marks or bool(hemi or match.group(f"{p}dmark") or min_s or sec_s)
        axes.append((hemi, deg_s, min_s, sec_s))
    # Two bare integers ("12 5") are more likely part of an address than a position.
    if not has_marks and not any("." in a[1] for a in axes):
        return None
    values = [_axis_value(*a) for a in axes]
    axis_of = [{"N": "lat", "S": "lat", "E": "lon", "W": "lon"}.get(a[0]) for a in axes]
    if axis_of[0] and axis_of[0] == axis_of[1]:
        raise GeocodeError("latlon", "both values carry the same axis letter (N/S or E/W)")
    if axis_of[0] == "lon" or axis_of[1] == "lat":
        # Only "lon first" spelled with letters is unambiguous enough to swap.
        if None in axis_of:
            raise GeocodeError("latlon", "give hemisphere letters on both values or on neither")
        values.reverse()
    (lat, lat_prec), (lon, lon_prec) = values
    return _checked(lat, lon, max(lat_prec, lon_prec))


def _axis_value(hemi: str, deg_s: str, min_s: str | None, sec_s: str | None) -> tuple[float, float]:
    deg = float(deg_s)
    sign = -1.0 if deg_s.startswith("-") else 1.0
    if hemi and sign < 0:
        raise GeocodeError("latlon", f"'{deg_s}' has both a minus sign and a hemisphere letter")
    value = abs(deg)
    precision = _M_PER_DEG * 10.0 ** -_decimals(deg_s) / 2
    if min_s is not None:
        if "." in deg_s:
            raise GeocodeError("latlon", "decimal degrees cannot be followed by minutes")
        minutes = float(min_s)
        if minutes >= 60:
            raise GeocodeError("latlon", f"minutes {min_s} must be below 60")
        value += minutes / 60
        precision = _M_PER_DEG / 60 * 10.0 ** -_decimals(min_s) / 2
    if sec_s is not None:
        if min_s is None or "." in min_s:
            raise GeocodeError("latlon", "seconds need whole minutes before them")
        seconds = float(sec_s)
        if seconds >= 60:
            raise GeocodeError("latlon", f"seconds {sec_s} must be below 60")
        value += seconds / 3600
        precision = _M_PER_DEG / 3600 * 10.0 ** -_decimals(sec_s) / 2
    if hemi in ("S", "W"):
        sign = -1.0
    return sign * value, precision


def _checked(lat: float, lon: float, precision_m: float) -> ParsedLocation:
    if not -90.0 <= lat <= 90.0:
        raise GeocodeError("lat", f"latitude {lat:g} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise GeocodeError("lon", f"longitude {lon:g} is outside -180..180")
    return ParsedLocation(lat, lon, "latlon", precision_m)


def _decimals(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0
