"""Rank tables: the boxes below subtrees of `TABLE_SUBTREE` nodes (`_boxes`), each box
node's fastest ways up to the top (`_tables`) and the upward arcs with the top's first
(`_top_first`); built on first use by `Hierarchy.tables`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from .arcs import _grow, _lt


@njit(cache=True, nogil=True)
def _boxes(parent: Any, limit: int) -> tuple[Any, Any]:
    """(box, first) of the rank tables: the nodes whose elimination-tree subtree holds
    more than `limit` nodes are the "top" (upward closed); every other node lies in the
    box of its highest non-top ancestor, box[v] that ancestor's rank (-1 for top nodes),
    and first[v] is its first top ancestor (-1 when there is none)."""
    n = len(parent)
    size = np.ones(n, np.int64)
    for v in range(n):
        if parent[v] >= 0:
            size[parent[v]] += size[v]
    box = np.full(n, -1, np.int32)
    first = np.full(n, -1, np.int32)
    for v in range(n - 1, -1, -1):  # parents first
        if size[v] > limit:
            continue
        q = parent[v]
        if q < 0 or size[q] > limit:
            box[v] = v
            first[v] = q
        else:
            box[v] = box[q]
            first[v] = first[q]
    return box, first


@njit(cache=True, nogil=True)
def _tables(box: Any, up_ptr: Any, up_head: Any, up_t: Any, up_l: Any) -> tuple[Any, ...]:
    """Rank tables of one metric, as CSR over ranks (ptr, head, time, length): for each
    node in a box, the fastest (time, then length) way up over kept arcs to each top node
    its box's arcs reach first, heads ascending; empty rows for top nodes. Built from the
    top down, each node's row from its upward arcs and its higher neighbours' rows."""
    n = len(box)
    cnt = np.zeros(n, np.int64)
    at = np.zeros(n, np.int64)  # where a node's row starts in the build order
    cap = 1 << 16
    o_head = np.empty(cap, np.int32)
    o_t = np.empty(cap, np.float64)
    o_l = np.empty(cap, np.float64)
    bt = np.empty(n)
    bl = np.empty(n)
    seen = np.full(n, -1, np.int64)
    hit = np.empty(n, np.int64)
    k = 0
    for v in range(n - 1, -1, -1):
        if box[v] < 0:
            continue
        m = 0
        for a in range(up_ptr[v], up_ptr[v + 1]):
            x = up_head[a]
            ta = np.float64(up_t[a])
            la = np.float64(up_l[a])
            top = box[x] < 0
            lo_e = 0 if top else at[x]
            hi_e = 1 if top else at[x] + cnt[x]
            for e in range(lo_e, hi_e):
                w = x if top else o_head[e]
                ct = ta if top else ta + o_t[e]
                cl = la if top else la + o_l[e]
                if seen[w] != v:
                    seen[w] = v
                    hit[m] = w
                    m += 1
                    bt[w] = ct
                    bl[w] = cl
                elif _lt(ct, cl, bt[w], bl[w]):
                    bt[w] = ct
                    bl[w] = cl
        while k + m > cap:
            cap *= 2
            o_head = _grow(o_head, cap)
            o_t = _grow(o_t, cap)
            o_l = _grow(o_l, cap)
        row = np.sort(hit[:m])
        at[v] = k
        cnt[v] = m
        for i in range(m):
            w = row[i]
            o_head[k] = w
            o_t[k] = bt[w]
            o_l[k] = bl[w]
            k += 1
    ptr = np.zeros(n + 1, np.int64)
    for v in range(n):
        ptr[v + 1] = ptr[v] + cnt[v]
    head = np.empty(k, np.int32)
    time = np.empty(k, np.float32)
    length = np.empty(k, np.float32)
    for v in range(n):
        q = ptr[v]
        for i in range(cnt[v]):
            head[q + i] = o_head[at[v] + i]
            time[q + i] = o_t[at[v] + i]
            length[q + i] = o_l[at[v] + i]
    return ptr, head, time, length


@njit(cache=True, nogil=True)
def _top_first(box: Any, up_ptr: Any, up_head: Any, up_t: Any, up_l: Any) -> tuple[Any, ...]:
    """The kept upward arcs as (lo, hi, head, time, length), node v's at lo[v]:hi[v], the
    top nodes' (box -1) first and in decreasing rank, the order a rank sweeps them: with
    the rank tables a sweep reads the top's arcs and hardly any others, and in CSR order
    they lie scattered among the boxes' (on the 100k grid the top sweep alone took 0.55
    instead of 0.69 ms so)."""
    n = len(box)
    m = up_ptr[n]
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    head = np.empty(m, np.int32)
    time = np.empty(m, np.float32)
    length = np.empty(m, np.float32)
    k = 0
    for top in (True, False):
        for v in range(n - 1, -1, -1):
            if (box[v] < 0) != top:
                continue
            lo[v] = k
            for a in range(up_ptr[v], up_ptr[v + 1]):
                head[k] = up_head[a]
                time[k] = up_t[a]
                length[k] = up_l[a]
                k += 1
            hi[v] = k
    return lo, hi, head, time, length


_NO_TABLES = (
    np.empty(0, np.int32),
    np.empty(0, np.int32),
    np.zeros(1, np.int64),
    np.empty(0, np.int32),
    np.empty(0, np.float32),
    np.empty(0, np.float32),
)
