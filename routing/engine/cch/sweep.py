"""Query, many to one on one thread: the RPHAST sweep from the top down over the pins'
flagged ancestors (`_many_to_one`) and its parts, which the two-thread rank
(`threads.py`) runs in halves: flags (`_m2o_prepare`, `_m2o_flags`), the sweep
(`_m2o_sweep`, `_m2o_node`), the rank-table lookups (`_m2o_lookup`) and the incident's box
(`_m2o_box_part`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ..kernels import prefetch
from .route import _search

# How many flagged nodes ahead the sweep asks for the arcs it will read. The sweep waits on
# memory: below the top the flagged nodes lie far apart, and the hardware cannot guess the
# next one. On the 100k grid, 16 ahead with two cache lines of heads and times each swept
# ~28 % faster on one thread (10 % of it from listing the flagged nodes first).
PREFETCH_AHEAD = 16


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
