"""Forward and reverse geocoding against the offline index, and the resolve() entry point."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import numpy as np
from rapidfuzz import fuzz, process

from routing.engine.coords import GeocodeError, ParsedLocation, parse_coordinates
from routing.engine.geocode_index import (
    GeocodeIndex,
    build_index,
    fold,
    load_index,
    load_or_build_index,
    local_xy,
    parse_housenumber,
    project_on_segments,
    save_index,
    street_key,
    to_ecef,
)

__all__ = [
    "Candidate",
    "GeocodeError",
    "GeocodeIndex",
    "OnlineGeocoder",
    "ParsedQuery",
    "build_index",
    "forward",
    "load_index",
    "load_or_build_index",
    "parse_query",
    "resolve",
    "reverse",
    "save_index",
    "suggest",
]

log = logging.getLogger(__name__)

Kind = Literal["address", "interpolated", "street", "place", "online", "latlon", "pluscode"]
Source = Literal["offline", "online", "coords"]

# Confidence is "how sure we are the crew will find the patient at this point", before the
# name-similarity factor.  Street-level answers stay low on purpose: the street is right but
# the patient may be anywhere along it.
BASE_EXACT = 1.0
BASE_NEAR_EXACT = 0.9  # same number, different or missing letter (12 vs 12 B), or in 18-20
BASE_PLACE = 0.95
BASE_STREET_ONLY = 0.55  # no number was given
BASE_STREET_FALLBACK = 0.4  # a number was given but cannot be placed
MISMATCH_FACTOR = 0.8  # the query's postcode or town disagrees with the candidate's
MIN_CONFIDENCE = 0.3
STREET_CUTOFF = 75.0
PLACE_CUTOFF = 78.0
STRONG_STREET_SCORE = 90.0
PLACE_DEMOTE = 0.75
PLACE_DEMOTE_NUMBERED = 0.6
# Interpolating across a gap wider than this is guessing, not interpolating.
MAX_INTERPOLATION_SPAN_M = 1_000.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """One geocoding answer, ranked by confidence (0..1)."""

    label: str
    lat: float
    lon: float
    kind: Kind
    confidence: float
    street: str = ""
    housenumber: str = ""
    postcode: str = ""
    city: str = ""
    source: Source = "offline"
    name: str = ""
    category: str = ""
    distance_m: float | None = None
    precision_m: float | None = None


class OnlineGeocoder(Protocol):
    """Anything that turns a query into candidates over the network (see online_geocoders)."""

    def geocode(self, query: str, *, limit: int = 5) -> list[Candidate]:
        """Return candidates, or raise GeocodeError on any failure."""
        ...


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A free-text address split into its parts."""

    street: str
    number: int = -1
    number_end: int = -1
    letter: str = ""
    housenumber: str = ""
    postcode: str = ""
    city: str = ""


# House number: "12", "12b", "12 B", "12 B 5" (staircase B, flat 5), "12 as 5", "18-20".
_HN = (
    r"(?P<hn>\d{1,5}(?:\s*-\s*\d{1,5})?"
    r"(?:\s*[a-zA-Z](?![a-zA-ZäöåÄÖÅ]))?"
    r"(?:\s*(?:as\.?|bst\.?)?\s*\d{1,4})?)"
)
_STREET_FIRST = re.compile(r"^(?P<street>.*?\D)\s*" + _HN + r"(?:\s+(?P<rest>.*))?$")
_NUMBER_FIRST = re.compile(r"^" + _HN + r"\s+(?P<street>\D.*)$")
_POSTCODE = re.compile(r"\b(\d{4,5})\b")


def parse_query(text: str, localities: set[str] | frozenset[str] = frozenset()) -> ParsedQuery:
    """Split 'Mannerheimintie 12 B 5, 00100 Helsinki' into street, number, postcode and town."""
    parts = [p.strip() for p in re.split(r"[,\n]", text) if p.strip()]
    if not parts:
        return ParsedQuery("")
    head, tail = parts[0], parts[1:]
    street, hn, rest = head, "", ""
    match = _STREET_FIRST.match(head)
    if match is None:
        match = _NUMBER_FIRST.match(head)
        # "00100 Helsinki" leads with a postcode, not a house number.
        if match and _POSTCODE.fullmatch(match.group("hn").strip()):
            match = None
    if match:
        street, hn = match.group("street").strip(), match.group("hn")
        rest = (match.groupdict().get("rest") or "").strip()
    elif tail and re.match(r"^\d", tail[0]) and not _POSTCODE.match(tail[0]):
        # "Carrer Major, 12": the number has its own comma-separated part.
        hn, tail = tail[0], tail[1:]
    extra = " ".join([rest, *tail]).strip()
    postcode = ""
    pc = _POSTCODE.search(extra)
    if pc:
        postcode = pc.group(1)
        extra = (extra[: pc.start()] + extra[pc.end() :]).strip()
    city = " ".join(extra.split())
    if not hn and not city and localities:
        # "Mannerheimintie Helsinki": peel a trailing known town off the street words.
        words = street.split()
        for cut in range(len(words) - 1, 0, -1):
            if street_key(" ".join(words[cut:])) in localities:
                street, city = " ".join(words[:cut]), " ".join(words[cut:])
                break
    number, number_end, letter = parse_housenumber(hn)
    return ParsedQuery(
        street=street.strip(" .") if not street.endswith(".") else street.strip(),
        number=number,
        number_end=number_end,
        letter=letter,
        housenumber=" ".join(hn.split()),
        postcode=postcode,
        city=city,
    )


def forward(
    text: str, index: GeocodeIndex, *, limit: int = 5, min_confidence: float = MIN_CONFIDENCE
) -> list[Candidate]:
    """Ranked offline candidates for an address or place name; empty when nothing is close."""
    if not text or not text.strip() or not re.search(r"[^\W\d_]", text):
        return []
    return _search(text, index, limit, min_confidence, STREET_CUTOFF, PLACE_CUTOFF)


def suggest(text: str, index: GeocodeIndex, n: int = 5) -> list[Candidate]:
    """The n closest partial matches even below the match threshold, for 'did you mean'."""
    if not text or not text.strip():
        return []
    return _search(text, index, n, 0.0, 40.0, 50.0)


def _search(
    text: str,
    index: GeocodeIndex,
    limit: int,
    min_confidence: float,
    street_cutoff: float,
    place_cutoff: float,
) -> list[Candidate]:
    query = parse_query(text, index.derived["locality_keys"])
    found: list[Candidate] = []
    street_hits = _match_streets(query.street, index, street_cutoff, limit)
    for key, score in street_hits:
        found.extend(_street_candidates(query, key, score / 100.0, index))
    places = _match_places(text, index, place_cutoff, limit)
    if street_hits and street_hits[0][1] >= STRONG_STREET_SCORE:
        # The text clearly names a street; a tram stop or shop merely named after that street
        # is a worse answer than the street itself, more so when a house number was given.
        demote = PLACE_DEMOTE_NUMBERED if query.number >= 0 else PLACE_DEMOTE
        places = [
            c
            if c.confidence >= BASE_PLACE
            else replace(c, confidence=round(c.confidence * demote, 3))
            for c in places
        ]
    found.extend(places)
    found = [_apply_context(c, query) for c in found]
    best: dict[tuple[str, int, int], Candidate] = {}
    for cand in found:
        # The same point reached through an alias or a POI is one answer, not two.
        slot = (cand.label, round(cand.lat * 1e4), round(cand.lon * 1e4))
        if slot not in best or best[slot].confidence < cand.confidence:
            best[slot] = cand
    ranked = sorted(best.values(), key=lambda c: (-c.confidence, c.label))
    return [c for c in ranked if c.confidence >= min_confidence][:limit]


def _match_streets(
    street: str, index: GeocodeIndex, cutoff: float, limit: int
) -> list[tuple[str, float]]:
    key = street_key(street)
    if len(key) < 3:
        return []
    keys: list[str] = index.derived["vocab_keys"]
    hits = {
        k: float(score)
        for k, score, _ in process.extract(
            key, keys, scorer=fuzz.ratio, score_cutoff=cutoff, limit=limit * 2
        )
    }
    # "Mannerheimint." and "Bulev.": an abbreviation is a prefix of the full name.
    if street.rstrip().endswith(".") and len(key) >= 4:
        for k in keys:
            if k.startswith(key):
                hits[k] = max(hits.get(k, 0.0), 95.0)
    return sorted(hits.items(), key=lambda kv: -kv[1])[: limit * 2]


def _street_candidates(
    query: ParsedQuery, key: str, similarity: float, index: GeocodeIndex
) -> list[Candidate]:
    entry = index.derived["vocab"][key]
    name: str = entry.get("canonical", entry["name"])
    rows = np.asarray(entry["addresses"], dtype=np.int64)
    factor = similarity**2
    if query.number < 0:
        return [
            _street_point(index, sid, name, BASE_STREET_ONLY * factor, "")
            for sid in entry["streets"]
        ] or _address_cloud(index, rows, name, BASE_STREET_ONLY * factor, "")
    if len(rows):
        exact = _exact_address(query, rows, index, factor)
        if exact:
            return exact
    groups: dict[int, list[int]] = {}
    for r in rows.tolist():
        groups.setdefault(int(index.addr_street_id[r]), []).append(r)
    for sid in entry["streets"]:
        groups.setdefault(int(sid), [])
    out = []
    for sid, members in groups.items():
        cand = _interpolate(query, np.asarray(members, dtype=np.int64), index, name, factor)
        if cand is None:
            base = BASE_STREET_FALLBACK * factor
            cand = (
                _street_point(index, sid, name, base, query.housenumber)
                if sid >= 0
                else _address_cloud(index, np.asarray(members), name, base, query.housenumber)[0]
            )
        out.append(cand)
    return out


def _exact_address(
    query: ParsedQuery, rows: Any, index: GeocodeIndex, factor: float
) -> list[Candidate]:
    nums = index.derived["addr_num"][rows]
    ends = index.derived["addr_end"][rows]
    letters = [index.derived["addr_letter"][r] for r in rows.tolist()]
    scored = []
    for r, num, end, letter in zip(
        rows.tolist(), nums.tolist(), ends.tolist(), letters, strict=True
    ):
        if num == query.number and letter == query.letter:
            base = BASE_EXACT
        elif num == query.number or num <= query.number <= end:
            base = BASE_NEAR_EXACT
        else:
            continue
        scored.append((-base, int(index.addr_rank[r]), r))
    seen_streets: set[int] = set()
    out = []
    for neg_base, _, r in sorted(scored):
        sid = int(index.addr_street_id[r])
        # One answer per physical street: namesakes in other towns stay as alternatives.
        if sid in seen_streets:
            continue
        seen_streets.add(sid)
        out.append(_address_candidate(index, r, "address", -neg_base * factor))
    return out


def _interpolate(
    query: ParsedQuery, rows: Any, index: GeocodeIndex, name: str, factor: float
) -> Candidate | None:
    nums = index.derived["addr_num"][rows] if len(rows) else np.zeros(0, dtype=np.int64)
    known: dict[int, int] = {}
    for r, num in sorted(
        zip(rows.tolist(), nums.tolist(), strict=True), key=lambda x: index.addr_rank[x[0]]
    ):
        if num >= 0:
            known.setdefault(num, r)
    n = query.number
    for same_parity, base in ((True, 0.8), (False, 0.6)):
        usable = [k for k in known if not same_parity or k % 2 == n % 2]
        lower = max((k for k in usable if k < n), default=None)
        upper = min((k for k in usable if k > n), default=None)
        if lower is None or upper is None:
            continue
        a, b = known[lower], known[upper]
        xy = local_xy(
            np.array([index.addr_lat[a], index.addr_lat[b]]),
            np.array([index.addr_lon[a], index.addr_lon[b]]),
            float(index.addr_lat[a]),
            float(index.addr_lon[a]),
        )
        span = float(np.linalg.norm(xy[1] - xy[0]))
        if span > MAX_INTERPOLATION_SPAN_M:
            continue
        t = (n - lower) / (upper - lower)
        lat = float(index.addr_lat[a] + t * (index.addr_lat[b] - index.addr_lat[a]))
        lon = float(index.addr_lon[a] + t * (index.addr_lon[b] - index.addr_lon[a]))
        # Wide gaps in numbering mean the real building can be far from the straight line.
        confidence = base * factor * max(0.7, 1.0 - (upper - lower) / 100.0)
        return _make(index, a, "interpolated", confidence, lat, lon, query.housenumber, name)
    same = [k for k in known if k % 2 == n % 2 and abs(k - n) <= 6]
    if same:
        nearest = min(same, key=lambda k: abs(k - n))
        r = known[nearest]
        return _make(
            index,
            r,
            "interpolated",
            0.5 * factor,
            float(index.addr_lat[r]),
            float(index.addr_lon[r]),
            query.housenumber,
            name,
        )
    return None


def _make(
    index: GeocodeIndex,
    row: int,
    kind: Kind,
    confidence: float,
    lat: float,
    lon: float,
    housenumber: str,
    street: str,
) -> Candidate:
    postcode, city = str(index.addr_postcode[row]), str(index.addr_city[row])
    return Candidate(
        label=_label(street, housenumber, postcode, city),
        lat=lat,
        lon=lon,
        kind=kind,
        confidence=round(confidence, 3),
        street=street,
        housenumber=housenumber,
        postcode=postcode,
        city=city,
    )


def _address_candidate(index: GeocodeIndex, row: int, kind: Kind, confidence: float) -> Candidate:
    street, hn = str(index.addr_street[row]), str(index.addr_hn[row])
    postcode, city = str(index.addr_postcode[row]), str(index.addr_city[row])
    return Candidate(
        label=_label(street, hn, postcode, city),
        lat=float(index.addr_lat[row]),
        lon=float(index.addr_lon[row]),
        kind=kind,
        confidence=round(confidence, 3),
        street=street,
        housenumber=hn,
        postcode=postcode,
        city=city,
        name=str(index.addr_name[row]),
    )


def _street_point(
    index: GeocodeIndex, sid: int, name: str, confidence: float, housenumber: str
) -> Candidate:
    city = str(index.street_city[sid])
    label = _label(name, "", "", city)
    return Candidate(
        label=label + (f" (no. {housenumber} not found; street midpoint)" if housenumber else ""),
        lat=float(index.street_lat[sid]),
        lon=float(index.street_lon[sid]),
        kind="street",
        confidence=round(confidence, 3),
        street=name,
        city=city,
    )


def _address_cloud(
    index: GeocodeIndex, rows: Any, name: str, confidence: float, housenumber: str
) -> list[Candidate]:
    if not len(rows):
        return []
    # No street geometry (a square or addr:place): the middle of its known addresses.
    lat, lon = float(index.addr_lat[rows].mean()), float(index.addr_lon[rows].mean())
    city = str(index.addr_city[rows[0]])
    return [
        Candidate(
            label=_label(name, "", "", city)
            + (f" (no. {housenumber} not found; area centre)" if housenumber else ""),
            lat=lat,
            lon=lon,
            kind="street",
            confidence=round(confidence, 3),
            street=name,
            city=city,
        )
    ]


def _match_places(text: str, index: GeocodeIndex, cutoff: float, limit: int) -> list[Candidate]:
    key = " ".join(fold(text).split())
    if len(key) < 3:
        return []
    out = []
    hits = process.extract(
        key,
        index.derived["place_keys"],
        scorer=fuzz.WRatio,
        score_cutoff=cutoff * 0.8,
        limit=limit * 4,
    )
    rescored = []
    for name_key, raw_score, i in hits:
        # WRatio scores a short name found inside a long query ("Meritxell" in "Hospital de
        # Nostra Senyora de Meritxell") as highly as the full name; weigh by length overlap.
        short, long_ = sorted((len(name_key), len(key)))
        score = raw_score * (0.85 + 0.15 * short / long_)
        if score >= cutoff:
            rescored.append((score, i))
    for score, i in sorted(rescored, key=lambda h: -h[0])[:limit]:
        name, category = str(index.place_name[i]), str(index.place_category[i])
        street, hn = str(index.place_street[i]), str(index.place_hn[i])
        postcode, city = str(index.place_postcode[i]), str(index.place_city[i])
        address = _label(street, hn, postcode, city) if street else city
        out.append(
            Candidate(
                label=f"{name} ({category.split('=', 1)[1].replace('_', ' ')})"
                + (f", {address}" if address else ""),
                lat=float(index.place_lat[i]),
                lon=float(index.place_lon[i]),
                kind="place",
                confidence=round(BASE_PLACE * _place_factor(score), 3),
                street=street,
                housenumber=hn,
                postcode=postcode,
                city=city,
                name=name,
                category=category,
            )
        )
    return out


def _place_factor(score: float) -> float:
    # WRatio gives 90 to any name that merely contains the query, so scores near the cutoff
    # must fall off faster than for street names.
    return max(0.0, (score - 50.0) / 50.0) ** 1.5


def _apply_context(cand: Candidate, query: ParsedQuery) -> Candidate:
    factor = 1.0
    if query.postcode and cand.postcode and query.postcode != cand.postcode:
        factor *= MISMATCH_FACTOR
    if query.city and cand.city and fuzz.ratio(street_key(query.city), street_key(cand.city)) < 80:
        factor *= MISMATCH_FACTOR
    return cand if factor == 1.0 else replace(cand, confidence=round(cand.confidence * factor, 3))


def _label(street: str, hn: str, postcode: str, city: str) -> str:
    first = f"{street} {hn}".strip()
    second = f"{postcode} {city}".strip()
    return ", ".join(p for p in (first, second) if p)


def reverse(
    lat: float,
    lon: float,
    index: GeocodeIndex,
    *,
    radius_m: float = 60.0,
    street_radius_m: float = 300.0,
) -> Candidate | None:
    """Nearest address within radius_m, else nearest named street, with distance_m set."""
    point = to_ecef(np.array([lat]), np.array([lon]))[0]
    tree = index.derived["addr_tree"]
    if tree is not None:
        dist, row = tree.query(point, distance_upper_bound=radius_m)
        if math.isfinite(dist):
            cand = _address_candidate(index, int(row), "address", 1.0)
            return replace(cand, distance_m=round(float(dist), 1))
    samples = index.derived["sample_tree"]
    if samples is None:
        return None
    k = min(32, len(index.derived["sample_seg"]))
    dists, idx = samples.query(point, k=k, distance_upper_bound=street_radius_m + 20.0)
    idx = np.atleast_1d(idx)[np.isfinite(np.atleast_1d(dists))]
    if not len(idx):
        return None
    segs = np.unique(index.derived["sample_seg"][idx])
    rows = index.seg[segs]
    a = local_xy(rows[:, 0], rows[:, 1], lat, lon)
    b = local_xy(rows[:, 2], rows[:, 3], lat, lon)
    _, d = project_on_segments(np.zeros(2), a, b)
    best = int(np.argmin(d))
    if d[best] > street_radius_m:
        return None
    sid = int(index.seg_street[segs[best]])
    cand = _street_point(index, sid, str(index.street_name[sid]), 1.0, "")
    return replace(cand, lat=lat, lon=lon, distance_m=round(float(d[best]), 1))


def resolve(
    text: str,
    index: GeocodeIndex | None,
    online: OnlineGeocoder | None = None,
    ref: tuple[float, float] | None = None,
    *,
    limit: int = 5,
    online_below: float = 0.6,
) -> list[Candidate]:
    """Coordinates or plus code first, then the offline index, then the online geocoder."""
    anchor = ref if ref is not None else (index.center if index is not None else None)
    parsed = parse_coordinates(
        text, ref=anchor, locality_lookup=index.locality_position if index is not None else None
    )
    if parsed is not None:
        return [_coordinate_candidate(parsed, index)]
    offline = forward(text, index, limit=limit) if index is not None else []
    if online is None or (offline and offline[0].confidence >= online_below):
        return offline
    try:
        remote = online.geocode(text, limit=limit)
    except GeocodeError as exc:
        # The offline answer (or "no match") still stands; the dispatcher is told via logs.
        log.warning("online geocoder failed, offline result kept: %s", exc)
        return offline
    merged = sorted([*offline, *remote], key=lambda c: -c.confidence)
    return merged[:limit]


def _coordinate_candidate(parsed: ParsedLocation, index: GeocodeIndex | None) -> Candidate:
    label = f"{parsed.lat:.6f}, {parsed.lon:.6f}"
    near = reverse(parsed.lat, parsed.lon, index) if index is not None else None
    if near is not None:
        label += f" (near {near.label}, {near.distance_m:.0f} m)"
    # A rounded coordinate is still where the caller said; only coarse rounding costs confidence.
    confidence = 1.0 if parsed.precision_m <= 25 else 0.8 if parsed.precision_m <= 250 else 0.5
    return Candidate(
        label=label,
        lat=parsed.lat,
        lon=parsed.lon,
        kind=parsed.source,
        confidence=confidence,
        street=near.street if near else "",
        housenumber=near.housenumber if near else "",
        postcode=near.postcode if near else "",
        city=near.city if near else "",
        source="coords",
        precision_m=round(parsed.precision_m, 2),
    )
