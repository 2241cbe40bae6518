"""Customizable contraction hierarchy (CCH) with perfect customisation, compiled by numba.

Why our own rather than routingkit-cch's queries (routingkit still computes the
nested-dissection node order, `graph._cch_order`): routingkit keeps weights as uint32, so
a fastest route's time and its length took two sweeps and the time had to be rounded, and
its customised metrics cannot be saved, so every restart repeated the customisation. Here
the customised hierarchy is plain numpy saved with the graph, drive times stay floats,
and one many-to-one sweep gives every unit's drive time and (through the arcs it chose)
the length of that fastest route.

Nodes are renumbered by rank in the order (id == rank). The chordal supergraph is one
upward CSR (`ptr`, `head`, heads sorted, the first head of a row is the node's parent in
the elimination tree). Arc (x, y), x < y, has two directions: "up" x -> y and "down"
y -> x. Customisation per travel-time metric:

1. basic: lexicographic (time, length) minimum over the original edges, then over lower
   triangles in increasing rank; each direction remembers how it was made (`how`: the
   original edge id, or `-1 - z` for a shortcut through the lower node z), which is all
   that path unpacking needs;
2. perfect: in decreasing rank, intermediate and upper triangles give every arc the true
   shortest distance between its ends;
3. pruning: a direction is dropped when a triangle through a higher node is as short
   (its ends are then joined by an up-down path of kept arcs), or when it has no path.
   On the 100k-node benchmark grid this keeps about 59 % of the arc directions.

Queries walk the elimination tree, whose ancestors of a node contain every node an upward
search from it can reach: many-to-one (rank) is one RPHAST sweep over the union of the
sources' ancestors from the top down (on graphs of 3,001-250,000 nodes only above
subtrees of `TABLE_SUBTREE` nodes, each source reading its way up to there from a rank
table, `Hierarchy.tables`; with those tables and 48 pins or more the whole top is swept,
on a helper thread while the caller snaps the units, and the two threads then share the
table lookups and the incident's box as each is free); point-to-point (route) is two
elimination-tree searches that meet, then unpacking. Kept weights are float32 (half the
memory traffic of float64; the relative error of a path sum stays below 1e-5).

References: Dibbelt, Strasser, Wagner, "Customizable Contraction Hierarchies" (ACM JEA
2016); Delling, Goldberg, Werneck, "Faster Batched Shortest Paths in Road Networks"
(RPHAST, ATMOS 2011).
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from .kernels import atomic_cas, atomic_load, prefetch, spin_pause

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

NONE = np.int32(np.iinfo(np.int32).min)  # `how` of a direction with no path


# --- building -------------------------------------------------------------------------


@njit(cache=True)
def _symbolic(n: int, lo: Any, hi: Any) -> tuple[Any, Any]:
    """Upward CSR (ptr, head) of the chordal supergraph of the undirected edges (lo, hi),
    lo < hi (ranks, no duplicates): a node's row is its own upward neighbours plus its
    elimination-tree children's rows without itself."""
    m = len(lo)
    cnt = np.zeros(n + 1, np.int64)
    for i in range(m):
        cnt[lo[i] + 1] += 1
    optr = np.cumsum(cnt)
    ohead = np.empty(m, np.int32)
    fill = optr[:-1].copy()
    for i in range(m):
        ohead[fill[lo[i]]] = hi[i]
        fill[lo[i]] += 1
    child_head = np.full(n, -1, np.int64)
    child_next = np.full(n, -1, np.int64)
    mark = np.full(n, -1, np.int64)
    tmp = np.empty(n, np.int32)
    cap = max(4 * m, 16)
    head = np.empty(cap, np.int32)
    ptr = np.zeros(n + 1, np.int64)
    for v in range(n):
        k = 0
        for j in range(optr[v], optr[v + 1]):
            h = ohead[j]
            if mark[h] != v:
                mark[h] = v
                tmp[k] = h
                k += 1
        c = child_head[v]
        while c != -1:
            for j in range(ptr[c], ptr[c + 1]):
                h = head[j]
                if h != v and mark[h] != v:
                    mark[h] = v
                    tmp[k] = h
                    k += 1
            c = child_next[c]
        row = np.sort(tmp[:k])
        start = ptr[v]
        if start + k > cap:
            cap = max(2 * cap, start + k)
            grown = np.empty(cap, np.int32)
            grown[:start] = head[:start]
            head = grown
        head[start : start + k] = row
        ptr[v + 1] = start + k
        if k > 0:
            p = row[0]
            child_next[v] = child_head[p]
            child_head[p] = v
    return ptr, head[: ptr[n]].copy()


@njit(cache=True, nogil=True)
def _find(ptr: Any, head: Any, x: int, y: int) -> int:
    """Arc index of (x, y), x < y, by binary search in row x; -1 if absent."""
    lo_i, hi_i = ptr[x], ptr[x + 1]
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        if head[mid] < y:
            lo_i = mid + 1
        else:
            hi_i = mid
    if lo_i < ptr[x + 1] and head[lo_i] == y:
        return int(lo_i)
    return -1


@njit(cache=True, nogil=True)
def _lt(t: float, ln: float, bt: float, bl: float) -> bool:
    return t < bt or (t == bt and ln < bl)


@njit(cache=True, nogil=True)
def _le(t: float, ln: float, bt: float, bl: float) -> bool:
    return t < bt or (t == bt and ln <= bl)


@njit(cache=True, nogil=True)
def _customise(
    n: int, ptr: Any, head: Any, eu: Any, ev: Any, tt: Any, le: Any, h_up: Any, h_dn: Any
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """Basic, then perfect customisation and pruning (module docstring). Writes how each
    direction was made into h_up/h_dn; returns the perfect (time, length) of both
    directions (lengths in float32, to keep the build's memory down) and keep flags."""
    a_n = len(head)
    t_up = np.full(a_n, np.inf)
    l_up = np.full(a_n, np.inf, np.float32)
    t_dn = np.full(a_n, np.inf)
    l_dn = np.full(a_n, np.inf, np.float32)
    h_up[:] = NONE
    h_dn[:] = NONE
    for e in range(len(eu)):
        x, y = eu[e], ev[e]
        if x == y:
            continue
        if x < y:
            a = _find(ptr, head, x, y)
            if _lt(tt[e], le[e], t_up[a], l_up[a]):
                t_up[a], l_up[a], h_up[a] = tt[e], le[e], e
        else:
            a = _find(ptr, head, y, x)
            if _lt(tt[e], le[e], t_dn[a], l_dn[a]):
                t_dn[a], l_dn[a], h_dn[a] = tt[e], le[e], e
    # Basic: lower triangles (v below x < y), in increasing v.
    for v in range(n):
        s, f = ptr[v], ptr[v + 1]
        for i in range(s, f):
            x = head[i]
            k = ptr[x]
            for j in range(i + 1, f):
                y = head[j]
                while head[k] != y:
                    k += 1
                ct = t_dn[i] + t_up[j]  # x -> v -> y
                cl = l_dn[i] + l_up[j]
                if _lt(ct, cl, t_up[k], l_up[k]):
                    t_up[k], l_up[k], h_up[k] = ct, cl, -1 - v
                ct = t_dn[j] + t_up[i]  # y -> v -> x
                cl = l_dn[j] + l_up[i]
                if _lt(ct, cl, t_dn[k], l_dn[k]):
                    t_dn[k], l_dn[k], h_dn[k] = ct, cl, -1 - v
    # Perfect, in decreasing x: for upward neighbours z < y of x (arc k = (z, y), perfect
    # already), the intermediate triangle of (x, y) and the upper triangle of (x, z).
    keep_up = np.ones(a_n, np.bool_)
    keep_dn = np.ones(a_n, np.bool_)
    for x in range(n - 1, -1, -1):
        s, f = ptr[x], ptr[x + 1]
        for j in range(s, f):
            z = head[j]
            k = ptr[z]
            for i in range(j + 1, f):
                y = head[i]
                while head[k] != y:
                    k += 1
                ct = t_up[j] + t_up[k]  # x -> z -> y
                cl = l_up[j] + l_up[k]
                if _lt(ct, cl, t_up[i], l_up[i]):
                    t_up[i], l_up[i] = ct, cl
                ct = t_dn[k] + t_dn[j]  # y -> z -> x
                cl = l_dn[k] + l_dn[j]
                if _lt(ct, cl, t_dn[i], l_dn[i]):
                    t_dn[i], l_dn[i] = ct, cl
                ct = t_up[i] + t_dn[k]  # x -> y -> z
                cl = l_up[i] + l_dn[k]
                if _lt(ct, cl, t_up[j], l_up[j]):
                    t_up[j], l_up[j] = ct, cl
                ct = t_up[k] + t_dn[i]  # z -> y -> x
                cl = l_up[k] + l_dn[i]
                if _lt(ct, cl, t_dn[j], l_dn[j]):
                    t_dn[j], l_dn[j] = ct, cl
        # The arcs of x are final now: prune the ones a higher node makes redundant.
        for j in range(s, f):
            z = head[j]
            k = ptr[z]
            for i in range(j + 1, f):
                y = head[i]
                while head[k] != y:
                    k += 1
                if _le(t_up[j] + t_up[k], l_up[j] + l_up[k], t_up[i], l_up[i]):
                    keep_up[i] = False
                if _le(t_dn[k] + t_dn[j], l_dn[k] + l_dn[j], t_dn[i], l_dn[i]):
                    keep_dn[i] = False
                if _le(t_up[i] + t_dn[k], l_up[i] + l_dn[k], t_up[j], l_up[j]):
                    keep_up[j] = False
                if _le(t_up[k] + t_dn[i], l_up[k] + l_dn[i], t_dn[j], l_dn[j]):
                    keep_dn[j] = False
        for i in range(s, f):
            if t_up[i] == np.inf:
                keep_up[i] = False
            if t_dn[i] == np.inf:
                keep_dn[i] = False
    return t_up, l_up, t_dn, l_dn, keep_up, keep_dn


# --- queries --------------------------------------------------------------------------


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
def _m2o_prepare(
    n: int,
    parent: Any,
    dn_ptr: Any,
    dn_head: Any,
    dn_t: Any,
    dn_l: Any,
    pins: Any,
    seed_r: Any,
    seed_t: Any,
    seed_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
    bt: Any,
    bl: Any,
    pred: Any,
    mark: Any,
    stamp: int,
    box: Any,
    first: Any,
) -> int:
    """First part of many-to-one: the search down from the target's seeds over its
    ancestors (flag 2, with their way down), then every ancestor of a pin (flag 1) that
    the sweep needs (`_m2o_flags`). Returns the lowest flagged rank."""
    chain = _search(
        parent, dn_ptr, dn_head, dn_t, dn_l, seed_r, seed_t, seed_l, bt, bl, pred, mark, stamp
    )
    return _m2o_flags(n, parent, chain, pins, flag, d, dl, bt, bl, box, first, seed_r)


@njit(cache=True, nogil=True)
def _flag_chain(chain: Any, flag: Any, d: Any, dl: Any, bt: Any, bl: Any) -> None:
    """Flag the target's chain 2, each node's time its own way down (bt, bl) from the
    search down; the chain is upward closed (every ancestor of a chain node is in it)."""
    for v in chain:
        flag[v] = 2
        d[v] = bt[v]
        dl[v] = bl[v]


@njit(cache=True, nogil=True)
def _m2o_flags(
    n: int,
    parent: Any,
    chain: Any,
    pins: Any,
    flag: Any,
    d: Any,
    dl: Any,
    bt: Any,
    bl: Any,
    box: Any,
    first: Any,
    seed_r: Any,
) -> int:
    """`_m2o_prepare` after the search down (`chain`, times in bt, bl): flag the chain
    (2) and the pins' ancestors (1), from the first top ancestor up for a pin its table
    answers (`_table_pin`); returns the lowest flagged rank."""
    _flag_chain(chain, flag, d, dl, bt, bl)
    lo = chain[0] if len(chain) else n  # the chain is in increasing rank
    for p in pins:
        x = first[p] if _table_pin(box, p, seed_r) else p
        if x != -1 and x < lo:
            lo = x
        while x != -1 and flag[x] == 0:
            flag[x] = 1
            x = parent[x]
    return lo


@njit(cache=True, nogil=True)
def _table_pin(box: Any, p: int, seed_r: Any) -> bool:
    """Whether the rank tables answer pin p: tables are in use (`box` not empty), p lies
    in a box, and no seed of the target does (else its way may meet the target's below
    the top, which the tables do not see)."""
    if len(box) == 0:
        return False
    b = box[p]
    if b < 0:
        return False
    for r in seed_r:  # noqa: SIM110 (a loop numba compiles; all() over a generator it does not)
        if box[r] == b:
            return False
    return True


@njit(cache=True, nogil=True)
def _m2o_lookup(
    pins: Any,
    side: Any,
    want: int,
    box: Any,
    seed_r: Any,
    t_ptr: Any,
    t_head: Any,
    t_time: Any,
    t_len: Any,
    d: Any,
    dl: Any,
    out_t: Any,
    out_l: Any,
    only_tables: bool,
) -> None:
    """Time and length of the pins after the sweep: a table pin's least (time to a top
    node + that node's time), the others' own; only the pins whose `side` is `want`, or
    all when want is 0, or those not on side 2 when want is 1 (the side-0 nodes are swept
    first, by the thread that sweeps side 1); with only_tables, only the pins the tables
    answer (`_table_pin`; the others are `_m2o_box_part`'s). Prefetches the rows ahead."""
    idx = np.empty(len(pins), np.int64)
    k = 0
    for i in range(len(pins)):
        p = pins[i]
        if (want == 0 or (side[p] == 2) == (want == 2)) and (
            not only_tables or _table_pin(box, p, seed_r)
        ):
            idx[k] = i
            k += 1
    use = len(box) > 0
    for j in range(k):
        if use and j + PREFETCH_AHEAD < k:
            prefetch(t_ptr, pins[idx[j + PREFETCH_AHEAD]])
        if use and j + 4 < k:
            q = pins[idx[j + 4]]
            for e in range(t_ptr[q], t_ptr[q + 1], 16):
                prefetch(t_head, e)
                prefetch(t_time, e)
        i = idx[j]
        p = pins[i]
        if not _table_pin(box, p, seed_r):
            out_t[i] = d[p]
            out_l[i] = dl[p]
            continue
        best = np.float32(np.inf)
        at = -1
        for e in range(t_ptr[p], t_ptr[p + 1]):
            c = t_time[e] + d[t_head[e]]
            if c < best:
                best = c
                at = e
        out_t[i] = best
        out_l[i] = t_len[at] + dl[t_head[at]] if at >= 0 else np.inf


# How many flagged nodes ahead the sweep asks for the arcs it will read. The sweep waits on
# memory: below the top the flagged nodes lie far apart, and the hardware cannot guess the
# next one. On the 100k grid, 16 ahead with two cache lines of heads and times each swept
# ~28 % faster on one thread (10 % of it from listing the flagged nodes first).
PREFETCH_AHEAD = 16


@njit(cache=True, nogil=True)
def _m2o_sweep_nodes(
    nodes: Any,
    k: int,
    up_lo: Any,
    up_hi: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
) -> None:
    """`_m2o_node` for nodes[:k] (descending ranks), prefetching the arcs of the node
    PREFETCH_AHEAD places on."""
    for i in range(k):
        if i + PREFETCH_AHEAD < k:
            a = up_lo[nodes[i + PREFETCH_AHEAD]]
            prefetch(up_head, a)
            prefetch(up_t, a)
            prefetch(up_head, a + 16)
            prefetch(up_t, a + 16)
        _m2o_node(nodes[i], up_lo, up_hi, up_head, up_t, up_l, flag, d, dl)


@njit(cache=True, nogil=True)
def _m2o_sweep(
    hi: int,
    lo: int,
    side: Any,
    want: int,
    up_lo: Any,
    up_hi: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
    nodes: Any,
) -> None:
    """The sweep over flagged ranks hi down to lo (see `_m2o_node`), every one when `want`
    is 0, else those whose `side` is `want` (`_split`); clears their flags. nodes: work
    array of at least hi - lo + 1 entries."""
    k = 0
    for v in range(hi, lo - 1, -1):
        if flag[v] != 0 and (want == 0 or side[v] == want):
            nodes[k] = v
            k += 1
    _m2o_sweep_nodes(nodes, k, up_lo, up_hi, up_head, up_t, up_l, flag, d, dl)


@njit(cache=True, nogil=True)
def _m2o_half(
    hi: int,
    lo: int,
    side: Any,
    want: int,
    up_lo: Any,
    up_hi: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
    nodes: Any,
    pins: Any,
    box: Any,
    seed_r: Any,
    t_ptr: Any,
    t_head: Any,
    t_time: Any,
    t_len: Any,
    out_t: Any,
    out_l: Any,
) -> None:
    """One half of a split many-to-one (`Hierarchy._m2o_split`): `_m2o_sweep` of the
    side, then `_m2o_lookup` of its pins."""
    _m2o_sweep(hi, lo, side, want, up_lo, up_hi, up_head, up_t, up_l, flag, d, dl, nodes)
    _m2o_lookup(
        pins, side, want, box, seed_r, t_ptr, t_head, t_time, t_len, d, dl, out_t, out_l, False
    )


# The helper's half of a split rank (`_m2o_serve`) and the rank's thread meet through a
# small control array instead of a queue and a lock: waking a sleeping thread took 0.25 ms
# median (0.83 ms p90) on the 2-core VM, as much as the half it was to sweep.
_STATE, _CHAIN, _LO, _K, _CANCEL = 0, 1, 2, 3, 4
# States: searching, search done (the helper waits for its half), half posted, half
# done, helper gone (it waited too long or was told to go; its half, if any, is the
# caller's).
_SEARCHING, _SEARCHED, _POSTED, _DONE, _GONE = 0, 1, 2, 3, 4
# Iterations of a waiting loop before a thread stops spinning: with x86's PAUSE about 27
# ms on the 2-core VM, far longer than snapping 500 units takes (elsewhere it may be
# less; the fallbacks only cost the wait for a sleeping thread again).
SPIN_LIMIT = 1_000_000


@njit(cache=True, nogil=True)
def _spin_until(ctl: Any, slot: int, value: int, limit: int) -> bool:
    """Wait, spinning, until ctl[slot] is at least `value` (true) or limit iterations
    have passed (false)."""
    for _ in range(limit):
        if atomic_load(ctl, slot) >= value:
            return True
        spin_pause()
    return atomic_load(ctl, slot) >= value


@njit(cache=True, nogil=True)
def _flip(ctl: Any, slot: int, old: int, new: int) -> bool:
    """ctl[slot] from old to new, atomically; false if it did not hold old (so a post
    fails when the helper has gone, and a claim when the other thread has it)."""
    return atomic_cas(ctl, slot, old, new)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def _await_post(ctl: Any, slot: int, idle: int, posted: int, limit: int) -> bool:
    """The helper's wait for the rank's thread to move ctl[slot] from idle to posted:
    true when it has; false when the helper leaves instead (told to by ctl's cancel
    flag, or after limit iterations), marking the slot gone so a late post fails."""
    waited = 0
    while atomic_load(ctl, slot) != posted:
        waited += 1
        if (waited > limit or atomic_load(ctl, _CANCEL) != 0) and atomic_cas(
            ctl, slot, idle, _GONE
        ):
            return False
        spin_pause()
    return True


@njit(cache=True, nogil=True)
def _serve_search(ctl: Any, chain_out: Any, search: Any) -> Any:
    """The helper's search down (`_search` of the tuple `search`: parent, the down arcs,
    the seeds, bt, bl, pred, mark, stamp), its chain copied into chain_out and its length
    into ctl for the rank's thread; returns the chain."""
    chain = _search(*search)
    chain_out[: len(chain)] = chain
    ctl[_CHAIN] = len(chain)
    return chain


@njit(cache=True, nogil=True)
def _m2o_serve(
    ctl: Any,
    chain_out: Any,
    search: Any,
    hi_b: int,
    side: Any,
    up_lo: Any,
    up_hi: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
    nodes: Any,
    pins: Any,
    box: Any,
    t_ptr: Any,
    t_head: Any,
    t_time: Any,
    t_len: Any,
    out_t: Any,
    out_l: Any,
    limit: int,
) -> None:
    """The helper thread's part of a split rank (`Hierarchy.search_down`): the search
    down from the target's seeds (`_serve_search`), then,
    spinning until the rank's thread posts it (`_flip`: ctl holds its lo and the number
    of pins copied into `pins`), the sweep and lookups of side 2 (`_m2o_half`, into
    out_t, out_l). Returns without the half when told to (ctl's cancel flag) or after
    `limit` iterations of waiting."""
    seed_r = search[5]
    _serve_search(ctl, chain_out, search)
    atomic_cas(ctl, _STATE, _SEARCHING, _SEARCHED)  # publishes the chain and its times
    if not _await_post(ctl, _STATE, _SEARCHED, _POSTED, limit):
        return
    k = ctl[_K]
    _m2o_half(
        hi_b, ctl[_LO], side, 2, up_lo, up_hi, up_head, up_t, up_l, flag, d, dl, nodes, pins[:k],
        box, seed_r, t_ptr, t_head, t_time, t_len, out_t[:k], out_l[:k],
    )  # fmt: skip
    atomic_cas(ctl, _STATE, _POSTED, _DONE)


# A rank with the rank tables (`_m2o_serve_tables`) needs the pins only for the table
# lookups and the incident's box, so the whole top is swept while the rank's thread still
# snaps the units: its side 0 and side 2 by the helper, side 1 by whichever thread comes
# to it first; likewise the incident's box (`_m2o_box_part`) once the helper has looked up
# its pins (it is otherwise idle while the rank's thread sweeps side 1 and looks up its
# own). Slots of the control array besides _CHAIN, _K and _CANCEL: each set to 1 when done
# (or, _TOP1_BY and _BOX_BY, by the thread that claims that part: 1 the rank's, 2 the
# helper), and _PINS posted (1) by the rank's thread or gone (_GONE) by the helper.
_TOP0, _TOP1_BY, _TOP1, _TOP2, _PINS, _LOOKED, _BOX_BY, _BOX = 5, 6, 7, 8, 9, 10, 11, 12
# The table lookups of each side's pins (`_m2o_lookup_shared`), in slices of LOOKUP_SLICE
# pins that either thread takes, the next one's start in _NEXT1 (the pins not on side 2)
# and _NEXT2: each thread looks up its own side's pins, then the other's that are left.
_NEXT1, _NEXT2 = 13, 14
# About 60 of a side's table pins a slice (some 25 us of lookups on the 100k grid): small
# enough that the threads end together, large enough for the prefetches ahead within a
# slice. Interleaved against it: 64 1 % slower, 256 the same.
LOOKUP_SLICE = 128
# Fewer pins than this use the flagged sweep (`_m2o_serve`) instead: it sweeps only the
# pins' ancestors (one unit's reach a fifth of the top's arcs). On the 100k grid, against
# it, interleaved: 10 units (20 pins) 4 % slower with the whole top, 50 units 4 % faster.
TOP_SWEEP_MIN_PINS = 48


@njit(cache=True, nogil=True)
def _claim(ctl: Any, slot: int, n: int) -> int:
    """ctl[slot] before adding n to it, atomically (the other thread may add too)."""
    while True:
        got = atomic_load(ctl, slot)
        if atomic_cas(ctl, slot, got, got + n):
            return got  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def _m2o_lookup_shared(
    ctl: Any, slot: int, pins: Any, side: Any, want: int, reads: Any, out_t: Any, out_l: Any
) -> None:
    """`_m2o_lookup` of the table pins of side `want` (1: not on side 2), slice by slice
    of the pins as this thread claims them from ctl[slot] (`_claim`), until none is
    left; the other thread may be claiming them too. `reads`: the lookup's box, seed_r,
    the table's four arrays, d and dl."""
    box, seed_r, t_ptr, t_head, t_time, t_len, d, dl = reads
    k = len(pins)
    while True:
        a = _claim(ctl, slot, LOOKUP_SLICE)
        if a >= k:
            return
        b = min(a + LOOKUP_SLICE, k)
        _m2o_lookup(
            pins[a:b], side, want, box, seed_r, t_ptr, t_head, t_time, t_len, d, dl,
            out_t[a:b], out_l[a:b], True,
        )  # fmt: skip


@njit(cache=True, nogil=True)
def _m2o_serve_tables(
    ctl: Any,
    chain_out: Any,
    search: Any,
    top0: Any,
    top1: Any,
    top2: Any,
    side: Any,
    up_lo: Any,
    up_hi: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
    pins: Any,
    box: Any,
    t_ptr: Any,
    t_head: Any,
    t_time: Any,
    t_len: Any,
    out_t: Any,
    out_l: Any,
    nodes: Any,
    limit: int,
) -> None:
    """The helper thread's part of a rank with the rank tables (`Hierarchy.search_down`):
    the search down from the target's seeds (the chain flagged 2 with its times, and
    copied into chain_out), the sweep of every top node (box -1) of side 0, then of side
    2, then of side 1 unless the rank's thread has claimed it, each marked done in ctl;
    then, once the rank's thread posts the pins (`pins`, their number in ctl), the table
    lookups of the side-2 pins, then, once side 1 is swept, the incident's box
    (`_m2o_box_part`) unless the rank's thread has claimed it and the side-1 pins that
    thread has not looked up yet (`_m2o_lookup_shared`); _LOOKED marks all of that done.
    Returns without them when told to or after `limit` iterations of waiting; leaves the
    box and side 1 to the rank's thread if side 1 takes that long."""
    seed_r = search[5]
    chain = _serve_search(ctl, chain_out, search)
    _flag_chain(chain, flag, d, dl, search[8], search[9])
    arcs = (up_lo, up_hi, up_head, up_t, up_l, flag, d, dl)
    _m2o_sweep_nodes(top0, len(top0), *arcs)
    atomic_cas(ctl, _TOP0, 0, 1)  # publishes the chain and side 0
    _m2o_sweep_nodes(top2, len(top2), *arcs)
    atomic_cas(ctl, _TOP2, 0, 1)
    if atomic_cas(ctl, _TOP1_BY, 0, 2):
        _m2o_sweep_nodes(top1, len(top1), *arcs)
        atomic_cas(ctl, _TOP1, 0, 1)
    if not _await_post(ctl, _PINS, 0, 1, limit):
        return
    k = ctl[_K]
    pins, out_t, out_l = pins[:k], out_t[:k], out_l[:k]
    reads = (box, seed_r, t_ptr, t_head, t_time, t_len, d, dl)
    _m2o_lookup_shared(ctl, _NEXT2, pins, side, 2, reads, out_t, out_l)
    if _spin_until(ctl, _TOP1, 1, limit):  # the box and side 1 read side 1's times
        if atomic_cas(ctl, _BOX_BY, 0, 2):
            _m2o_box_part(chain, pins, box, seed_r, search[0], nodes, *arcs, out_t, out_l)
            atomic_cas(ctl, _BOX, 0, 1)
        _m2o_lookup_shared(ctl, _NEXT1, pins, side, 1, reads, out_t, out_l)
    atomic_cas(ctl, _LOOKED, 0, 1)


@njit(cache=True, nogil=True)
def _m2o_box_part(
    chain: Any,
    pins: Any,
    box: Any,
    seed_r: Any,
    parent: Any,
    nodes: Any,
    up_lo: Any,
    up_hi: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
    out_t: Any,
    out_l: Any,
) -> None:
    """What the tables do not answer, once the top is swept: the pins in a box with a seed
    of the target (their way may meet the target's below the top) and the top's own pins.
    Sweeps the boxes' part of the chain and those pins' ancestors below the top (flag 1),
    in decreasing rank, clearing their flags, then gives those pins their own times."""
    k = 0
    for v in chain:
        if box[v] >= 0:  # flagged 2 by the helper
            nodes[k] = v
            k += 1
    own = np.empty(len(pins), np.int64)
    m = 0
    for i in range(len(pins)):
        if _table_pin(box, pins[i], seed_r):
            continue
        own[m] = i
        m += 1
        x = pins[i]
        while x != -1 and box[x] >= 0 and flag[x] == 0:
            flag[x] = 1
            nodes[k] = x
            k += 1
            x = parent[x]
    below = np.sort(nodes[:k])[::-1]
    _m2o_sweep_nodes(below, k, up_lo, up_hi, up_head, up_t, up_l, flag, d, dl)
    for i in own[:m]:
        out_t[i] = d[pins[i]]
        out_l[i] = dl[pins[i]]


@njit(cache=True, nogil=True)
def _m2o_sweep_list(
    nodes: Any,
    lo: int,
    up_lo: Any,
    up_hi: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
) -> None:
    """`_m2o_sweep` over the given ranks (descending) down to lo."""
    for v in nodes:
        if v < lo:
            break
        if flag[v] != 0:
            _m2o_node(v, up_lo, up_hi, up_head, up_t, up_l, flag, d, dl)


@njit(cache=True, nogil=True)
def _m2o_node(
    v: int, up_lo: Any, up_hi: Any, up_head: Any, up_t: Any, up_l: Any, flag: Any, d: Any, dl: Any
) -> None:
    """One node of the sweep: its time is the least of its own way down to the target
    (flag 2) and its kept upward arcs (heads done already); its length follows the arc
    chosen."""
    f = flag[v]
    flag[v] = 0
    best = d[v] if f == 2 else np.float32(np.inf)
    arc = -1
    for a in range(up_lo[v], up_hi[v]):
        ct = up_t[a] + d[up_head[a]]
        if ct < best:
            best = ct
            arc = a
    d[v] = best
    if arc >= 0:
        dl[v] = up_l[arc] + dl[up_head[arc]]
    elif f != 2:
        dl[v] = np.float32(np.inf)


@njit(cache=True, nogil=True)
def _many_to_one(
    n: int,
    parent: Any,
    up_lo: Any,
    up_hi: Any,
    up_head: Any,
    up_t: Any,
    up_l: Any,
    dn_ptr: Any,
    dn_head: Any,
    dn_t: Any,
    dn_l: Any,
    pins: Any,
    seed_r: Any,
    seed_t: Any,
    seed_l: Any,
    out_t: Any,
    out_l: Any,
    flag: Any,
    d: Any,
    dl: Any,
    bt: Any,
    bl: Any,
    pred: Any,
    mark: Any,
    stamp: int,
    nodes: Any,
    box: Any,
    first: Any,
    t_ptr: Any,
    t_head: Any,
    t_time: Any,
    t_len: Any,
) -> None:
    """Drive time and length from every pin (rank) to the target given by its seeds
    (node, time, length still to drive); inf when unreachable. `flag` must be all zero
    (it is left so); the other work arrays (nodes: n entries) need no initialisation;
    `stamp` is new. box .. t_len: the metric's rank tables (`Hierarchy.tables`), empty
    when not in use.

    One sweep from the top down over the union of the pins' elimination-tree ancestors
    (RPHAST), above the boxes for the pins the tables answer; see `_m2o_prepare`,
    `_m2o_sweep` and `_m2o_lookup`.
    """
    lo = _m2o_prepare(
        n, parent, dn_ptr, dn_head, dn_t, dn_l, pins, seed_r, seed_t, seed_l, flag, d, dl, bt,
        bl, pred, mark, stamp, box, first,
    )  # fmt: skip
    # want 0 sweeps every flagged rank and never reads `side` (flag stands in for it).
    _m2o_sweep(n - 1, lo, flag, 0, up_lo, up_hi, up_head, up_t, up_l, flag, d, dl, nodes)
    _m2o_lookup(
        pins, flag, 0, box, seed_r, t_ptr, t_head, t_time, t_len, d, dl, out_t, out_l, False
    )


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


@njit(cache=True)
def _split(parent: Any, share: float) -> tuple[Any, int, int, int, int]:
    """Two independent parts of the elimination tree for a sweep on two threads.

    Walks down from the root into the largest child subtree until a node has two child
    subtrees each holding at least `share` of its descendants. Returns (side, lo_a, hi_a,
    lo_b, hi_b): side[v] is 1 or 2 for the nodes of those two subtrees (the rank range of
    each given) and 0 for everything else (the "top": the walk, its small side branches
    and the node's smaller children), which has to be swept first. side is empty when the
    tree has no such node."""
    n = len(parent)
    nchild = np.zeros(n, np.int64)
    mn = np.arange(n)
    size = np.ones(n, np.int64)
    roots = 0
    for v in range(n):
        p = parent[v]
        if p < 0:
            roots += 1
            continue
        nchild[p] += 1
        mn[p] = min(mn[p], mn[v])
        size[p] += size[v]
    empty = np.zeros(0, np.uint8)
    if roots != 1 or n < 3:
        return empty, 0, 0, 0, 0
    first = np.full(n, -1, np.int64)  # largest and second-largest child per node
    second = np.full(n, -1, np.int64)
    for v in range(n):
        p = parent[v]
        if p < 0:
            continue
        if first[p] < 0 or size[v] > size[first[p]]:
            second[p] = first[p]
            first[p] = v
        elif second[p] < 0 or size[v] > size[second[p]]:
            second[p] = v
    x = n - 1
    while first[x] >= 0:
        below = size[x] - 1
        if second[x] >= 0 and size[second[x]] >= share * below:
            break
        x = first[x]
    if second[x] < 0:
        return empty, 0, 0, 0, 0
    a, b = first[x], second[x]
    side = np.zeros(n, np.uint8)
    # A node belongs to a or b when its walk up reaches a or b first; ranks ascend upward,
    # so one pass from the top down labels every node from its parent.
    side[a] = 1
    side[b] = 2
    for v in range(n - 1, -1, -1):
        p = parent[v]
        if p >= 0 and side[v] == 0 and v != a and v != b:
            side[v] = side[p]
    return side, mn[a], a, mn[b], b


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


@njit(cache=True, nogil=True)
def _grow(a: Any, size: int) -> Any:
    """`a`, or a copy twice as large when it is shorter than `size`."""
    if size <= len(a):
        return a
    b = np.empty(max(size, 2 * len(a)), a.dtype)
    b[: len(a)] = a
    return b


@njit(cache=True, nogil=True)
def _row(ptr: Any, a: int) -> int:
    """The row (tail) of CSR position a."""
    lo_i, hi_i = 0, len(ptr) - 1
    while hi_i - lo_i > 1:
        mid = (lo_i + hi_i) // 2
        if ptr[mid] <= a:
            lo_i = mid
        else:
            hi_i = mid
    return lo_i


# --- Python side ----------------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """Kept arcs of one direction of one metric, as CSR over ranks."""

    ptr: I64
    head: I32
    time: F32
    length: F32


def topology(n: int, ru: I32, rv: I32) -> tuple[I32, I64, I32]:
    """(parent, ptr, head) of the chordal supergraph over n ranks of the edges given by
    their ends' ranks."""
    ru, rv = ru.astype(np.int64), rv.astype(np.int64)
    keep = ru != rv
    pair = np.unique(np.minimum(ru, rv)[keep] * n + np.maximum(ru, rv)[keep])
    ptr, head = _symbolic(n, (pair // n).astype(np.int32), (pair % n).astype(np.int32))
    has = np.diff(ptr) > 0
    parent = np.full(n, -1, dtype=np.int32)
    parent[has] = head[ptr[:-1][has]]
    return parent, ptr, head


def ranks(order: I32) -> I32:
    """Rank of each node under the order (node at each rank)."""
    rank = np.empty(len(order), dtype=np.int32)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    return rank


def build(
    order: I32, edge_u: I32, edge_v: I32, travel_times: list[F64], length: F64
) -> dict[str, Any]:
    """Topology and the customisation of each travel-time metric (urgent, non-urgent),
    as the arrays `Hierarchy` takes (without `order`)."""
    n = len(order)
    rank = ranks(order)
    ru, rv = rank[edge_u], rank[edge_v]
    parent, ptr, head = topology(n, ru, rv)
    le = np.ascontiguousarray(length, dtype=np.float32)
    tail = np.repeat(np.arange(n, dtype=np.int32), np.diff(ptr))
    how = np.empty((2 * len(travel_times), len(head)), np.int32)
    kept_ptr = np.zeros((2 * len(travel_times), n + 1), np.int64)
    pieces: list[list[Any]] = [[], [], []]
    base = 0
    for i, tt in enumerate(travel_times):
        t_up, l_up, t_dn, l_dn, k_up, k_dn = _customise(
            n, ptr, head, ru, rv, np.ascontiguousarray(tt, dtype=np.float64), le, how[2 * i],
            how[2 * i + 1],
        )  # fmt: skip
        for j, (keep, t, ln) in enumerate(((k_up, t_up, l_up), (k_dn, t_dn, l_dn))):
            arcs = np.flatnonzero(keep)
            np.cumsum(np.bincount(tail[arcs], minlength=n), out=kept_ptr[2 * i + j, 1:])
            kept_ptr[2 * i + j] += base
            base += len(arcs)
            pieces[0].append(head[arcs])
            pieces[1].append(t[arcs].astype(np.float32))
            pieces[2].append(ln[arcs].astype(np.float32))
        del t_up, l_up, t_dn, l_dn
    return {
        "parent": parent,
        "ptr": ptr,
        "head": head,
        "how": how,
        "kept_ptr": kept_ptr,
        "kept_head": np.concatenate(pieces[0]),
        "kept_time": np.concatenate(pieces[1]),
        "kept_len": np.concatenate(pieces[2]),
    }


@dataclass(frozen=True)
class Hierarchy:
    """A customised hierarchy over ranks; metrics by index (0 urgent, 1 non-urgent)."""

    order: I32
    parent: I32
    ptr: I64
    head: I32
    how: I32  # (4, arcs): urgent up, urgent down, non-urgent up, non-urgent down
    kept_ptr: I64  # (4, n + 1), absolute positions in the kept arrays
    kept_head: I32
    kept_time: F32
    kept_len: F32
    rank: I32 = field(init=False)
    views: tuple[Kept, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", ranks(self.order))
        views = []
        for k in range(self.kept_ptr.shape[0]):
            p = self.kept_ptr[k]
            lo, hi = int(p[0]), int(p[-1])
            views.append(
                Kept(
                    p - lo,
                    self.kept_head[lo:hi],
                    self.kept_time[lo:hi],
                    self.kept_len[lo:hi],
                )
            )
        object.__setattr__(self, "views", tuple(views))

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.parent)

    def kept(self, metric: int, down: bool) -> Kept:
        """Kept arcs of a metric: up (x -> y in row x) or down (y -> x in row x)."""
        return self.views[2 * metric + int(down)]

    def search_down(
        self, metric: int, seeds: tuple[I32, F64, F64], pins: int = TOP_SWEEP_MIN_PINS
    ) -> Started | None:
        """Start the part of `many_to_one` that needs only the target on the helper
        thread, so the caller can snap its sources meanwhile; pass the result to
        `many_to_one(..., started=)` for the same metric and seeds, or `cancel()` it,
        before anything else runs on this thread's scratch. `pins`: how many the rank
        will have (about; two per unit).

        That part is the search down from the target; with the rank tables and at least
        TOP_SWEEP_MIN_PINS pins, also the sweep of the whole top (`_m2o_serve_tables`),
        which needs no pins. The helper then stays, spinning, for its share of the rest
        (`_m2o_serve`, `_m2o_serve_tables`). None on graphs too small to split (there a
        hand-off costs more than it saves)."""
        split = self.split()
        if split is None:
            return None
        arrays = self.sweep_arrays(metric)
        box, _first, table, arcs = _parts(arrays)
        dn = self.kept(metric, True)
        side, _top, _a, (_lo_b, hi_b) = split
        s = scratch(self.n)
        s.stamp += 1
        whole_top = len(box) > 0 and pins >= TOP_SWEEP_MIN_PINS
        started = Started(arrays, np.zeros(16, np.int64), Future(), whole_top, seeds)
        search = (
            started.ctl, s.chain,
            (self.parent, dn.ptr, dn.head, dn.time, dn.length, *seeds, s.bt, s.bl, s.pred,
             s.mark, s.stamp),
        )  # fmt: skip
        reads = (s.pins, box, *table, s.out_t, s.out_l)
        job: tuple[Any, ...]
        if whole_top:
            job = (*search, *self._top_sides(box), side, *arcs, s.flag, s.d, s.dl, *reads)
            _helper().put((_m2o_serve_tables, (*job, s.nodes_a, SPIN_LIMIT), started.pending))
        else:
            job = (*search, hi_b, side, *arcs, s.flag, s.d, s.dl, s.nodes_b, *reads)
            _helper().put((_m2o_serve, (*job, SPIN_LIMIT), started.pending))
        return started

    def _top_sides(self, box: I32) -> tuple[I32, I32, I32]:
        """The top nodes (box -1) of each side of the split (0, 1, 2), in decreasing rank."""
        side = self.split()[0]  # type: ignore[index]
        got = self.__dict__.get("_tops")
        if got is None or got[0] is not box or got[1] is not side:
            a, b, c = (
                np.flatnonzero((box < 0) & (side == w))[::-1].astype(np.int32) for w in (0, 1, 2)
            )
            tops = (a, b, c)
            got = (box, side, tops)
            object.__setattr__(self, "_tops", got)
        return got[2]  # type: ignore[no-any-return]

    def many_to_one(
        self,
        metric: int,
        pins: I32,
        seeds: tuple[I32, F64, F64],
        started: Started | None = None,
    ) -> tuple[F64, F64]:
        """(time, length) from each pin (rank) to the target seeds (rank, time, length);
        `started`: what `search_down` returned for the same metric and seeds.

        On graphs of SPLIT_MIN_NODES or more, the sweep below the top chain runs as two
        independent halves (`_split`), one of them on the helper thread (numba releases
        the GIL), so a second core cuts the wall time; that thread also runs the search
        down from the target (`search_down`, started here if the caller did not)."""
        split = self.split()
        if split is not None and started is None:
            started = self.search_down(metric, seeds, len(pins))
        s = scratch(self.n)
        seed_r = seeds[0]
        if started is not None and split is not None:
            # The arrays the helper was given, even if a background build finished since.
            if started.whole_top:
                return self._m2o_tables(pins, seed_r, started, s)
            box, first = started.arrays[:2]
            started.wait(_STATE, _SEARCHED)
            chain = s.chain[: started.ctl[_CHAIN]]
            lo = _m2o_flags(
                self.n, self.parent, chain, pins, s.flag, s.d, s.dl, s.bt, s.bl, box, first,
                seed_r,
            )  # fmt: skip
            return self._m2o_split(split, lo, pins, seed_r, started, s)
        if started is not None:  # the split went since (never in service; tests change it)
            started.cancel()
        box, first, tables, arcs = _parts(self.sweep_arrays(metric))
        dn = self.kept(metric, True)
        s.stamp += 1
        out_t = np.empty(len(pins))
        out_l = np.empty(len(pins))
        _many_to_one(
            self.n, self.parent, *arcs, dn.ptr, dn.head, dn.time, dn.length, pins, *seeds,
            out_t, out_l, s.flag, s.d, s.dl, s.bt, s.bl, s.pred, s.mark, s.stamp, s.nodes_a,
            box, first, *tables,
        )  # fmt: skip
        return out_t, out_l

    def _m2o_split(
        self,
        split: Any,
        lo: int,
        pins: I32,
        seed_r: I32,
        started: Started,
        s: Scratch,
    ) -> tuple[F64, F64]:
        """The sweep and the table lookups of `many_to_one` in two halves, after its flags
        are set: the top chain, then side 1 on this thread while the helper, posted its
        bounds and the pins, sweeps side 2 (both halves here if the helper has gone or the
        pins do not fit its buffer)."""
        side, top, (lo_a, hi_a), (lo_b, hi_b) = split
        box, _first, table, up = _parts(started.arrays)
        arcs = (*up, s.flag, s.d, s.dl)
        _m2o_sweep_list(top, lo, *arcs)
        started.ctl[_LO] = max(lo_b, lo)
        pins, out_t, out_l, posted = started.post(pins, s, _STATE, _SEARCHED, _POSTED)
        reads = (pins, box, seed_r, *table, out_t, out_l)
        try:
            _m2o_half(hi_a, max(lo_a, lo), side, 1, *arcs, s.nodes_a, *reads)
        finally:
            if posted:
                started.wait(_STATE, _DONE)
        if not posted:
            _m2o_half(hi_b, max(lo_b, lo), side, 2, *arcs, s.nodes_b, *reads)
        return out_t.copy(), out_l.copy()

    def _m2o_tables(self, pins: I32, seed_r: I32, started: Started, s: Scratch) -> tuple[F64, F64]:
        """`many_to_one` with the rank tables, the helper sweeping the whole top
        (`_m2o_serve_tables`): post the pins, sweep side 1 of the top if the helper has
        not claimed it (else look up side 2's pins until it has swept it), look up the
        pins not on side 2 while the helper looks up those on side 2, then the incident's
        box (`_m2o_box_part`) unless the helper, done first, has claimed it, then what is
        left of the helper's side; each thread, done with its own, takes what is left of
        the other's (`_m2o_lookup_shared`), and this one all of it if the helper has gone
        or the pins do not fit its buffer."""
        box, _first, table, up = _parts(started.arrays)
        side = self.split()[0]  # type: ignore[index]
        ctl = started.ctl
        arcs = (*up, s.flag, s.d, s.dl)
        pins, out_t, out_l, posted = started.post(pins, s, _PINS, 0, 1)
        reads = (box, seed_r, *table, s.d, s.dl)

        def box_part() -> None:
            chain = s.chain[: ctl[_CHAIN]]
            _m2o_box_part(chain, pins, box, seed_r, self.parent, s.nodes_a, *arcs, out_t, out_l)
            ctl[_BOX] = 1

        try:
            started.wait(_TOP0)
            if _flip(ctl, _TOP1_BY, 0, 1):
                top1 = self._top_sides(box)[1]
                _m2o_sweep_nodes(top1, len(top1), *arcs)
                ctl[_TOP1] = 1
            else:  # the helper sweeps it, side 2 done: look up the pins there meanwhile
                started.wait(_TOP2)
                _m2o_lookup_shared(ctl, _NEXT2, pins, side, 2, reads, out_t, out_l)
                started.wait(_TOP1)
            _m2o_lookup_shared(ctl, _NEXT1, pins, side, 1, reads, out_t, out_l)
            started.wait(_TOP2)
            if _flip(ctl, _BOX_BY, 0, 1):
                box_part()
            _m2o_lookup_shared(ctl, _NEXT2, pins, side, 2, reads, out_t, out_l)
        finally:
            if posted:
                started.wait(_LOOKED)
        return out_t.copy(), out_l.copy()

    def tables(self, metric: int, wait: bool = True) -> tuple[Any, ...]:
        """(box, first, ptr, head, time, length): the metric's rank tables (`_boxes`,
        `_tables`), on graphs of more than TABLE_SUBTREE and at most TABLE_MAX_NODES
        nodes, followed by the upward arcs with the top's first (`_top_first`); empty
        arrays (six) on others, where the sweep alone answers every pin.

        Built on first use, in this process (0.4 s per metric on the 100k grid): now, or
        with `wait` False on a background thread, empty arrays being returned until they
        are ready, so a fresh process's first ranks do not wait for them (waiting while
        that build runs joins it).

        With them a rank sweeps the hierarchy only above subtrees of TABLE_SUBTREE nodes
        and reads one row per pin for the way up to there (each unit's own ancestors below
        are otherwise swept one by one, more than half of the arcs a rank of 500 reads)."""
        cache = self.__dict__.setdefault("_tables", {})
        got = cache.get(metric)
        if got is not None:
            return got  # type: ignore[no-any-return]
        if not TABLE_SUBTREE < self.n <= TABLE_MAX_NODES:
            cache[metric] = _NO_TABLES
            return _NO_TABLES
        # One background build per metric and process (a forked child builds its own);
        # waiting on a metric whose build is under way joins it rather than building twice.
        with _tables_lock:
            building = cache.get(("building", metric))
            mine = building is not None and building[0] == os.getpid()
            if not wait and not mine:
                thread = threading.Thread(
                    target=self.tables, args=(metric,), name="rank-tables", daemon=True
                )
                cache[("building", metric)] = (os.getpid(), thread)
                thread.start()
        if not wait:
            return _NO_TABLES
        if mine and building[1] is not threading.current_thread():
            building[1].join()
            got = cache.get(metric)
            if got is not None:
                return got  # type: ignore[no-any-return]
        boxes = cache.get("boxes")
        if boxes is None:
            boxes = cache["boxes"] = _boxes(self.parent, TABLE_SUBTREE)
        up = self.kept(metric, False)
        arcs = (up.ptr, up.head, up.time, up.length)
        got = (*boxes, *_tables(boxes[0], *arcs), *_top_first(boxes[0], *arcs))
        cache[metric] = got
        return got

    def sweep_arrays(self, metric: int, wait: bool = False) -> tuple[Any, ...]:
        """What a rank reads besides its scratch: the rank tables (`tables`: box, first,
        ptr, head, time, length; empty when not in use) and the upward arcs it sweeps (lo,
        hi, head, time, length: `_top_first` with the tables, else the kept CSR)."""
        got = self.tables(metric, wait=wait)
        if len(got) > len(_NO_TABLES):
            return got
        up = self.kept(metric, False)
        return (*got, up.ptr[:-1], up.ptr[1:], up.head, up.time, up.length)

    def split(self) -> tuple[Any, I32, tuple[int, int], tuple[int, int]] | None:
        """`_split` of the elimination tree (side, top ranks descending, rank range of each
        half), on graphs of SPLIT_MIN_NODES or more."""
        cached = self.__dict__.get("_split", False)
        if cached is False:
            cached = None
            if self.n >= SPLIT_MIN_NODES:
                side, lo_a, hi_a, lo_b, hi_b = _split(self.parent, SPLIT_SHARE)
                if len(side):
                    top = np.flatnonzero(side == 0)[::-1].astype(np.int32)
                    cached = (side, top, (int(lo_a), int(hi_a)), (int(lo_b), int(hi_b)))
            object.__setattr__(self, "_split", cached)
        return cached  # type: ignore[no-any-return]

    def path(
        self, metric: int, src: tuple[I32, F64, F64], dst: tuple[I32, F64, F64]
    ) -> tuple[float, int, int, I64]:
        """Fastest path between seed sets (rank, time, length): (time, first rank, last
        rank, original edge ids); time inf when there is none."""
        up, dn = self.kept(metric, False), self.kept(metric, True)
        s = scratch(self.n)
        s.stamp += 1
        t, first, last, edges = _route(
            self.parent,
            self.ptr,
            self.head,
            self.how[2 * metric],
            self.how[2 * metric + 1],
            up.ptr,
            up.head,
            up.time,
            up.length,
            dn.ptr,
            dn.head,
            dn.time,
            dn.length,
            *src,
            *dst,
            s.ft,
            s.fl,
            s.fp,
            s.bt,
            s.bl,
            s.pred,
            s.mark,
            s.mark2,
            s.stamp,
        )
        return float(t), int(first), int(last), edges


# Below this many nodes a sweep takes well under a millisecond and the hand-off to the
# helper thread (tens of microseconds) would eat what the second core gives; on the 100k
# grid the split saved about a fifth of rank 500 (measured interleaved, same queries).
SPLIT_MIN_NODES = 50_000
# The smaller of the two halves must hold at least this share of the nodes below the split.
SPLIT_SHARE = 0.3

# Rank tables (`Hierarchy.tables`) below subtrees of this many nodes, on graphs of up to
# TABLE_MAX_NODES. On the 100k grid: 1,919 top nodes, 68 entries a node, 79 MB per metric,
# 0.4 s to build; a rank of 500 then sweeps 124,000 arcs and reads 68,000 table entries
# instead of sweeping 340,000 arcs. Memory grows with the node count (about 0.8 KB a node
# and metric), so larger graphs go without.
TABLE_SUBTREE = 3000
TABLE_MAX_NODES = 250_000
_NO_TABLES = (
    np.empty(0, np.int32),
    np.empty(0, np.int32),
    np.zeros(1, np.int64),
    np.empty(0, np.int32),
    np.empty(0, np.float32),
    np.empty(0, np.float32),
)
_tables_lock = threading.Lock()


Arrays4 = tuple[Any, Any, Any, Any]
Arrays5 = tuple[Any, Any, Any, Any, Any]


def _parts(arrays: tuple[Any, ...]) -> tuple[Any, Any, Arrays4, Arrays5]:
    """`Hierarchy.sweep_arrays` as (box, first, the table's four arrays, the arcs' five)."""
    box, first, t_ptr, t_head, t_time, t_len, lo, hi, head, time, length = arrays
    return box, first, (t_ptr, t_head, t_time, t_len), (lo, hi, head, time, length)


@dataclass
class Started:
    """A rank whose search down runs on the helper thread (`Hierarchy.search_down`)."""

    arrays: tuple[Any, ...]  # what the whole rank reads (`Hierarchy.sweep_arrays`)
    ctl: I64  # shared with the helper (`_m2o_serve` or `_m2o_serve_tables`)
    pending: Future[None]  # done when the helper has returned
    whole_top: bool  # the helper sweeps the whole top (`_m2o_serve_tables`)
    seeds: tuple[I32, F64, F64]  # the target's, as given to `search_down`

    def wait(self, slot: int, value: int = 1) -> None:
        """Wait until ctl[slot] is at least value: spinning, then (should the helper be
        slower than SPIN_LIMIT) until the helper has returned, by when it is."""
        if not _spin_until(self.ctl, slot, value, SPIN_LIMIT):
            self.pending.result()

    def post(
        self, pins: I32, s: Scratch, slot: int, idle: int, posted: int
    ) -> tuple[I32, F64, F64, bool]:
        """Hand the helper the pins (copied into s.pins, their number into ctl) by moving
        ctl[slot] from idle to posted. Returns the pins and the answer arrays both threads
        write (s's buffers, or new arrays when the pins do not fit them) and whether the
        helper took its share; if not (it has gone, or the pins did not fit), it is told
        to leave and the caller does that share itself."""
        k = len(pins)
        if k <= len(s.pins):
            s.pins[:k] = pins
            self.ctl[_K] = k
            if _flip(self.ctl, slot, idle, posted):
                return s.pins[:k], s.out_t[:k], s.out_l[:k], True
        self.ctl[_CANCEL] = 1  # the helper leaves without touching the pins or answers
        return pins, np.empty(k), np.empty(k), False

    def cancel(self) -> None:
        """No half is coming (the rank failed, or had no sources): let the helper go and
        wait until it has, as it writes this thread's scratch until then."""
        self.ctl[_CANCEL] = 1
        self.pending.result()


_jobs: queue.SimpleQueue[Any] | None = None
_jobs_lock = threading.Lock()


def _helper() -> queue.SimpleQueue[Any]:
    """The queue of the helper thread that runs the second half of split sweeps."""
    global _jobs
    with _jobs_lock:
        if _jobs is None:
            _jobs = queue.SimpleQueue()
            threading.Thread(target=_helper_loop, args=(_jobs,), name="sweep", daemon=True).start()
        return _jobs


def _helper_loop(jobs: queue.SimpleQueue[Any]) -> None:
    while True:
        fn, args, pending = jobs.get()
        try:
            pending.set_result(fn(*args))
        except BaseException as exc:  # handed to the waiting caller
            pending.set_exception(exc)
        del fn, args, pending


def _forget_helper() -> None:
    """In a forked child: the parent's helper thread is not there, start a new one."""
    global _jobs, _jobs_lock
    _jobs = None
    _jobs_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_helper)

# Pins a rank can hand to the helper (two per unit: ranks of up to 4,096 units); larger
# ranks sweep both halves on the calling thread.
PINS_CAP = 8192


class Scratch:
    """Per-thread work arrays of one graph size (queries never allocate per node)."""

    def __init__(self, n: int) -> None:
        self.stamp = 0
        self.flag = np.zeros(n, dtype=np.uint8)
        self.d = np.empty(n, dtype=np.float32)
        self.dl = np.empty(n, dtype=np.float32)
        self.mark = np.zeros(n, dtype=np.int64)
        self.mark2 = np.zeros(n, dtype=np.int64)
        self.bt = np.empty(n)
        self.bl = np.empty(n)
        self.pred = np.empty(n, dtype=np.int64)
        self.ft = np.empty(n)
        self.fl = np.empty(n)
        self.fp = np.empty(n, dtype=np.int64)
        # The flagged ranks of a many-to-one sweep, one list per half (the second for the
        # helper thread's half).
        self.nodes_a = np.empty(n, dtype=np.int32)
        self.nodes_b = np.empty(n, dtype=np.int32)
        # What the helper hands back and is handed in a split rank (`_m2o_serve`): the
        # target's chain, then the pins and both halves' answers.
        self.chain = np.empty(n, dtype=np.int32)
        self.pins = np.empty(PINS_CAP, dtype=np.int32)
        self.out_t = np.empty(PINS_CAP)
        self.out_l = np.empty(PINS_CAP)


_local = threading.local()


def scratch(n: int) -> Scratch:
    """This thread's scratch for graphs of n nodes."""
    cur: Scratch | None = getattr(_local, "s", None)
    if cur is None or len(cur.flag) != n:
        cur = Scratch(n)
        _local.s = cur
    return cur
