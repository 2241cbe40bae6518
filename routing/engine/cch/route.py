"""Query, point to point: the elimination-tree search over kept arcs (`_search`, which
the many-to-one sweep's search down from the target uses too) and the route of two such
searches that meet, unpacked into original edges (`_route`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from .arcs import _find, _grow, _lt, _row


@njit(cache=True, nogil=True)
def _chain(parent: Any, starts: Any, mark: Any, stamp: int) -> Any:
    """Union of the elimination-tree ancestors of `starts` (themselves included), marked
    with `stamp`, in increasing rank."""
    out = np.empty(64, np.int32)
    k = 0
    for s in starts:
        x = s
        while x != -1 and mark[x] != stamp:
            mark[x] = stamp
            if k == len(out):
                grown = np.empty(2 * len(out), np.int32)
                grown[:k] = out[:k]
                out = grown
            out[k] = x
            k += 1
            x = parent[x]
    return np.sort(out[:k])


@njit(cache=True, nogil=True)
def _search(
    parent: Any,
    kptr: Any,
    khead: Any,
    kt: Any,
    kl: Any,
    seed_r: Any,
    seed_t: Any,
    seed_l: Any,
    dt: Any,
    dl: Any,
    pred: Any,
    mark: Any,
    stamp: int,
) -> Any:
    """Search over kept arcs (one direction graph) from the seeds along their
    elimination-tree ancestors; returns that chain (increasing rank). pred: the node a
    node was reached from, -1 at a seed."""
    chain = _chain(parent, seed_r, mark, stamp)
    for v in chain:
        dt[v] = np.inf
        dl[v] = np.inf
        pred[v] = -1
    for i in range(len(seed_r)):
        r = seed_r[i]
        if _lt(seed_t[i], seed_l[i], dt[r], dl[r]):
            dt[r] = seed_t[i]
            dl[r] = seed_l[i]
    for v in chain:
        bt, bl = dt[v], dl[v]
        if bt == np.inf:
            continue
        for a in range(kptr[v], kptr[v + 1]):
            x = khead[a]
            ct = kt[a] + bt
            cl = kl[a] + bl
            if _lt(ct, cl, dt[x], dl[x]):
                dt[x] = ct
                dl[x] = cl
                pred[x] = v
    return chain


@njit(cache=True, nogil=True)
def _route(
    parent: Any,
    ptr: Any,
    head: Any,
    h_up: Any,
    h_dn: Any,
    up_ptr: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    dn_ptr: Any,
    dn_head: Any,
    dn_t: Any,
    dn_l: Any,
    src_r: Any,
    src_t: Any,
    src_l: Any,
    dst_r: Any,
    dst_t: Any,
    dst_l: Any,
    ft: Any,
    fl: Any,
    fp: Any,
    bt: Any,
    bl: Any,
    bp: Any,
    mark: Any,
    mark2: Any,
    stamp: int,
) -> tuple[float, int, int, Any]:
    """Fastest path between the seeds: (time, first node, last node, original edge ids);
    time inf when there is none. Nodes are ranks; `stamp` is new."""
    _search(parent, up_ptr, up_head, up_t, up_l, src_r, src_t, src_l, ft, fl, fp, mark, stamp)
    bchain = _search(
        parent, dn_ptr, dn_head, dn_t, dn_l, dst_r, dst_t, dst_l, bt, bl, bp, mark2, stamp
    )
    best_t, best_l, meet = np.inf, np.inf, -1
    for v in bchain:
        if mark[v] == stamp:
            ct = ft[v] + bt[v]
            cl = fl[v] + bl[v]
            if _lt(ct, cl, best_t, best_l):
                best_t, best_l, meet = ct, cl, v
    if meet < 0:
        return np.inf, -1, -1, np.empty(0, np.int64)
    # The hierarchy path as chordal-graph arc directions, 1 + a = up(a), -1 - a = down(a),
    # on a stack in reverse order; expanded last-in first-out into original edges.
    n_down = 0
    y = meet
    while bp[y] != -1:
        n_down += 1
        y = bp[y]
    last = y
    todo = np.empty(n_down + 64, np.int64)
    # The down part, from the target end back to the meeting node...
    y = meet
    i = n_down - 1
    while bp[y] != -1:
        v = bp[y]
        todo[i] = -1 - np.int64(_find(ptr, head, v, y))
        i -= 1
        y = v
    # ...then the up part from the meeting node back to the source end.
    k = n_down
    x = meet
    while fp[x] != -1:
        v = fp[x]
        todo = _grow(todo, k + 1)
        todo[k] = 1 + np.int64(_find(ptr, head, v, x))
        k += 1
        x = v
    first = x
    out = np.empty(64, np.int64)
    m = 0
    while k > 0:
        k -= 1
        d = todo[k]
        up = d > 0
        a = d - 1 if up else -1 - d
        how = h_up[a] if up else h_dn[a]
        if how >= 0:
            out = _grow(out, m + 1)
            out[m] = how
            m += 1
            continue
        # A shortcut through the lower node z: from its start down to z (down of (z,
        # start)), then up from z to its end (up of (z, end)); pushed in reverse.
        z = -1 - how
        lo_node, hi_node = _row(ptr, a), head[a]
        start, end = (lo_node, hi_node) if up else (hi_node, lo_node)
        todo = _grow(todo, k + 2)
        todo[k] = 1 + _find(ptr, head, z, end)
        todo[k + 1] = -1 - _find(ptr, head, z, start)
        k += 2
    return best_t, first, last, out[:m].copy()
