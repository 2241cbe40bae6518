"""Place a coordinate on the nearest point of the nearest road edge."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import SnapError
from .graph import (
    EARTH_RADIUS_M,
    GRID_CELL_M,
    GRID_MARGIN_M,
    SAMPLE_SPACING_M,
    CompiledGraph,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
DEFAULT_MAX_SNAP_M = 500.0
_K = 8
_K_WIDE = 96


@dataclass(frozen=True)
class Snap:
    """A point on a directed edge: `fraction` of the way from its tail to its head."""

    edge: int
    fraction: float
    offset_m: float
    lat: float
    lon: float
    distance_m: float
    street: str

    def positions(self, g: CompiledGraph) -> list[tuple[int, float]]:
        """Directed (edge, fraction) positions: the edge and its reverse twin, if any."""
        twin = int(g.edge_twin[self.edge])
        out = [(self.edge, self.fraction)]
        if twin >= 0:
            out.append((twin, 1.0 - self.fraction))
        return out


def _check_range(lat: float, lon: float, field: str) -> None:
    try:
        # Numbers as the batch check takes them (`_checked_array`): whatever array("d")
        # holds (ints, floats, bools, numpy's and other real numbers; not strings).
        finite = all(map(math.isfinite, array("d", (lat, lon))))
    except (TypeError, OverflowError):  # not a number, or an int too large for a float
        finite = False
    if not finite:
        raise SnapError("Latitude and longitude must be finite numbers.", field=field)
    if not -90.0 <= lat <= 90.0:
        raise SnapError(f"Latitude {lat} is outside -90..90.", field=field)
    if not -180.0 <= lon <= 180.0:
        raise SnapError(f"Longitude {lon} is outside -180..180.", field=field)


_NUMBER_TYPES = frozenset({float, int})
_new = object.__new__
_set = object.__setattr__


def _checked_array(points: list[tuple[float, float]], field: str) -> npt.NDArray[np.float64]:
    """(k, 2) float array of the points; the first bad point raises its own SnapError."""
    n = len(points)
    try:
        # Pairs of numbers (the usual case) as two columns: zip refuses other lengths and
        # array("d") anything but a number (a string, None), 500 of them in about half
        # the time of a flat list checked for its types, and less than a third of
        # np.array's (which discovers nesting and dtype). NaN and infinities fail the
        # range test.
        lat, lon = zip(*points, strict=True)
        arr = np.empty((n, 2))
        arr[:, 0] = array("d", lat)
        arr[:, 1] = array("d", lon)
        if (np.abs(arr) <= (90.0, 180.0)).all():
            return arr
    except (ValueError, TypeError, OverflowError):
        pass
    # Slow path only to name the first offending point, exactly as before.
    for i, point in enumerate(points):
        name = field if len(points) == 1 else f"{field}[{i}]"
        try:
            lat_i, lon_i = point
        except (TypeError, ValueError):
            raise SnapError("A point must be a (latitude, longitude) pair.", field=name) from None
        _check_range(lat_i, lon_i, name)
    return np.asarray(points, dtype=np.float64)


def _project_on_segments(
    g: CompiledGraph, segs: npt.NDArray[np.int64], px: Any, py: Any
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x0, y0 = g.seg_x0[segs], g.seg_y0[segs]
    dx, dy = g.seg_x1[segs] - x0, g.seg_y1[segs] - y0
    len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(len2 > 0, ((px - x0) * dx + (py - y0) * dy) / len2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    dist = np.hypot(x0 + t * dx - px, y0 + t * dy - py)
    return dist, t


# Uniform grid over the indexed segments (built with the graph and saved in its file,
# graph._build_snap_grid; `_grid` copies it into memory): every segment is listed in each
# cell its bounding box, widened by GRID_MARGIN_M, overlaps. So a cell lists every segment
# within GRID_MARGIN_M of any point inside it, and a best candidate at most that far away
# is the exact nearest segment (on a junction, where several are equally near, the lowest
# segment id; numba kernel `kernels.grid_nearest`). Points farther from every road or
# outside the grid take the kd-tree path instead.


@dataclass(frozen=True)
class _Grid:
    x0: float
    y0: float
    nx: int
    ny: int
    indptr: I64
    seg: I64
    seg_xy: F64  # (n_segments, 4): x0, y0, x1, y1 of each segment in one row


def _grid(g: CompiledGraph) -> _Grid:
    def make() -> _Grid:
        # Copied out of the memory-mapped file into process memory (huge pages where the
        # kernel gives them): random lookups over 4 KB file pages made snapping 500 random
        # points about 10 % slower (0.96 against 0.86 ms, interleaved, on 100k). The copy
        # costs ~17 MB per process on 100k nodes, ~180 MB on 1M.
        x0, y0, nx, ny = g.grid_shape.tolist()
        return _Grid(
            x0,
            y0,
            int(nx),
            int(ny),
            np.array(g.grid_indptr),
            np.array(g.grid_seg),
            np.column_stack([g.seg_x0, g.seg_y0, g.seg_x1, g.seg_y1]),
        )

    return g._cached("snap_grid", make)  # type: ignore[no-any-return]


def _grid_nearest(
    g: CompiledGraph, px: F64, py: F64
) -> tuple[npt.NDArray[np.bool_], I64, F64, F64]:
    """(proven, segment, t, distance) per point from the grid; where `proven` is False the
    caller must use the kd-tree search."""
    from . import kernels

    grid = _grid(g)
    return kernels.grid_nearest(  # type: ignore[no-any-return]
        np.ascontiguousarray(px, dtype=np.float64),
        np.ascontiguousarray(py, dtype=np.float64),
        grid.x0,
        grid.y0,
        grid.nx,
        grid.ny,
        GRID_CELL_M,
        GRID_MARGIN_M,
        grid.indptr,
        grid.seg,
        grid.seg_xy,
    )


def snap(
    g: CompiledGraph,
    lat: float,
    lon: float,
    max_distance_m: float = DEFAULT_MAX_SNAP_M,
    field: str = "location",
) -> Snap:
    """Snap one coordinate to the nearest edge; SnapError if too far or off the map.

    Fast path for the common case (scalar maths around one k-nearest query); anything
    unusual (bad input, off the map, too far, or k samples that cannot prove the nearest
    segment) goes through `snap_many`, which raises or runs the ball query.
    """
    slow = [(lat, lon)]
    if type(lat) not in _NUMBER_TYPES or type(lon) not in _NUMBER_TYPES:
        return snap_many(g, slow, max_distance_m, field=field)[0]
    min_lon, min_lat, max_lon, max_lat = g.bbox()
    dlat = max_distance_m / 111_000.0
    dlon = dlat / max(0.01, math.cos(math.radians(float(g.origin[0]))))
    if not (min_lat - dlat <= lat <= max_lat + dlat and min_lon - dlon <= lon <= max_lon + dlon):
        return snap_many(g, slow, max_distance_m, field=field)[0]
    lat0, lon0 = float(g.origin[0]), float(g.origin[1])
    kk = math.pi / 180.0 * EARTH_RADIUS_M
    px = (lon - lon0) * kk * math.cos(math.radians(lat0))
    py = (lat - lat0) * kk
    proven, gseg, gt, gd = _grid_nearest(g, np.array([px]), np.array([py]))
    if bool(proven[0]) and float(gd[0]) <= max_distance_m:
        seg, bt, best_d = int(gseg[0]), float(gt[0]), float(gd[0])
    else:
        k = min(_K, len(g.sample_seg))
        dk, ik = g.kdtree().query((px, py), k=k)
        segs = g.sample_seg[np.atleast_1d(ik)].astype(np.int64)
        dist, t = _project_on_segments(g, segs, px, py)
        b = int(np.argmin(dist))
        best_d = float(dist[b])
        if (k == _K and best_d + SAMPLE_SPACING_M / 2 > float(np.atleast_1d(dk)[-1])) or (
            best_d > max_distance_m
        ):
            return snap_many(g, slow, max_distance_m, field=field)[0]
        seg, bt = int(segs[b]), float(t[b])
    edge = int(g.seg_edge[seg])
    x0, y0 = float(g.seg_x0[seg]), float(g.seg_y0[seg])
    dx, dy = float(g.seg_x1[seg]) - x0, float(g.seg_y1[seg]) - y0
    along = float(g.seg_cum0[seg]) + bt * float(np.hypot(dx, dy))
    total = float(g.edge_proj_len[edge])
    frac = min(1.0, max(0.0, along / total)) if total > 0 else 0.0
    slat = (y0 + bt * dy) / kk + lat0
    slon = (x0 + bt * dx) / (kk * math.cos(math.radians(lat0))) + lon0
    return Snap(
        edge,
        frac,
        frac * float(g.length_m[edge]),
        slat,
        slon,
        best_d,
        str(g.street_names[g.edge_name[edge]]),
    )


def _nearest(
    g: CompiledGraph,
    points: list[tuple[float, float]],
    max_distance_m: float,
    field: str,
) -> tuple[F64, I64, F64, F64]:
    """(points array, nearest segment, fraction along it, distance) for every point."""
    arr = _checked_array(points, field)
    min_lon, min_lat, max_lon, max_lat = g.bbox()
    # Widen the box by the snap limit so a point just outside the last road still snaps.
    dlat = max_distance_m / 111_000.0
    dlon = dlat / max(0.01, math.cos(math.radians(float(g.origin[0]))))
    outside = (
        (arr[:, 0] < min_lat - dlat)
        | (arr[:, 0] > max_lat + dlat)
        | (arr[:, 1] < min_lon - dlon)
        | (arr[:, 1] > max_lon + dlon)
    )
    if outside.any():
        i = int(np.argmax(outside))
        raise SnapError(
            f"Point ({arr[i, 0]:.6f}, {arr[i, 1]:.6f}) is outside the map "
            f"({min_lat:.4f}..{max_lat:.4f} N, {min_lon:.4f}..{max_lon:.4f} E).",
            field=field if len(points) == 1 else f"{field}[{i}]",
        )
    px_all, py_all = g.project(arr[:, 0], arr[:, 1])
    proven, best_seg, best_t, best_d = _grid_nearest(g, px_all, py_all)
    rest = np.flatnonzero(~proven)
    if len(rest):
        seg_r, t_r, d_r = _kd_nearest(g, px_all[rest], py_all[rest])
        best_seg[rest], best_t[rest], best_d[rest] = seg_r, t_r, d_r
    far = best_d > max_distance_m
    if far.any():
        bad = int(np.argmax(far))
        gap = float(best_d[bad])
        raise SnapError(
            f"Point ({arr[bad, 0]:.6f}, {arr[bad, 1]:.6f}) is {gap:.0f} m from the nearest "
            f"road; the limit is {max_distance_m:.0f} m.",
            field=field if len(points) == 1 else f"{field}[{bad}]",
            distance_m=gap,
            limit_m=max_distance_m,
        )
    return arr, best_seg, best_t, best_d


def _kd_nearest(g: CompiledGraph, px: F64, py: F64) -> tuple[I64, F64, F64]:
    """Exact nearest segment by the kd-tree over segment samples (segment, t, distance)."""
    n = len(px)
    tree = g.kdtree()
    k = min(_K, len(g.sample_seg))
    dk, ik = tree.query(np.column_stack([px, py]), k=k)
    dk = np.asarray(dk, dtype=np.float64).reshape(n, k)
    segs = g.sample_seg[np.asarray(ik).reshape(n, k)].astype(np.int64)
    dist, t = _project_on_segments(g, segs, px[:, None], py[:, None])
    col = np.argmin(dist, axis=1)
    rows = np.arange(n)
    best_seg, best_t, best_d = segs[rows, col], t[rows, col], dist[rows, col]
    # Every point of a segment lies within half a spacing of one of its samples, so a
    # nearer segment than the best candidate must have a sample inside this radius; only
    # when that radius reaches past the k-th sample can a nearer one have been missed.
    radius = best_d + SAMPLE_SPACING_M / 2
    unsure = np.flatnonzero((radius > dk[:, -1]) & (k == _K))
    if len(unsure):
        # Same answer as the ball query below (nearest segment among the samples within
        # `radius`, ties to the lowest segment id), for all unsure points in one batched
        # k-nearest query; only points whose ball is still larger go to the loop.
        k2 = min(_K_WIDE, len(g.sample_seg))
        dk2, ik2 = tree.query(np.column_stack([px[unsure], py[unsure]]), k=k2)
        dk2 = np.asarray(dk2, dtype=np.float64).reshape(len(unsure), k2)
        segs2 = g.sample_seg[np.asarray(ik2).reshape(len(unsure), k2)].astype(np.int64)
        d2, t2 = _project_on_segments(g, segs2, px[unsure, None], py[unsure, None])
        d2 = np.where(dk2 <= radius[unsure, None], d2, np.inf)
        pick = np.lexsort((segs2, d2), axis=-1)[:, 0]
        r2 = np.arange(len(unsure))
        done = (radius[unsure] < dk2[:, -1]) | (k2 == len(g.sample_seg))
        j2 = unsure[done]
        best_seg[j2] = segs2[r2, pick][done]
        best_t[j2] = t2[r2, pick][done]
        best_d[j2] = d2[r2, pick][done]
        unsure = unsure[~done]
    for j in unsure.tolist():
        near = np.asarray(tree.query_ball_point([px[j], py[j]], radius[j]), dtype=np.int64)
        cand = np.unique(g.sample_seg[near]).astype(np.int64)
        d2, t2 = _project_on_segments(g, cand, px[j], py[j])
        b = int(np.argmin(d2))
        best_seg[j], best_t[j], best_d[j] = cand[b], t2[b], d2[b]
    return best_seg, best_t, best_d


def _edge_fraction(g: CompiledGraph, seg: I64, t: F64) -> tuple[I64, F64]:
    """Edge of each segment and the fraction along the edge of the point t along it."""
    from . import kernels

    return kernels.edge_fraction(  # type: ignore[no-any-return]
        np.asarray(seg, dtype=np.int64),
        np.asarray(t, dtype=np.float64),
        _grid(g).seg_xy,
        g.seg_edge,
        g.seg_cum0,
        g.edge_proj_len,
    )


def snap_positions(
    g: CompiledGraph,
    points: list[tuple[float, float]],
    max_distance_m: float = DEFAULT_MAX_SNAP_M,
    field: str = "location",
) -> tuple[I64, F64]:
    """`snap_many` reduced to (edge, fraction) arrays, without building Snap objects."""
    if not points:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    _, seg, t, _ = _nearest(g, points, max_distance_m, field)
    return _edge_fraction(g, seg, t)


def snap_many(
    g: CompiledGraph,
    points: list[tuple[float, float]],
    max_distance_m: float = DEFAULT_MAX_SNAP_M,
    field: str = "location",
) -> list[Snap]:
    """Snap many coordinates with one batched tree query; the first bad one raises."""
    if not points:
        return []
    _, best_seg, best_t, best_d = _nearest(g, points, max_distance_m, field)
    edge, frac = _edge_fraction(g, best_seg, best_t)
    x0, y0 = g.seg_x0[best_seg], g.seg_y0[best_seg]
    dx, dy = g.seg_x1[best_seg] - x0, g.seg_y1[best_seg] - y0
    snap_lat, snap_lon = g.unproject(x0 + best_t * dx, y0 + best_t * dy)
    offset = frac * g.length_m[edge]
    names = g.street_names[g.edge_name[edge]]
    # Snap objects in bulk: setting the frozen dataclass's instance dict in one go costs
    # half of its guarded __init__ (same fields, equality, hash and repr).
    out = []
    for e, f, o, la, lo, d, nm in zip(
        edge.tolist(),
        frac.tolist(),
        offset.tolist(),
        snap_lat.tolist(),
        snap_lon.tolist(),
        best_d.tolist(),
        names.tolist(),
        strict=True,
    ):
        s = _new(Snap)
        _set(
            s,
            "__dict__",
            {
                "edge": e,
                "fraction": f,
                "offset_m": o,
                "lat": la,
                "lon": lo,
                "distance_m": d,
                "street": nm,
            },
        )
        out.append(s)
    return out
