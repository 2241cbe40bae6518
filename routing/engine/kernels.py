"""numba kernels for the per-point loops of snapping and rank (same results as the numpy
versions they replace, without their per-call array overhead on 500-point batches).

Imported lazily (numba costs about a second at start-up).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit


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
    sx0: Any,
    sy0: Any,
    sx1: Any,
    sy1: Any,
) -> tuple[Any, Any, Any, Any]:
    """(proven, segment, t, distance) per point from the snap grid: the nearest of the
    point's cell's segments, proven when it is at most `margin_m` away (the cell lists
    every segment within that distance of any point inside it, so none outside can be
    nearer). Equally near segments (a point on a junction) go to the lowest id, so the
    answer does not depend on the order of the cell's list."""
    n = len(px)
    proven = np.zeros(n, np.bool_)
    best_seg = np.zeros(n, np.int64)
    best_t = np.zeros(n)
    best_d = np.full(n, np.inf)
    for i in range(n):
        ix = math.floor((px[i] - x0) / cell_m)
        iy = math.floor((py[i] - y0) / cell_m)
        if not (ix >= 0 and ix < nx and iy >= 0 and iy < ny):
            continue
        cell = int(iy) * nx + int(ix)
        low = np.inf
        for j in range(indptr[cell], indptr[cell + 1]):
            s = cell_seg[j]
            ax, ay = sx0[s], sy0[s]
            dx, dy = sx1[s] - ax, sy1[s] - ay
            len2 = dx * dx + dy * dy
            t = ((px[i] - ax) * dx + (py[i] - ay) * dy) / len2 if len2 > 0 else 0.0
            t = min(max(t, 0.0), 1.0)
            d = math.hypot(ax + t * dx - px[i], ay + t * dy - py[i])
            if d < low or (d == low and s < best_seg[i]):
                low = d
                best_seg[i] = s
                best_t[i] = t
        best_d[i] = low
        proven[i] = low <= margin_m
    return proven, best_seg, best_t, best_d


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
    for p in range(len(pos_edge)):
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
