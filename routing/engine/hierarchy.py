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

Where each phase lives (this module is the entry point and the only one other code
imports; the compiled kernels are in `routing/engine/cch/`):

- shared, `cch/arcs.py`: arc lookup in the upward CSR (`_find`, `_row`), the (time,
  length) order paths are compared by (`_lt`, `_le`), `NONE`, the array types;
- build, `cch/build.py`: ranks, the chordal supergraph and its elimination tree
  (`topology`, `_symbolic`), and `build`, which customises each metric;
- customise, `cch/customise.py`: steps 1-3 above (`_customise`);
- query, point to point, `cch/route.py`: the elimination-tree search (`_chain`,
  `_search`) and the route of two searches that meet, unpacked (`_route`);
- query, many to one, `cch/sweep.py`: the RPHAST sweep on one thread (`_many_to_one`) and
  the parts the two-thread rank reuses (flags, sweep, table lookups, incident's box);
- rank tables, `cch/tables.py`: the boxes, each box node's ways up to the top, the top's
  arcs first (`_boxes`, `_tables`, `_top_first`);
- threads, `cch/threads.py`: the tree's two halves (`_split`), the helper thread's parts
  of a rank (`_m2o_serve`, `_m2o_serve_tables`), the control array both threads meet
  through, the helper thread, and each thread's `Scratch`;
- Python side, here: `Hierarchy` (what callers use: `many_to_one`, `search_down`, `path`,
  `tables`), `Started` (the rank's thread's side of the hand-off), and the tunables read
  at call time (`SPLIT_MIN_NODES`, `TABLE_SUBTREE`, `TABLE_MAX_NODES`, `SPIN_LIMIT`,
  `TOP_SWEEP_MIN_PINS`).

numba's on-disk cache (`cache=True`) checks only the source file of the kernel it loads,
not of the kernels it calls (numba issue #1833): after editing a kernel in one `cch/`
module, the cached callers in the others still hold the old code, so delete
`routing/engine/cch/__pycache__/*.nb[ic]` (or the `NUMBA_CACHE_DIR`) before measuring or
testing.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cch.arcs import F32, F64, I32, I64
from .cch.build import build, ranks, topology
from .cch.route import _chain, _route
from .cch.sweep import (
    _m2o_box_part,
    _m2o_flags,
    _m2o_half,
    _m2o_sweep_list,
    _m2o_sweep_nodes,
    _many_to_one,
)
from .cch.tables import _NO_TABLES, _boxes, _tables, _top_first
from .cch.threads import (
    _BOX,
    _BOX_BY,
    _CANCEL,
    _CHAIN,
    _DONE,
    _GONE,
    _K,
    _LO,
    _LOOKED,
    _NEXT1,
    _NEXT2,
    _PINS,
    _POSTED,
    _SEARCHED,
    _STATE,
    _TOP0,
    _TOP1,
    _TOP1_BY,
    _TOP2,
    PINS_CAP,
    Scratch,
    _flip,
    _helper,
    _m2o_lookup_shared,
    _m2o_serve,
    _m2o_serve_tables,
    _spin_until,
    _split,
    scratch,
)

# Names other modules, bench/ and the tests reach through this one.
__all__ = [
    "PINS_CAP",
    "SPIN_LIMIT",
    "SPLIT_MIN_NODES",
    "SPLIT_SHARE",
    "TABLE_MAX_NODES",
    "TABLE_SUBTREE",
    "TOP_SWEEP_MIN_PINS",
    "_GONE",
    "Hierarchy",
    "Kept",
    "Scratch",
    "Started",
    "_chain",
    "build",
    "ranks",
    "scratch",
    "topology",
]

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
# Iterations of a waiting loop before a thread stops spinning: with x86's PAUSE about 27
# ms on the 2-core VM, far longer than snapping 500 units takes (elsewhere it may be
# less; the fallbacks only cost the wait for a sleeping thread again).
SPIN_LIMIT = 1_000_000
# Fewer pins than this use the flagged sweep (`_m2o_serve`) instead: it sweeps only the
# pins' ancestors (one unit's reach a fifth of the top's arcs). On the 100k grid, against
# it, interleaved: 10 units (20 pins) 4 % slower with the whole top, 50 units 4 % faster.
TOP_SWEEP_MIN_PINS = 48
_tables_lock = threading.Lock()


@dataclass(frozen=True)
class Kept:
    """Kept arcs of one direction of one metric, as CSR over ranks."""

    ptr: I64
    head: I32
    time: F32
    length: F32


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
