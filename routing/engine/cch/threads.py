"""Threads: a rank on two cores. The elimination tree's two independent halves
(`_split`), the helper thread's parts of a rank (`_m2o_serve`, `_m2o_serve_tables`) and the
control array both threads meet through (slots, states, spinning waits and claims), the
helper thread itself, and each thread's scratch arrays (`Scratch`). The rank's thread's
side of it is `Hierarchy.search_down` and `many_to_one` in `hierarchy.py`."""

from __future__ import annotations

import os
import queue
import threading
from typing import Any

import numpy as np
from numba import njit

from ..kernels import atomic_cas, atomic_load, spin_pause
from .route import _search
from .sweep import _flag_chain, _m2o_box_part, _m2o_half, _m2o_lookup, _m2o_sweep_nodes


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


# The helper's half of a split rank (`_m2o_serve`) and the rank's thread meet through a
# small control array instead of a queue and a lock: waking a sleeping thread took 0.25 ms
# median (0.83 ms p90) on the 2-core VM, as much as the half it was to sweep.
_STATE, _CHAIN, _LO, _K, _CANCEL = 0, 1, 2, 3, 4
# States: searching, search done (the helper waits for its half), half posted, half
# done, helper gone (it waited too long or was told to go; its half, if any, is the
# caller's).
_SEARCHING, _SEARCHED, _POSTED, _DONE, _GONE = 0, 1, 2, 3, 4


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
