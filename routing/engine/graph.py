"""The compiled road graph: numpy arrays only, so it saves to one .npz and is read-only."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from .errors import MapSourceError
from .profile import MODES, Mode, SpeedProfile

if TYPE_CHECKING:  # numba (imported by hierarchy) costs about a second at start-up
    from .hierarchy import Hierarchy

FORMAT_VERSION = 6
# Arrays of a loaded graph at least this big are memory-mapped; smaller ones are read.
MMAP_MIN_BYTES = 1 << 16
EARTH_RADIUS_M = 6_371_008.8
# Spacing of the spatial-index sample points along every road segment; the snap search
# radius is widened by half of it so the nearest segment can never be missed.
SAMPLE_SPACING_M = 30.0
# Snap grid (snap.py): square cells of GRID_CELL_M; each lists every segment whose bounding
# box, widened by GRID_MARGIN_M, overlaps it.
GRID_CELL_M = 60.0
GRID_MARGIN_M = 30.0
# scipy's csgraph drops explicit zeros from sparse input, which would delete zero-length
# OSM edges (duplicated nodes) from the graph.
MIN_WEIGHT_S = 1e-6

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Collapsed:
    """Parallel edges folded to the fastest one per node pair, as CSR for scipy."""

    indptr: I32
    indices: I32
    data: F64
    best_edge: I32  # edge id behind each CSR entry
    key: I64  # row * n + col, sorted, to find the CSR entry of a node pair


@dataclass
class CompiledGraph:
    """Read-only arrays describing a drivable road network and its spatial index."""

    node_lat: F64
    node_lon: F64
    node_osmid: I64
    edge_u: I32
    edge_v: I32
    fwd_indptr: I32  # edges are sorted by tail, so edge id == forward CSR position
    rev_indptr: I32
    rev_edge: I32  # edge ids sorted by head
    tt_urgent: F64
    tt_non_urgent: F64
    length_m: F64
    edge_twin: I32  # reverse edge with the same geometry reversed, or -1
    geom_offsets: I64
    geom_lon: F64
    geom_lat: F64
    street_names: npt.NDArray[np.str_]
    edge_name: I32
    highway_names: npt.NDArray[np.str_]
    edge_highway: I32
    seg_edge: I32  # spatial index: one row per indexed geometry segment
    seg_x0: F64
    seg_y0: F64
    seg_x1: F64
    seg_y1: F64
    seg_cum0: F64  # projected length along the edge before this segment
    edge_proj_len: F64
    sample_xy: F64  # (k, 2) sample points along segments, in local metres
    sample_seg: I32
    grid_shape: F64  # x0, y0, nx, ny of the snap grid
    grid_indptr: I64  # per cell (row-major, nx * ny + 1), into grid_seg
    grid_seg: I64  # segments listed per cell
    cch_order: I32  # node at each rank of the contraction order (empty: degree order)
    # The customised contraction hierarchy of both modes (hierarchy.py; empty when the
    # graph was compiled without an order: then built on first use).
    ch_parent: I32
    ch_ptr: I64
    ch_head: I32
    ch_how: I32
    ch_kept_ptr: I64
    ch_kept_head: I32
    ch_kept_time: npt.NDArray[np.float32]
    ch_kept_len: npt.NDArray[np.float32]
    origin: F64  # lat0, lon0 of the local projection
    meta_json: str = "{}"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_lat.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.edge_u.shape[0])

    @property
    def meta(self) -> dict[str, Any]:
        """Build metadata (source hash, profile, counts)."""
        return dict(json.loads(self.meta_json))

    def travel_time(self, mode: Mode) -> F64:
        """Per-edge travel time in seconds for a mode."""
        if mode == "urgent":
            return self.tt_urgent
        if mode == "non_urgent":
            return self.tt_non_urgent
        raise ValueError(f"mode must be 'urgent' or 'non_urgent', not {mode!r}")

    def bbox(self) -> tuple[float, float, float, float]:
        """Return (min_lon, min_lat, max_lon, max_lat) of the road geometry."""
        return self._cached(  # type: ignore[no-any-return]
            "bbox",
            lambda: (
                float(self.geom_lon.min()),
                float(self.geom_lat.min()),
                float(self.geom_lon.max()),
                float(self.geom_lat.max()),
            ),
        )

    def project(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[F64, F64]:
        """Project lat/lon to local metres (equirectangular about the map centre)."""
        lat0, lon0 = float(self.origin[0]), float(self.origin[1])
        k = math.pi / 180.0 * EARTH_RADIUS_M
        x = (np.asarray(lon, dtype=np.float64) - lon0) * k * math.cos(math.radians(lat0))
        y = (np.asarray(lat, dtype=np.float64) - lat0) * k
        return x, y

    def unproject(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[F64, F64]:
        """Inverse of `project`: local metres to (lat, lon)."""
        lat0, lon0 = float(self.origin[0]), float(self.origin[1])
        k = math.pi / 180.0 * EARTH_RADIUS_M
        lat = np.asarray(y, dtype=np.float64) / k + lat0
        lon = np.asarray(x, dtype=np.float64) / (k * math.cos(math.radians(lat0))) + lon0
        return lat, lon

    def _cached(self, key: str, make: Any) -> Any:
        # Double-checked so concurrent Django threads build each derived index once.
        value = self._cache.get(key)
        if value is None:
            with self._lock:
                value = self._cache.get(key)
                if value is None:
                    value = make()
                    self._cache[key] = value
        return value

    def hierarchy(self) -> Hierarchy:
        """The customised contraction hierarchy (from the saved arrays, or built now for a
        graph compiled without an order)."""
        return self._cached("hierarchy", self._hierarchy)  # type: ignore[no-any-return]

    def _hierarchy(self) -> Hierarchy:
        from . import hierarchy

        if len(self.ch_ptr) != self.n_nodes + 1:
            order = self.cch_order
            if len(order) != self.n_nodes:
                order = _degree_order(self)
            parts = hierarchy.build(
                order,
                self.edge_u,
                self.edge_v,
                [self.travel_time(mode) for mode in MODES],
                self.length_m,
            )
            return hierarchy.Hierarchy(order=order, **parts)
        return hierarchy.Hierarchy(
            order=self.cch_order,
            parent=self.ch_parent,
            ptr=self.ch_ptr,
            head=self.ch_head,
            how=self.ch_how,
            kept_ptr=self.ch_kept_ptr,
            kept_head=self.ch_kept_head,
            kept_time=self.ch_kept_time,
            kept_len=self.ch_kept_len,
        )

    def kdtree(self) -> cKDTree:
        """The cKDTree over segment sample points (built on first use, not stored)."""
        tree: cKDTree = self._cached("kdtree", lambda: cKDTree(self.sample_xy))
        return tree

    def collapsed(self, mode: Mode, reverse: bool) -> Collapsed:
        """CSR with parallel edges folded to the fastest, forward or reversed."""
        return self._cached(  # type: ignore[no-any-return]
            f"csr:{mode}:{reverse}", lambda: _collapse(self, mode, reverse)
        )

    def save(self, path: Path) -> None:
        """Write every array to one .npz (no pickle)."""
        arrays: dict[str, Any] = {}
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            arrays[f.name] = np.asarray(getattr(self, f.name))
        arrays["format_version"] = np.asarray(FORMAT_VERSION)
        tmp = path.with_suffix(".tmp.npz")
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> CompiledGraph:
        """Read a graph written by `save`; raises ValueError/OSError/KeyError if damaged.

        The arrays are memory-mapped from the file (np.savez stores them uncompressed), so
        loading costs next to nothing whatever the size, pages are read as queries touch
        them, and several server processes on one machine share one copy in the page
        cache. They are read-only, as the engine never writes a loaded graph.
        """
        arrays = _map_npz(path)
        if int(arrays["format_version"]) != FORMAT_VERSION:
            raise ValueError("engine format version mismatch")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name.startswith("_"):
                continue
            value = arrays[f.name]
            kwargs[f.name] = str(value) if f.name == "meta_json" else value
        g = cls(**kwargs)
        g._validate()
        return g

    def _validate(self) -> None:
        n, m = self.n_nodes, self.n_edges
        if self.fwd_indptr.shape[0] != n + 1 or int(self.fwd_indptr[-1]) != m:
            raise ValueError("corrupt forward CSR")
        if self.rev_indptr.shape[0] != n + 1 or self.rev_edge.shape[0] != m:
            raise ValueError("corrupt reverse CSR")
        if self.geom_offsets.shape[0] != m + 1 or int(self.geom_offsets[-1]) != len(self.geom_lon):
            raise ValueError("corrupt geometry")
        if len(self.ch_ptr) and (
            self.ch_ptr.shape[0] != n + 1
            or int(self.ch_ptr[-1]) != len(self.ch_head)
            or self.ch_how.shape != (4, len(self.ch_head))
            or self.ch_kept_ptr.shape != (4, n + 1)
            or int(self.ch_kept_ptr[-1, -1]) != len(self.ch_kept_head)
        ):
            raise ValueError("corrupt hierarchy")
        nx, ny = int(self.grid_shape[2]), int(self.grid_shape[3])
        if self.grid_indptr.shape[0] != nx * ny + 1 or int(self.grid_indptr[-1]) != len(
            self.grid_seg
        ):
            raise ValueError("corrupt snap grid")


def _collapse(g: CompiledGraph, mode: Mode, reverse: bool) -> Collapsed:
    tt = np.maximum(g.travel_time(mode), MIN_WEIGHT_S)
    rows, cols = (g.edge_v, g.edge_u) if reverse else (g.edge_u, g.edge_v)
    n = g.n_nodes
    order = np.lexsort((tt, cols, rows))
    r, c = rows[order].astype(np.int64), cols[order].astype(np.int64)
    first = np.ones(len(order), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    keep = order[first]
    r, c = r[first], c[first]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    return Collapsed(
        indptr=indptr,
        indices=c.astype(np.int32),
        data=tt[keep].astype(np.float64),
        best_edge=keep.astype(np.int32),
        key=r * n + c,
    )


def _intern(values: list[str]) -> tuple[npt.NDArray[np.str_], I32]:
    table: dict[str, int] = {"": 0}
    idx = np.fromiter(
        (table.setdefault(v, len(table)) for v in values), dtype=np.int32, count=len(values)
    )
    return np.array(list(table), dtype=str), idx


def _twin_ok(
    e: I64, t: I64, length: F64, offsets: I64, glon: F64, glat: F64
) -> npt.NDArray[np.bool_]:
    """Vectorised: is edge t the geometry of edge e reversed (same test as the loop)?"""
    ce = offsets[e + 1] - offsets[e]
    ct = offsets[t + 1] - offsets[t]
    ok = (ce == ct) & (np.abs(length[e] - length[t]) <= 0.01 * np.maximum(1.0, length[e]))
    cand = np.flatnonzero(ok & (ce > 0))
    if len(cand) == 0:
        return ok
    cnt = ce[cand]
    first = np.cumsum(cnt) - cnt
    k = np.arange(int(cnt.sum())) - np.repeat(first, cnt)
    ie = np.repeat(offsets[e[cand]], cnt) + k
    it = np.repeat(offsets[t[cand] + 1] - 1, cnt) - k
    bad = (np.abs(glon[ie] - glon[it]) > 1e-7) | (np.abs(glat[ie] - glat[it]) > 1e-7)
    bad_pair = np.add.reduceat(bad.astype(np.int64), first) > 0
    ok[cand[bad_pair]] = False
    return ok


def _find_twins(u: I32, v: I32, length: F64, offsets: I64, glon: F64, glat: F64) -> I32:
    """Pair each edge with a reverse edge whose geometry is the same line reversed.

    Vectorised: edges are grouped by unordered node pair with one lexsort; a pair with
    exactly one edge each way (nearly all of them) is checked in bulk, and only node pairs
    with parallel edges go through the greedy per-edge loop (first free match in id order).
    """
    m = len(u)
    twin = np.full(m, -1, dtype=np.int32)
    u64, v64 = u.astype(np.int64), v.astype(np.int64)
    n = int(max(u64.max(initial=0), v64.max(initial=0))) + 1
    ids = np.flatnonzero(u64 != v64)
    fwd = u64[ids] < v64[ids]
    key = np.minimum(u64[ids], v64[ids]) * n + np.maximum(u64[ids], v64[ids])
    order = np.lexsort((ids, ~fwd, key))
    ids, fwd, key = ids[order], fwd[order], key[order]
    start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    size = np.diff(np.concatenate([start, [len(key)]]))
    n_fwd = np.add.reduceat(fwd.astype(np.int64), start) if len(start) else start
    n_bwd = size - n_fwd
    simple = start[(n_fwd == 1) & (n_bwd == 1)]
    e, t = ids[simple], ids[simple + 1]
    ok = _twin_ok(e, t, length, offsets, glon, glat)
    twin[e[ok]] = t[ok]
    twin[t[ok]] = e[ok]
    for s, z in zip(
        start[(n_fwd >= 1) & (n_bwd >= 1) & (size > 2)].tolist(),
        size[(n_fwd >= 1) & (n_bwd >= 1) & (size > 2)].tolist(),
        strict=True,
    ):
        group = ids[s : s + z]
        gf = fwd[s : s + z]
        free = group[~gf].tolist()
        for a in group[gf].tolist():
            for b in free:
                if _twin_ok(np.array([a]), np.array([b]), length, offsets, glon, glat)[0]:
                    twin[a], twin[b] = b, a
                    free.remove(b)
                    break
    return twin


def largest_scc(n: int, u: I32, v: I32) -> npt.NDArray[np.bool_]:
    """Mask of nodes in the largest strongly connected component."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    mat = sp.csr_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n, n))
    _, labels = connected_components(mat, directed=True, connection="strong")
    biggest = int(np.bincount(labels).argmax())
    return np.asarray(labels == biggest)


def compile_arrays(
    *,
    node_lat: F64,
    node_lon: F64,
    node_osmid: I64,
    edge_u: I32,
    edge_v: I32,
    length_m: F64,
    base_tt: F64,
    highway: list[str],
    names: list[str],
    geom_offsets: I64 | None = None,
    geom_lon: F64 | None = None,
    geom_lat: F64 | None = None,
    profile: SpeedProfile,
    meta: dict[str, Any] | None = None,
    compute_order: bool = True,
) -> CompiledGraph:
    """Compile edge arrays (already restricted to one strongly connected component)."""
    n, m = len(node_lat), len(edge_u)
    if n == 0 or m == 0:
        raise MapSourceError("The map holds no drivable roads.")
    order = np.argsort(edge_u, kind="stable")
    eu, ev = edge_u[order].astype(np.int32), edge_v[order].astype(np.int32)
    length = length_m[order].astype(np.float64)
    hw = [highway[i] for i in order]
    nm = [names[i] for i in order]
    if geom_offsets is None or geom_lon is None or geom_lat is None:
        offs = np.arange(0, 2 * m + 1, 2, dtype=np.int64)
        glon = np.empty(2 * m)
        glat = np.empty(2 * m)
        glon[0::2], glon[1::2] = node_lon[eu], node_lon[ev]
        glat[0::2], glat[1::2] = node_lat[eu], node_lat[ev]
    else:
        counts = np.diff(geom_offsets)[order]
        offs = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(counts, out=offs[1:])
        take = np.repeat(geom_offsets[:-1][order], counts) + (
            np.arange(offs[-1]) - np.repeat(offs[:-1], counts)
        )
        glon, glat = geom_lon[take], geom_lat[take]
    fwd_indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(eu, minlength=n), out=fwd_indptr[1:])
    rev_edge = np.argsort(ev, kind="stable").astype(np.int32)
    rev_indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(ev, minlength=n), out=rev_indptr[1:])

    hw_table, hw_idx = _intern(hw)
    base = base_tt[order].astype(np.float64)
    tts: dict[Mode, F64] = {}
    for mode in MODES:
        factors = np.array([profile.factor(mode, h) for h in hw_table], dtype=np.float64)
        tts[mode] = base / factors[hw_idx]
    name_table, name_idx = _intern(nm)
    twin = _find_twins(eu, ev, length, offs, glon, glat)

    g = CompiledGraph(
        node_lat=node_lat.astype(np.float64),
        node_lon=node_lon.astype(np.float64),
        node_osmid=node_osmid.astype(np.int64),
        edge_u=eu,
        edge_v=ev,
        fwd_indptr=fwd_indptr,
        rev_indptr=rev_indptr,
        rev_edge=rev_edge,
        tt_urgent=tts["urgent"],
        tt_non_urgent=tts["non_urgent"],
        length_m=length,
        edge_twin=twin,
        geom_offsets=offs,
        geom_lon=glon.astype(np.float64),
        geom_lat=glat.astype(np.float64),
        street_names=name_table,
        edge_name=name_idx,
        highway_names=hw_table,
        edge_highway=hw_idx,
        seg_edge=np.empty(0, np.int32),
        seg_x0=np.empty(0),
        seg_y0=np.empty(0),
        seg_x1=np.empty(0),
        seg_y1=np.empty(0),
        seg_cum0=np.empty(0),
        edge_proj_len=np.empty(0),
        sample_xy=np.empty((0, 2)),
        sample_seg=np.empty(0, np.int32),
        grid_shape=np.zeros(4),
        grid_indptr=np.zeros(1, np.int64),
        grid_seg=np.empty(0, np.int64),
        cch_order=np.empty(0, np.int32),
        **_empty_hierarchy(),
        origin=np.array(
            [
                (float(glat.min()) + float(glat.max())) / 2,
                (float(glon.min()) + float(glon.max())) / 2,
            ]
        ),
        meta_json=json.dumps(meta or {}),
    )
    _build_spatial_index(g)
    if compute_order:
        from . import hierarchy

        g.cch_order = _cch_order(g)
        parts = hierarchy.build(g.cch_order, g.edge_u, g.edge_v, [tts[m] for m in MODES], length)
        for name, value in parts.items():
            setattr(g, f"ch_{name}", value)
    # After the hierarchy: its build is the memory peak, and the grid's arrays (about
    # 180 MB on 1M nodes) need not be held through it.
    _build_snap_grid(g)
    return g


def _build_spatial_index(g: CompiledGraph) -> None:
    x, y = g.project(g.geom_lat, g.geom_lon)
    offs = g.geom_offsets
    m = g.n_edges
    counts = np.diff(offs)
    seg_counts = counts - 1
    # Segment i of edge e joins geometry points offs[e]+i and offs[e]+i+1.
    seg_edge_all = np.repeat(np.arange(m, dtype=np.int32), seg_counts)
    start = np.repeat(offs[:-1], seg_counts) + (
        np.arange(int(seg_counts.sum())) - np.repeat(np.cumsum(seg_counts) - seg_counts, seg_counts)
    )
    x0, y0, x1, y1 = x[start], y[start], x[start + 1], y[start + 1]
    seg_len = np.hypot(x1 - x0, y1 - y0)
    cum = np.cumsum(seg_len)
    edge_first = np.cumsum(seg_counts) - seg_counts
    edge_total = np.add.reduceat(seg_len, edge_first) if len(seg_len) else np.zeros(0)
    edge_total = np.where(seg_counts > 0, edge_total, 0.0)
    cum0 = cum - seg_len - np.repeat(cum[edge_first] - seg_len[edge_first], seg_counts)
    g.edge_proj_len = edge_total.astype(np.float64)
    # Two-way roads are stored twice; index only one direction and map snaps to the twin.
    keep = (g.edge_twin[seg_edge_all] < 0) | (g.edge_twin[seg_edge_all] > seg_edge_all)
    g.seg_edge = seg_edge_all[keep]
    g.seg_x0, g.seg_y0, g.seg_x1, g.seg_y1 = x0[keep], y0[keep], x1[keep], y1[keep]
    g.seg_cum0 = cum0[keep]
    slen = seg_len[keep]
    pieces = np.maximum(1, np.ceil(slen / SAMPLE_SPACING_M)).astype(np.int64)
    sample_seg = np.repeat(np.arange(len(slen), dtype=np.int32), pieces)
    first = np.cumsum(pieces) - pieces
    t = (np.arange(int(pieces.sum())) - np.repeat(first, pieces) + 0.5) / np.repeat(pieces, pieces)
    sx = g.seg_x0[sample_seg] + t * (g.seg_x1 - g.seg_x0)[sample_seg]
    sy = g.seg_y0[sample_seg] + t * (g.seg_y1 - g.seg_y0)[sample_seg]
    g.sample_xy = np.column_stack([sx, sy])
    g.sample_seg = sample_seg


def _build_snap_grid(g: CompiledGraph) -> None:
    """The uniform grid `snap` looks points up in (see snap.py), saved with the graph."""
    c, mg = GRID_CELL_M, GRID_MARGIN_M
    lo_x = np.minimum(g.seg_x0, g.seg_x1) - mg
    hi_x = np.maximum(g.seg_x0, g.seg_x1) + mg
    lo_y = np.minimum(g.seg_y0, g.seg_y1) - mg
    hi_y = np.maximum(g.seg_y0, g.seg_y1) + mg
    x0, y0 = float(lo_x.min(initial=0.0)), float(lo_y.min(initial=0.0))
    nx = int((float(hi_x.max(initial=0.0)) - x0) // c) + 1
    ny = int((float(hi_y.max(initial=0.0)) - y0) // c) + 1
    ix0 = ((lo_x - x0) // c).astype(np.int64)
    ix1 = ((hi_x - x0) // c).astype(np.int64)
    iy0 = ((lo_y - y0) // c).astype(np.int64)
    iy1 = ((hi_y - y0) // c).astype(np.int64)
    wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
    per = wx * wy
    owner = np.repeat(np.arange(len(per), dtype=np.int64), per)
    k = np.arange(int(per.sum()), dtype=np.int64) - np.repeat(np.cumsum(per) - per, per)
    cell = (iy0[owner] + k // wx[owner]) * nx + ix0[owner] + k % wx[owner]
    order = np.argsort(cell, kind="stable")
    indptr = np.zeros(nx * ny + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=nx * ny), out=indptr[1:])
    g.grid_shape = np.array([x0, y0, float(nx), float(ny)])
    g.grid_indptr = indptr
    g.grid_seg = owner[order]


def _cch_order(g: CompiledGraph) -> I32:
    import routingkit_cch as rk

    order = rk.compute_order_inertial(
        g.n_nodes,
        g.edge_u.tolist(),
        g.edge_v.tolist(),
        g.node_lat.tolist(),
        g.node_lon.tolist(),
    )
    return np.asarray(order, dtype=np.int32)


def _degree_order(g: CompiledGraph) -> I32:
    """A node order for graphs compiled without one (small test graphs)."""
    import routingkit_cch as rk

    order = rk.compute_order_degree(g.n_nodes, g.edge_u.tolist(), g.edge_v.tolist())
    return np.asarray(order, dtype=np.int32)


def _empty_hierarchy() -> dict[str, Any]:
    """The `ch_*` arrays of a graph whose hierarchy is built on first use."""
    return {
        "ch_parent": np.empty(0, np.int32),
        "ch_ptr": np.empty(0, np.int64),
        "ch_head": np.empty(0, np.int32),
        "ch_how": np.empty((4, 0), np.int32),
        "ch_kept_ptr": np.empty((4, 0), np.int64),
        "ch_kept_head": np.empty(0, np.int32),
        "ch_kept_time": np.empty(0, np.float32),
        "ch_kept_len": np.empty(0, np.float32),
    }


def _map_npz(path: Path) -> dict[str, Any]:
    """Every array of an uncompressed .npz, memory-mapped read-only (small or odd members,
    e.g. strings, are read normally)."""
    import zipfile

    out: dict[str, Any] = {}
    with path.open("rb") as fh, zipfile.ZipFile(fh) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"compressed member {name}")
            # The member's data follows its local header: 30 bytes + name + extra field.
            fh.seek(info.header_offset)
            local = fh.read(30)
            if local[:4] != b"PK\x03\x04":
                raise ValueError(f"bad zip member {name}")
            skip = int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
            start = info.header_offset + 30 + skip
            fh.seek(start)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            offset = fh.tell()
            if dtype.hasobject:
                raise ValueError(f"object array {name}")
            if dtype.kind in "US" or int(np.prod(shape)) * dtype.itemsize < MMAP_MIN_BYTES:
                fh.seek(offset)
                count = int(np.prod(shape))
                flat = np.frombuffer(fh.read(count * dtype.itemsize), dtype=dtype, count=count)
                out[name] = flat.reshape(shape, order="F" if fortran else "C").copy()
            else:
                mapped = np.memmap(
                    path, dtype=dtype, mode="r", offset=offset, shape=shape,
                    order="F" if fortran else "C",
                )  # fmt: skip
                out[name] = mapped.view(np.ndarray)  # a plain (read-only) array for numba
    return out
