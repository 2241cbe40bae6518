"""Offline geocoding index built from an OSM extract, cached on disk as npz keyed by SHA-256."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

__all__ = [
    "INDEX_VERSION",
    "GeocodeIndex",
    "assemble_index",
    "build_index",
    "file_sha256",
    "fold",
    "load_index",
    "load_or_build_index",
    "parse_housenumber",
    "save_index",
    "street_key",
]

log = logging.getLogger(__name__)

# Bump when the stored arrays or their meaning change so stale caches are rebuilt.
INDEX_VERSION = 1
EARTH_RADIUS_M = 6_371_008.8
# Ways of one name closer than this belong to the same street; further apart they are
# namesakes in different villages, which must not share a midpoint.
_STREET_MERGE_M = 150.0
# Street geometry is sampled this densely for the nearest-street KD-tree.
_SAMPLE_STEP_M = 15.0

# Tags whose named features are worth finding by name; order decides the reported category.
PLACE_KEYS = (
    "emergency",
    "amenity",
    "healthcare",
    "place",
    "railway",
    "public_transport",
    "tourism",
    "leisure",
    "shop",
    "office",
    "historic",
    "building",
    "man_made",
)
# place=* values that name a town or district, usable to anchor short plus codes.
LOCALITY_PLACES = frozenset(
    {"city", "town", "village", "hamlet", "suburb", "quarter", "neighbourhood", "borough"}
)
_ALIAS_TAGS = ("name:fi", "name:sv", "name:en", "alt_name", "official_name", "short_name")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]


def fold(text: str) -> str:
    """Casefold and strip diacritics so 'Töölönkatu' and 'toolonkatu' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


def street_key(name: str) -> str:
    """Matching key of a street or place name: folded, letters and digits only."""
    return re.sub(r"[^0-9a-z]+", "", fold(name))


_HN_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*([a-z])?(?![a-z])", re.IGNORECASE)


def parse_housenumber(text: str) -> tuple[int, int, str]:
    """Split '12 B 5', '12b' or '18-20' into (number, range end, letter); (-1, -1, '') if none."""
    match = _HN_RE.match(text or "")
    if not match:
        return -1, -1, ""
    number = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else number
    return number, max(end, number), (match.group(3) or "").lower()


def to_ecef(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Points on a sphere in metres: chord distance equals ground distance at city scale."""
    la, lo = np.radians(lat), np.radians(lon)
    return (
        np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))
        * EARTH_RADIUS_M
    )


def local_xy(lat: FloatArray, lon: FloatArray, lat0: float, lon0: float) -> FloatArray:
    """Equirectangular metres around (lat0, lon0); exact enough within a few kilometres."""
    k = np.pi / 180 * EARTH_RADIUS_M
    return np.column_stack(((lon - lon0) * k * np.cos(np.radians(lat0)), (lat - lat0) * k))


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class GeocodeIndex:
    """Addresses, street geometry and named places of one extract, plus derived lookups."""

    meta: dict[str, Any]
    addr_street: StrArray
    addr_hn: StrArray
    addr_postcode: StrArray
    addr_city: StrArray
    addr_name: StrArray
    addr_lat: FloatArray
    addr_lon: FloatArray
    # 0 plain address node (usually an entrance), 1 building, 2 named POI: lower wins ties.
    addr_rank: IntArray
    addr_street_id: IntArray
    street_name: StrArray
    street_aliases: StrArray
    street_city: StrArray
    street_lat: FloatArray
    street_lon: FloatArray
    street_length_m: FloatArray
    # Segments as (lat1, lon1, lat2, lon2) rows, with the street each belongs to.
    seg: FloatArray
    seg_street: IntArray
    place_name: StrArray
    place_category: StrArray
    place_lat: FloatArray
    place_lon: FloatArray
    place_street: StrArray
    place_hn: StrArray
    place_postcode: StrArray
    place_city: StrArray
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    _ARRAYS = (
        "addr_street",
        "addr_hn",
        "addr_postcode",
        "addr_city",
        "addr_name",
        "addr_lat",
        "addr_lon",
        "addr_rank",
        "addr_street_id",
        "street_name",
        "street_aliases",
        "street_city",
        "street_lat",
        "street_lon",
        "street_length_m",
        "seg",
        "seg_street",
        "place_name",
        "place_category",
        "place_lat",
        "place_lon",
        "place_street",
        "place_hn",
        "place_postcode",
        "place_city",
    )

    def __post_init__(self) -> None:
        self._derive()

    @property
    def center(self) -> tuple[float, float]:
        """Centre of the extract's data, a fallback anchor for short plus codes."""
        return float(self.meta["lat0"]), float(self.meta["lon0"])

    def counts(self) -> dict[str, int]:
        """Number of addresses, streets, street segments and places."""
        return {
            "addresses": len(self.addr_lat),
            "streets": len(self.street_name),
            "segments": len(self.seg),
            "places": len(self.place_lat),
        }

    def locality_position(self, name: str) -> tuple[float, float] | None:
        """Position of a town or district named in the extract (exact folded match)."""
        hit = self.derived["localities"].get(street_key(name))
        return None if hit is None else (float(hit[0]), float(hit[1]))

    def _derive(self) -> None:
        d = self.derived
        d["addr_num"] = np.array([parse_housenumber(h)[0] for h in self.addr_hn], dtype=np.int64)
        d["addr_end"] = np.array([parse_housenumber(h)[1] for h in self.addr_hn], dtype=np.int64)
        d["addr_letter"] = [parse_housenumber(h)[2] for h in self.addr_hn]
        d["addr_tree"] = (
            cKDTree(to_ecef(self.addr_lat, self.addr_lon)) if len(self.addr_lat) else None
        )
        samples, sample_seg = _sample_segments(self.seg)
        d["sample_seg"] = sample_seg
        d["sample_tree"] = cKDTree(samples) if len(samples) else None
        # Vocabulary: matching key -> display name, street ids and address rows.
        vocab: dict[str, dict[str, Any]] = {}

        def entry(key: str, display: str) -> dict[str, Any]:
            return vocab.setdefault(key, {"name": display, "streets": set(), "addresses": []})

        for i, name in enumerate(self.addr_street):
            if name:
                entry(street_key(name), str(name))["addresses"].append(i)
        for sid, name in enumerate(self.street_name):
            entry(street_key(name), str(name))["streets"].add(sid)
        for sid, aliases in enumerate(self.street_aliases):
            canonical = vocab[street_key(self.street_name[sid])]
            for alias in filter(None, str(aliases).split("|")):
                key = street_key(alias)
                if key and key != street_key(self.street_name[sid]):
                    alias_entry = entry(key, alias)
                    alias_entry["streets"].add(sid)
                    alias_entry["canonical"] = canonical["name"]
                    alias_entry["addresses"] = canonical["addresses"]
        d["vocab"] = vocab
        d["vocab_keys"] = list(vocab)
        d["place_keys"] = [" ".join(fold(n).split()) for n in self.place_name]
        localities: dict[str, tuple[float, float]] = {}
        for i, cat in enumerate(self.place_category):
            if cat.startswith("place=") and cat[6:] in LOCALITY_PLACES:
                localities.setdefault(
                    street_key(self.place_name[i]), (self.place_lat[i], self.place_lon[i])
                )
        d["localities"] = localities
        d["locality_keys"] = set(localities) | {street_key(c) for c in self.addr_city if c}


def _sample_segments(seg: FloatArray) -> tuple[FloatArray, IntArray]:
    if not len(seg):
        return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    a, b = to_ecef(seg[:, 0], seg[:, 1]), to_ecef(seg[:, 2], seg[:, 3])
    lengths = np.linalg.norm(b - a, axis=1)
    steps = np.maximum(1, np.ceil(lengths / _SAMPLE_STEP_M).astype(np.int64))
    seg_ids = np.repeat(np.arange(len(seg)), steps + 1)
    within = np.concatenate([np.linspace(0.0, 1.0, s + 1) for s in steps])
    points = a[seg_ids] + (b[seg_ids] - a[seg_ids]) * within[:, None]
    return points, seg_ids


def _s(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _tag(row: Any, tags: dict[str, Any], key: str) -> str:
    value = _s(row.get(key)) if key in row else ""
    return value or _s(tags.get(key))


def _row_tags(row: Any) -> dict[str, Any]:
    raw = row.get("tags")
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.startswith("{"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _point_of(geom: Any) -> tuple[float, float] | None:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Point":
        return float(geom.y), float(geom.x)
    point = geom.centroid
    # A concave building's centroid can fall in the courtyard or next door.
    if geom.geom_type in ("Polygon", "MultiPolygon") and not geom.contains(point):
        point = geom.representative_point()
    return float(point.y), float(point.x)


def _lines_of(geom: Any) -> list[list[tuple[float, float]]]:
    if geom is None or geom.is_empty:
        return []
    kind = geom.geom_type
    if kind == "LineString":
        return [list(geom.coords)]
    if kind == "Polygon":
        return [list(geom.exterior.coords)]
    if kind in ("MultiLineString", "MultiPolygon", "GeometryCollection"):
        return [line for part in geom.geoms for line in _lines_of(part)]
    return []


def _frame(osm: Any, custom_filter: dict[str, bool], extra: list[str], *, nodes: bool) -> Any:
    frame = osm.get_data_by_custom_criteria(
        custom_filter=custom_filter,
        filter_type="keep",
        keep_nodes=nodes,
        keep_ways=True,
        keep_relations=True,
        extra_attributes=extra,
    )
    return frame


def build_index(pbf_path: str | Path) -> GeocodeIndex:
    """Read an .osm.pbf with pyrosm and build the geocoding index (slow; cache the result)."""
    # Imported here: pyrosm is slow to import and only building needs it.
    import pyrosm

    started = time.perf_counter()
    osm = pyrosm.OSM(str(pbf_path))
    addr_cols: dict[str, list[Any]] = defaultdict(list)
    addr_fields = ["addr:street", "addr:housenumber", "addr:postcode", "addr:city", "addr:place"]
    addresses = _frame(osm, {"addr:housenumber": True}, [*addr_fields, "name"], nodes=True)
    for row in [] if addresses is None else addresses.to_dict("records"):
        tags = _row_tags(row)
        # Rural Finnish and Swiss addresses name a village (addr:place) instead of a street.
        street = _tag(row, tags, "addr:street") or _tag(row, tags, "addr:place")
        hn = _tag(row, tags, "addr:housenumber")
        point = _point_of(row.get("geometry"))
        if not street or not hn or point is None:
            continue
        name = _tag(row, tags, "name")
        rank = 1 if row.get("osm_type") != "node" else (2 if name else 0)
        addr_cols["street"].append(street)
        addr_cols["hn"].append(hn)
        addr_cols["postcode"].append(_tag(row, tags, "addr:postcode"))
        addr_cols["city"].append(_tag(row, tags, "addr:city"))
        addr_cols["name"].append(name)
        addr_cols["lat"].append(point[0])
        addr_cols["lon"].append(point[1])
        addr_cols["rank"].append(rank)

    ways: list[tuple[str, list[str], list[list[tuple[float, float]]]]] = []
    highways = _frame(osm, {"highway": True}, ["name", *_ALIAS_TAGS], nodes=False)
    for row in [] if highways is None else highways.to_dict("records"):
        tags = _row_tags(row)
        name = _tag(row, tags, "name")
        lines = _lines_of(row.get("geometry"))
        if name and lines:
            aliases = [a for a in (_tag(row, tags, t) for t in _ALIAS_TAGS) if a and a != name]
            ways.append((name, aliases, lines))

    place_cols: dict[str, list[Any]] = defaultdict(list)
    places = _frame(
        osm, dict.fromkeys(PLACE_KEYS, True), ["name", *PLACE_KEYS, *addr_fields], nodes=True
    )
    seen: set[tuple[str, str, int, int]] = set()
    for row in [] if places is None else places.to_dict("records"):
        tags = _row_tags(row)
        name = _tag(row, tags, "name")
        point = _point_of(row.get("geometry"))
        values = [(k, v) for k in PLACE_KEYS if (v := _tag(row, tags, k)) and v != "no"]
        # "emergency=yes" on a hospital or "building=yes" says less than "amenity=hospital".
        specific = [kv for kv in values if kv[1] != "yes"] or values
        category = f"{specific[0][0]}={specific[0][1]}" if specific else ""
        if not name or point is None or not category:
            continue
        # Relations and their member ways often repeat one feature; keep it once.
        dedupe = (name, category, round(point[0] * 2000), round(point[1] * 2000))
        if dedupe in seen:
            continue
        seen.add(dedupe)
        place_cols["name"].append(name)
        place_cols["category"].append(category)
        place_cols["lat"].append(point[0])
        place_cols["lon"].append(point[1])
        place_cols["street"].append(_tag(row, tags, "addr:street"))
        place_cols["hn"].append(_tag(row, tags, "addr:housenumber"))
        place_cols["postcode"].append(_tag(row, tags, "addr:postcode"))
        place_cols["city"].append(_tag(row, tags, "addr:city"))

    meta = {"source": Path(pbf_path).name, "sha256": file_sha256(pbf_path)}
    index = assemble_index(addr_cols, ways, place_cols, meta)
    index.meta["build_seconds"] = round(time.perf_counter() - started, 3)
    log.info(
        "geocode index built from %s in %.1f s: %s",
        meta["source"],
        index.meta["build_seconds"],
        index.counts(),
    )
    return index


def assemble_index(
    addr_cols: dict[str, list[Any]],
    ways: list[tuple[str, list[str], list[list[tuple[float, float]]]]],
    place_cols: dict[str, list[Any]],
    meta: dict[str, Any],
) -> GeocodeIndex:
    """Build the index from plain columns: addresses, named ways (lon, lat lines) and places."""
    n_addr, n_place = len(addr_cols.get("lat", [])), len(place_cols.get("lat", []))
    addr_cols = {
        "postcode": [""] * n_addr,
        "city": [""] * n_addr,
        "name": [""] * n_addr,
        "rank": [0] * n_addr,
        **addr_cols,
    }
    place_cols = {
        **{k: [""] * n_place for k in ("street", "hn", "postcode", "city")},
        **place_cols,
    }
    for key in ("street", "hn", "lat", "lon"):
        addr_cols.setdefault(key, [])
    for key in ("name", "category", "lat", "lon"):
        place_cols.setdefault(key, [])
    all_lat = [*addr_cols["lat"], *place_cols["lat"]] + [p[1] for _, _, ls in ways for p in ls[0]]
    all_lon = [*addr_cols["lon"], *place_cols["lon"]] + [p[0] for _, _, ls in ways for p in ls[0]]
    lat0 = float(np.median(all_lat)) if all_lat else 0.0
    lon0 = float(np.median(all_lon)) if all_lon else 0.0
    streets = _build_streets(ways)
    addr_lat = np.asarray(addr_cols["lat"], dtype=np.float64)
    addr_lon = np.asarray(addr_cols["lon"], dtype=np.float64)
    addr_street_id = _attach_addresses(addr_cols["street"], addr_lat, addr_lon, streets)
    street_city = _street_cities(streets, addr_street_id, addr_cols["city"], place_cols)

    meta = {**meta, "version": INDEX_VERSION, "lat0": lat0, "lon0": lon0}
    index = GeocodeIndex(
        meta=meta,
        addr_street=_str_array(addr_cols["street"]),
        addr_hn=_str_array(addr_cols["hn"]),
        addr_postcode=_str_array(addr_cols["postcode"]),
        addr_city=_str_array(addr_cols["city"]),
        addr_name=_str_array(addr_cols["name"]),
        addr_lat=addr_lat,
        addr_lon=addr_lon,
        addr_rank=np.asarray(addr_cols["rank"], dtype=np.int64),
        addr_street_id=addr_street_id,
        street_name=_str_array([s["name"] for s in streets]),
        street_aliases=_str_array(["|".join(s["aliases"]) for s in streets]),
        street_city=_str_array(street_city),
        street_lat=np.asarray([s["mid"][0] for s in streets], dtype=np.float64),
        street_lon=np.asarray([s["mid"][1] for s in streets], dtype=np.float64),
        street_length_m=np.asarray([s["length"] for s in streets], dtype=np.float64),
        seg=np.asarray([row for s in streets for row in s["segments"]], dtype=np.float64).reshape(
            -1, 4
        ),
        seg_street=np.asarray(
            [sid for sid, s in enumerate(streets) for _ in s["segments"]], dtype=np.int64
        ),
        place_name=_str_array(place_cols["name"]),
        place_category=_str_array(place_cols["category"]),
        place_lat=np.asarray(place_cols["lat"], dtype=np.float64),
        place_lon=np.asarray(place_cols["lon"], dtype=np.float64),
        place_street=_str_array(place_cols["street"]),
        place_hn=_str_array(place_cols["hn"]),
        place_postcode=_str_array(place_cols["postcode"]),
        place_city=_str_array(place_cols["city"]),
    )
    index.meta["counts"] = index.counts()
    return index


def _str_array(values: list[str]) -> StrArray:
    return np.asarray(values, dtype=np.str_) if values else np.zeros(0, dtype="<U1")


def _build_streets(
    ways: list[tuple[str, list[str], list[list[tuple[float, float]]]]],
) -> list[dict[str, Any]]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, (name, _, _) in enumerate(ways):
        by_key[street_key(name)].append(i)
    streets: list[dict[str, Any]] = []
    for members in by_key.values():
        for cluster in _cluster_ways([ways[i][2] for i in members]):
            group = [ways[members[c]] for c in cluster]
            name = Counter(g[0] for g in group).most_common(1)[0][0]
            aliases = sorted({a for g in group for a in g[1]})
            segments = [
                (la1, lo1, la2, lo2)
                for g in group
                for line in g[2]
                for (lo1, la1), (lo2, la2) in itertools.pairwise(line)
            ]
            if segments:
                mid, length = _street_midpoint(np.asarray(segments, dtype=np.float64))
                streets.append(
                    {
                        "name": name,
                        "aliases": aliases,
                        "segments": segments,
                        "mid": mid,
                        "length": length,
                    }
                )
    return streets


def _cluster_ways(lines_per_way: list[list[list[tuple[float, float]]]]) -> list[list[int]]:
    if len(lines_per_way) == 1:
        return [[0]]
    owners = [w for w, lines in enumerate(lines_per_way) for line in lines for _ in line]
    coords = np.asarray([p for lines in lines_per_way for line in lines for p in line])
    tree = cKDTree(to_ecef(coords[:, 1], coords[:, 0]))
    parent = list(range(len(lines_per_way)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in tree.query_pairs(_STREET_MERGE_M):
        parent[find(owners[i])] = find(owners[j])
    clusters: dict[int, list[int]] = defaultdict(list)
    for w in range(len(lines_per_way)):
        clusters[find(w)].append(w)
    return list(clusters.values())


def _street_midpoint(seg: FloatArray) -> tuple[tuple[float, float], float]:
    """Point on the street nearest the length-weighted centre, so it lies on the road."""
    lat0, lon0 = float(seg[:, 0].mean()), float(seg[:, 1].mean())
    a = local_xy(seg[:, 0], seg[:, 1], lat0, lon0)
    b = local_xy(seg[:, 2], seg[:, 3], lat0, lon0)
    lengths = np.linalg.norm(b - a, axis=1)
    total = float(lengths.sum())
    weights = lengths if total > 0 else np.ones(len(seg))
    centre = ((a + b) / 2 * weights[:, None]).sum(axis=0) / weights.sum()
    proj, dist = project_on_segments(centre, a, b)
    best = int(np.argmin(dist))
    x, y = proj[best]
    k = np.pi / 180 * EARTH_RADIUS_M
    return (lat0 + y / k, lon0 + x / (k * np.cos(np.radians(lat0)))), total


def project_on_segments(
    p: FloatArray, a: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Closest points on segments a->b to point p (planar metres) and their distances."""
    ab = b - a
    denom = np.einsum("ij,ij->i", ab, ab)
    t = np.where(denom > 0, np.einsum("ij,ij->i", p - a, ab) / np.where(denom > 0, denom, 1), 0.0)
    t = np.clip(t, 0.0, 1.0)
    proj = a + ab * t[:, None]
    return proj, np.linalg.norm(proj - p, axis=1)


def _attach_addresses(
    streets_of_addr: list[str], lat: FloatArray, lon: FloatArray, streets: list[dict[str, Any]]
) -> IntArray:
    ids = np.full(len(streets_of_addr), -1, dtype=np.int64)
    by_key: dict[str, list[int]] = defaultdict(list)
    for sid, s in enumerate(streets):
        by_key[street_key(s["name"])].append(sid)
        for alias in s["aliases"]:
            by_key[street_key(alias)].append(sid)
    for i, name in enumerate(streets_of_addr):
        options = by_key.get(street_key(name), [])
        if len(options) == 1:
            ids[i] = options[0]
        elif options:
            # Same-named streets in different villages: take the one the address is next to.
            best, best_d = -1, np.inf
            for sid in options:
                seg = np.asarray(streets[sid]["segments"])
                a = local_xy(seg[:, 0], seg[:, 1], lat[i], lon[i])
                b = local_xy(seg[:, 2], seg[:, 3], lat[i], lon[i])
                d = float(project_on_segments(np.zeros(2), a, b)[1].min())
                if d < best_d:
                    best, best_d = sid, d
            ids[i] = best
    return ids


def _street_cities(
    streets: list[dict[str, Any]],
    addr_street_id: IntArray,
    addr_city: list[str],
    place_cols: dict[str, list[Any]],
) -> list[str]:
    votes: dict[int, Counter[str]] = defaultdict(Counter)
    for sid, city in zip(addr_street_id.tolist(), addr_city, strict=True):
        if sid >= 0 and city:
            votes[sid][city] += 1
    towns = [
        i
        for i, cat in enumerate(place_cols["category"])
        if cat.startswith("place=") and cat[6:] in {"city", "town", "village", "hamlet"}
    ]
    town_tree = None
    if towns:
        town_tree = cKDTree(
            to_ecef(
                np.asarray([place_cols["lat"][i] for i in towns]),
                np.asarray([place_cols["lon"][i] for i in towns]),
            )
        )
    cities = []
    for sid, s in enumerate(streets):
        if votes[sid]:
            cities.append(votes[sid].most_common(1)[0][0])
        elif town_tree is not None:
            dist, j = town_tree.query(to_ecef(np.array([s["mid"][0]]), np.array([s["mid"][1]]))[0])
            cities.append(place_cols["name"][towns[int(j)]] if dist < 5_000 else "")
        else:
            cities.append("")
    return cities


def save_index(index: GeocodeIndex, path: str | Path) -> None:
    """Write the index as a compressed npz of plain arrays (no pickle)."""
    arrays = {name: getattr(index, name) for name in GeocodeIndex._ARRAYS}
    tmp = Path(path).with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(index.meta)), **arrays)
    # Rename last so a crash mid-write never leaves a truncated cache that looks valid.
    tmp.replace(path)


def load_index(path: str | Path) -> GeocodeIndex:
    """Read an index written by save_index."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {name: data[name] for name in GeocodeIndex._ARRAYS}
    return GeocodeIndex(meta=meta, **arrays)


def load_or_build_index(pbf_path: str | Path, cache_dir: str | Path) -> GeocodeIndex:
    """Load the cached index for this exact file (by SHA-256), building and caching it if absent."""
    started = time.perf_counter()
    sha = file_sha256(pbf_path)
    cache = Path(cache_dir) / f"geocode-{sha[:20]}-v{INDEX_VERSION}.npz"
    if cache.exists():
        try:
            index = load_index(cache)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("geocode cache %s unreadable (%s); rebuilding", cache, exc)
        else:
            if index.meta.get("sha256") == sha and index.meta.get("version") == INDEX_VERSION:
                index.meta["loaded_from_cache"] = True
                index.meta["load_seconds"] = round(time.perf_counter() - started, 3)
                return index
    index = build_index(pbf_path)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    save_index(index, cache)
    index.meta["loaded_from_cache"] = False
    index.meta["load_seconds"] = round(time.perf_counter() - started, 3)
    return index
