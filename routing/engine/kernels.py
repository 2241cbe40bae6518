"""numba kernels for the per-point loops of snapping and rank (same results as the numpy
versions they replace, without their per-call array overhead on 500-point batches).

Imported lazily (numba costs about a second at start-up).
"""

from __future__ import annotations

import math
import platform
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


def _element_pointer(context: Any, builder: Any, aryty: Any, ary: Any, idx: Any) -> Any:
    """Pointer to ary[idx] (no bounds check) for the intrinsics below."""
    ary = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(
        context, builder, aryty, ary, [idx], wraparound=False, boundscheck=False
    )


def _prefetch_typer(typingctx: Any, arr: Any, idx: Any) -> Any:
    """`prefetch(arr, idx)` in compiled code: `llvm.prefetch` of arr[idx] (read, keep in
    every cache level); a hint, never a fault, so idx may run past the end."""
    sig = types.void(arr, idx)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


prefetch: Any = intrinsic(_prefetch_typer)


def _atomic_load_typer(typingctx: Any, arr: Any, idx: Any) -> Any:
    """`atomic_load(arr, idx)` in compiled code: arr[idx] read with acquire ordering (a
    value another thread publishes with `atomic_cas`; a plain read could be hoisted out
    of a waiting loop)."""
    sig = arr.dtype(arr, idx)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ptr = _element_pointer(context, builder, aryty, args[0], args[1])
        return builder.load_atomic(ptr, "acquire", aryty.dtype.bitwidth // 8)

    return sig, codegen


atomic_load: Any = intrinsic(_atomic_load_typer)


def _atomic_cas_typer(typingctx: Any, arr: Any, idx: Any, old: Any, new: Any) -> Any:
    """`atomic_cas(arr, idx, old, new)` in compiled code: set arr[idx] to new if it holds
    old, atomically (acquire and release); whether it did."""
    sig = types.boolean(arr, idx, old, new)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ptr = _element_pointer(context, builder, aryty, args[0], args[1])
        want = context.cast(builder, args[2], signature.args[2], aryty.dtype)
        put = context.cast(builder, args[3], signature.args[3], aryty.dtype)
        swapped = builder.cmpxchg(ptr, want, put, "acq_rel", "acquire")
        return builder.extract_value(swapped, 1)

    return sig, codegen


atomic_cas: Any = intrinsic(_atomic_cas_typer)

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def _spin_pause_typer(typingctx: Any) -> Any:
    """`spin_pause()` in compiled code: the x86 PAUSE hint in a waiting loop (nothing
    elsewhere)."""
    sig = types.void()

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        if _X86:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
            )
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


spin_pause: Any = intrinsic(_spin_pause_typer)

# Points ahead whose grid cell is fetched (the cell's offsets at 2 x, its segment list at
# 1 x, the segments' coordinates at 1/2 x): a batch of random points misses the caches at
# every one of those three steps, one after the other.
SNAP_AHEAD = 8


@njit(cache=True, nogil=True)
def grid_nearest(
    px: Any,
    py: Any,
    x0: float,
    y0: float,
    nx: int,
    ny: int,
    cell_m: float,
    margin_m: float,
    indptr: Any,
    cell_seg: Any,
    seg_xy: Any,
) -> tuple[Any, Any, Any, Any]:
    """(proven, segment, t, distance) per point from the snap grid: the nearest of the
    point's cell's segments, proven when it is at most `margin_m` away (the cell lists
    every segment within that distance of any point inside it, so none outside can be
    nearer). Equally near segments (a point on a junction) go to the lowest id, so the
    answer does not depend on the order of the cell's list. `seg_xy` holds each segment's
    (x0, y0, x1, y1) in one row, so a candidate costs one cache line, not four."""
    n = len(px)
    proven = np.zeros(n, np.bool_)
    best_seg = np.zeros(n, np.int64)
    best_t = np.zeros(n)
    best_d = np.full(n, np.inf)
    cells = np.empty(n, np.int64)  # -1 outside the grid
    for i in range(n):
        ix = math.floor((px[i] - x0) / cell_m)
        iy = math.floor((py[i] - y0) / cell_m)
        inside = ix >= 0 and ix < nx and iy >= 0 and iy < ny
        cells[i] = int(iy) * nx + int(ix) if inside else -1
    half = SNAP_AHEAD // 2
    flat_xy = seg_xy.reshape(seg_xy.size)
    for i in range(n):
        if i + 2 * SNAP_AHEAD < n and cells[i + 2 * SNAP_AHEAD] >= 0:
            prefetch(indptr, cells[i + 2 * SNAP_AHEAD])
        if i + SNAP_AHEAD < n and cells[i + SNAP_AHEAD] >= 0:
            prefetch(cell_seg, indptr[cells[i + SNAP_AHEAD]])
        if i + half < n and cells[i + half] >= 0:
            c = cells[i + half]
            for k in range(indptr[c], indptr[c + 1]):
                prefetch(flat_xy, cell_seg[k] * 4)
        cell = cells[i]
        if cell < 0:
            continue
        qx, qy = px[i], py[i]
        # Candidates compare by squared distance, kept in locals; the one hypot is taken
        # for the winner (2.6x faster on Andorra's ~28 candidates a point, same answers).
        low = np.inf
        seg = 0
        at = 0.0
        for j in range(indptr[cell], indptr[cell + 1]):
            s = cell_seg[j]
            ax, ay = seg_xy[s, 0], seg_xy[s, 1]
            dx, dy = seg_xy[s, 2] - ax, seg_xy[s, 3] - ay
            len2 = dx * dx + dy * dy
            t = ((qx - ax) * dx + (qy - ay) * dy) / len2 if len2 > 0 else 0.0
            t = min(max(t, 0.0), 1.0)
            ex, ey = ax + t * dx - qx, ay + t * dy - qy
            d2 = ex * ex + ey * ey
            if d2 < low or (d2 == low and s < seg):
                low = d2
                seg = s
                at = t
        if low == np.inf:
            continue
        ax, ay = seg_xy[seg, 0], seg_xy[seg, 1]
        d = math.hypot(ax + at * (seg_xy[seg, 2] - ax) - qx, ay + at * (seg_xy[seg, 3] - ay) - qy)
        best_seg[i] = seg
        best_t[i] = at
        best_d[i] = d
        proven[i] = d <= margin_m
    return proven, best_seg, best_t, best_d


@njit(cache=True, nogil=True)
def edge_fraction(
    seg: Any, t: Any, seg_xy: Any, seg_edge: Any, seg_cum0: Any, edge_proj_len: Any
) -> tuple[Any, Any]:
    """(edge, fraction along it) of the point `t` of the way along each segment."""
    n = len(seg)
    edge = np.empty(n, np.int64)
    frac = np.empty(n)
    flat_xy = seg_xy.reshape(seg_xy.size)
    for i in range(n):
        if i + SNAP_AHEAD < n:
            s = seg[i + SNAP_AHEAD]
            prefetch(seg_edge, s)
            prefetch(seg_cum0, s)
            prefetch(flat_xy, s * 4)
        if i + SNAP_AHEAD // 2 < n:
            prefetch(edge_proj_len, seg_edge[seg[i + SNAP_AHEAD // 2]])
        s = seg[i]
        e = seg_edge[s]
        edge[i] = e
        total = edge_proj_len[e]
        if total > 0:
            dx, dy = seg_xy[s, 2] - seg_xy[s, 0], seg_xy[s, 3] - seg_xy[s, 1]
            f = (seg_cum0[s] + t[i] * math.hypot(dx, dy)) / total
            frac[i] = min(max(f, 0.0), 1.0)
        else:
            frac[i] = 0.0
    return edge, frac


@njit(cache=True, nogil=True)
def source_positions(
    edge: Any, frac: Any, edge_twin: Any, edge_v: Any, rank: Any
) -> tuple[Any, Any, Any, Any]:
    """(edge, fraction, owner, pin) of every directed position of the sources: each
    source's own edge, then the reverse twins of those that have one; the pin is the
    hierarchy rank of the position's edge head, where the sweep reads its time."""
    n = len(edge)
    m = n
    for i in range(n):
        if edge_twin[edge[i]] >= 0:
            m += 1
    pe = np.empty(m, np.int64)
    pf = np.empty(m)
    owner = np.empty(m, np.int64)
    pins = np.empty(m, np.int32)
    k = n
    for i in range(n):
        if i + SNAP_AHEAD < n:
            prefetch(edge_v, edge[i + SNAP_AHEAD])
        if i + SNAP_AHEAD // 2 < n:
            ahead = edge[i + SNAP_AHEAD // 2]
            prefetch(rank, edge_v[ahead])
            if edge_twin[ahead] >= 0:
                prefetch(edge_v, edge_twin[ahead])
        e = edge[i]
        pe[i] = e
        pf[i] = frac[i]
        owner[i] = i
        pins[i] = rank[edge_v[e]]
        tw = edge_twin[e]
        if tw >= 0:
            pe[k] = tw
            pf[k] = 1.0 - frac[i]
            owner[k] = i
            pins[k] = rank[edge_v[tw]]
            k += 1
    return pe, pf, owner, pins


@njit(cache=True, nogil=True)
def best_per_source(
    n_sources: int,
    pos_edge: Any,
    pos_frac: Any,
    owner: Any,
    via_t: Any,
    via_l: Any,
    tt: Any,
    length: Any,
    t_edge: Any,
    t_frac: Any,
) -> tuple[Any, Any]:
    """Per source, the fastest of its directed positions: on through the edge's head
    (`via_*`: from the head to the target) or, when it is behind the target on the
    target's own edge, straight there (preferred on equal times). (eta, distance); inf
    when unreachable."""
    eta = np.full(n_sources, np.inf)
    dist = np.full(n_sources, np.inf)
    m = len(pos_edge)
    for p in range(m):
        if p + SNAP_AHEAD < m:  # the edges lie far apart: ask for their rows ahead
            prefetch(tt, pos_edge[p + SNAP_AHEAD])
            prefetch(length, pos_edge[p + SNAP_AHEAD])
        e, f, o = pos_edge[p], pos_frac[p], owner[p]
        c = (1.0 - f) * tt[e] + via_t[p]
        if c < eta[o]:
            eta[o] = c
            dist[o] = (1.0 - f) * length[e] + via_l[p]
        for k in range(len(t_edge)):
            if e == t_edge[k] and f <= t_frac[k]:
                c = (t_frac[k] - f) * tt[e]
                if c <= eta[o]:
                    eta[o] = c
                    dist[o] = (t_frac[k] - f) * length[e]
    return eta, dist


@njit(cache=True, nogil=True)
def edge_piece(
    glat: Any,
    glon: Any,
    start: int,
    stop: int,
    lat0: float,
    lon0: float,
    k: float,
    cos0: float,
    f0: float,
    f1: float,
) -> tuple[Any, Any]:
    """(lat, lon) of the edge geometry points start..stop-1 between the fractions f0 <= f1
    of its length (measured in the local projection), ends interpolated."""
    m = stop - start
    x = np.empty(m)
    y = np.empty(m)
    for i in range(m):
        x[i] = (glon[start + i] - lon0) * k * cos0
        y[i] = (glat[start + i] - lat0) * k
    cum = np.zeros(m)
    for i in range(1, m):
        cum[i] = cum[i - 1] + math.hypot(x[i] - x[i - 1], y[i] - y[i - 1])
    total = cum[m - 1]
    if f0 <= 0.0 and f1 >= 1.0:
        xs, ys = x, y
    elif total <= 0.0:
        xs, ys = x[:1], y[:1]
    else:
        a, b = f0 * total, f1 * total
        xs = np.empty(m + 2)
        ys = np.empty(m + 2)
        xs[0], ys[0] = _along(x, y, cum, a)
        n = 1
        for i in range(m):
            if a < cum[i] < b:
                xs[n], ys[n] = x[i], y[i]
                n += 1
        xs[n], ys[n] = _along(x, y, cum, b)
        xs, ys = xs[: n + 1], ys[: n + 1]
    lat = np.empty(len(xs))
    lon = np.empty(len(xs))
    for i in range(len(xs)):
        lat[i] = ys[i] / k + lat0
        lon[i] = xs[i] / (k * cos0) + lon0
    return lat, lon


@njit(cache=True, nogil=True)
def _along(x: Any, y: Any, cum: Any, at: float) -> tuple[float, float]:
    """The point `at` metres along the polyline (clamped to its ends)."""
    m = len(cum)
    if at <= cum[0]:
        return x[0], y[0]
    for i in range(1, m):
        if at <= cum[i]:
            span = cum[i] - cum[i - 1]
            w = (at - cum[i - 1]) / span if span > 0 else 0.0
            return x[i - 1] + w * (x[i] - x[i - 1]), y[i - 1] + w * (y[i] - y[i - 1])
    return x[m - 1], y[m - 1]


@njit(cache=True, nogil=True)
def _bearing(glat: Any, glon: Any, i0: int, i1: int) -> float:
    """Compass bearing (degrees) from geometry point i0 to i1."""
    dx = (glon[i1] - glon[i0]) * math.cos(glat[i0] * (math.pi / 180.0))
    dy = glat[i1] - glat[i0]
    return (math.atan2(dx, dy) * (180.0 / math.pi) + 360.0) % 360.0


@njit(cache=True, nogil=True)
def _turn_code(turn: float) -> int:
    """Index into queries' maneuver names for a turn angle (degrees, any range)."""
    turn = (turn + 540.0) % 360.0 - 180.0
    a = abs(turn)
    if a < 20:
        return 0  # continue
    if a < 45:
        return 1 if turn > 0 else 2  # slight right / left
    if a < 150:
        return 3 if turn > 0 else 4  # turn right / left
    return 5  # u-turn


@njit(cache=True, nogil=True)
def _append(lon: Any, lat: Any, m: int, lo: Any, la: Any, start: int, stop: int) -> int:
    """Append points start..stop-1 of (lo, la) after the first m, skipping repeats."""
    for j in range(start, stop):
        if m == 0 or lo[j] != lon[m - 1] or la[j] != lat[m - 1]:
            lon[m] = lo[j]
            lat[m] = la[j]
            m += 1
    return m


@njit(cache=True, nogil=True)
def route_parts(
    le: Any,
    f0: Any,
    f1: Any,
    tt: Any,
    length: Any,
    edge_name: Any,
    offsets: Any,
    glat: Any,
    glon: Any,
    lat0: float,
    lon0: float,
    k: float,
    cos0: float,
) -> tuple[Any, Any, Any, Any, Any, Any, Any, Any]:
    """Geometry and steps of a route given as legs (edge, from fraction, to fraction).

    Geometry: the two end legs cut at their fractions, the whole edges between, repeated
    points dropped. Steps: the legs driven (part > 0) grouped by street name; per group
    its name id, distance, duration, the turn into it (code of `_turn_code`, -1 for the
    first) and its initial bearing. Returns (lon, lat, name, distance, duration, turn,
    bearing, [total duration, total distance, last name id, final bearing])."""
    n = len(le)
    dist = np.empty(n)
    dur = np.empty(n)
    for i in range(n):
        part = f1[i] - f0[i]
        dist[i] = part * length[le[i]]
        dur[i] = part * tt[le[i]]
    cap = 4
    for i in range(n):
        cap += offsets[le[i] + 1] - offsets[le[i]]
    lon = np.empty(cap)
    lat = np.empty(cap)
    m = 0
    for i in range(n):
        e = le[i]
        if i == 0 or i == n - 1:
            la, lo = edge_piece(
                glat, glon, offsets[e], offsets[e + 1], lat0, lon0, k, cos0, f0[i], f1[i]
            )
            m = _append(lon, lat, m, lo, la, 0, len(la))
        else:
            m = _append(lon, lat, m, glon, glat, offsets[e], offsets[e + 1])
    # Legs driven: every leg with a positive part (the one leg of a route inside an edge
    # even when empty).
    live = np.empty(n, np.int64)
    nl = 0
    for i in range(n):
        if n == 1 or f1[i] - f0[i] > 0:
            live[nl] = i
            nl += 1
    if nl == 0:
        live[0] = 0
        nl = 1
    g_name = np.empty(nl, np.int64)
    g_dist = np.empty(nl)
    g_dur = np.empty(nl)
    g_turn = np.empty(nl, np.int64)
    g_bear = np.empty(nl)
    ng = 0
    prev_name = -2
    prev_out = 0.0
    for j in range(nl):
        i = live[j]
        e = le[i]
        nm = edge_name[e]
        first, last = offsets[e], offsets[e + 1] - 1
        b_in = _bearing(glat, glon, first, first + 1)
        if j == 0 or nm != prev_name:
            g_name[ng] = max(nm, 0)
            g_dist[ng] = dist[i]
            g_dur[ng] = dur[i]
            g_turn[ng] = -1 if j == 0 else _turn_code(b_in - prev_out)
            g_bear[ng] = b_in
            ng += 1
        else:
            g_dist[ng - 1] += dist[i]
            g_dur[ng - 1] += dur[i]
        prev_name = nm
        prev_out = _bearing(glat, glon, last - 1, last)
    tail = np.empty(4)
    tail[0] = dur.sum()
    tail[1] = dist.sum()
    tail[2] = max(prev_name, 0)
    tail[3] = prev_out
    return lon[:m], lat[:m], g_name[:ng], g_dist[:ng], g_dur[:ng], g_turn[:ng], g_bear[:ng], tail
