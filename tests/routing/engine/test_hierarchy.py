"""The customised hierarchy against plain Dijkstra on random small graphs full of ties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from routing.engine import hierarchy


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 24))
    m = draw(st.integers(1, 3 * n))
    u = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int32)
    v = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int32)
    # Small integer weights: many equal-time routes, the hard case for pruning.
    t = np.array(draw(st.lists(st.integers(1, 3), min_size=m, max_size=m)), dtype=np.float64)
    ln = np.array(draw(st.lists(st.integers(1, 4), min_size=m, max_size=m)), dtype=np.float64)
    order = np.array(draw(st.permutations(range(n))), dtype=np.int32)
    return n, u, v, t, ln, order  # type: ignore[return-value]


def _lengths_on_fastest(n: int, u, v, t, ln, target: int, dist) -> list[set[float]]:  # type: ignore[no-untyped-def]
    """Every length a fastest route from each node to the target can have."""
    out: list[set[float]] = [set() for _ in range(n)]
    out[target].add(0.0)
    for x in sorted(range(n), key=lambda i: dist[i]):
        if not math.isfinite(dist[x]) or x == target:
            continue
        for e in range(len(u)):
            if u[e] == x and u[e] != v[e] and dist[x] == t[e] + dist[v[e]]:
                out[x] |= {ln[e] + rest for rest in out[v[e]]}
    return out


@settings(max_examples=300, deadline=None)
@given(graphs(), st.data())
def test_many_to_one_and_path_equal_dijkstra(g, data) -> None:  # type: ignore[no-untyped-def]
    n, u, v, t, ln, order = g
    parts = hierarchy.build(order, u, v, [t, t * 2], ln)
    h = hierarchy.Hierarchy(order=order, **parts)
    target = data.draw(st.integers(0, n - 1))
    keep = u != v
    mat = sp.csr_matrix((t[keep], (v[keep], u[keep])), shape=(n, n))
    # csr sums parallel edges; keep the minimum instead
    best: dict[tuple[int, int], float] = {}
    for a, b, w in zip(u[keep], v[keep], t[keep], strict=True):
        best[(b, a)] = min(best.get((b, a), math.inf), w)
    rows, cols = zip(*best, strict=True) if best else ((), ())
    mat = sp.csr_matrix((list(best.values()), (rows, cols)), shape=(n, n))
    dist = dijkstra(mat, indices=target)
    pins = h.rank[np.arange(n)]
    seeds = (h.rank[[target]], np.zeros(1), np.zeros(1))
    got_t, got_l = h.many_to_one(0, pins, seeds)
    lengths = _lengths_on_fastest(n, u, v, t, ln, target, dist)
    for x in range(n):
        if math.isfinite(dist[x]):
            assert got_t[x] == dist[x]
            assert got_l[x] in lengths[x]
        else:
            assert math.isinf(got_t[x])
    # The second metric (every time doubled) is independent of the first.
    got_t2, _ = h.many_to_one(1, pins, seeds)
    assert np.array_equal(got_t2, np.where(np.isfinite(dist), 2 * dist, np.inf))
    source = data.draw(st.integers(0, n - 1))
    total, first, last, edges = h.path(0, (h.rank[[source]], np.zeros(1), np.zeros(1)), seeds)
    if not math.isfinite(dist[source]):
        assert math.isinf(total)
        return
    assert total == dist[source]
    assert int(h.order[first]) == source
    assert int(h.order[last]) == target
    if len(edges):
        assert u[edges[0]] == source
        assert v[edges[-1]] == target
        assert np.array_equal(v[edges[:-1]], u[edges[1:]])
    else:
        assert source == target
    assert t[edges].sum() == dist[source]


def test_seeds_carry_partial_edges() -> None:
    # 0 -> 1 -> 2 and a slow 0 -> 2; the target sits 4 s before node 2's side.
    u = np.array([0, 1, 0], np.int32)
    v = np.array([1, 2, 2], np.int32)
    t = np.array([5.0, 5.0, 30.0])
    ln = np.array([50.0, 50.0, 300.0])
    order = np.array([1, 0, 2], np.int32)
    h = hierarchy.Hierarchy(order=order, **hierarchy.build(order, u, v, [t, t], ln))
    seeds = (h.rank[[1, 2]], np.array([7.0, 1.0]), np.array([70.0, 10.0]))
    got_t, got_l = h.many_to_one(0, h.rank[[0, 1, 2]], seeds)
    assert got_t.tolist() == [11.0, 6.0, 1.0]
    assert got_l.tolist() == [110.0, 60.0, 10.0]


def test_split_sweep_equals_the_single_sweep(helsinki, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Large graphs run the sweep below the top chain as two halves on two threads.
    g = helsinki
    h = g.hierarchy()
    rng = np.random.default_rng(3)
    pins = h.rank[g.edge_v[rng.integers(0, g.n_edges, 300)]]
    seeds = (h.rank[[int(g.edge_u[7])]], np.array([1.5]), np.array([12.0]))
    whole = h.many_to_one(0, pins, seeds)
    monkeypatch.setattr(hierarchy, "SPLIT_MIN_NODES", 0)
    split_h = hierarchy.Hierarchy(
        order=h.order, parent=h.parent, ptr=h.ptr, head=h.head, how=h.how,
        kept_ptr=h.kept_ptr, kept_head=h.kept_head, kept_time=h.kept_time, kept_len=h.kept_len,
    )  # fmt: skip
    split = split_h.split()
    assert split is not None
    side, top, _, _ = split
    assert (side == 1).any()
    assert (side == 2).any()
    assert len(top) == (side == 0).sum()
    halves = split_h.many_to_one(0, pins, seeds)
    assert np.array_equal(whole[0], halves[0])
    assert np.array_equal(whole[1], halves[1])
    assert not hierarchy.scratch(h.n).flag.any()


def test_a_saved_graph_loads_memory_mapped_with_its_hierarchy(
    helsinki, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from routing.engine import CompiledGraph, graph, rank
    from routing.engine.snap import snap

    monkeypatch.setattr(graph, "MMAP_MIN_BYTES", 1024)  # Helsinki's arrays are small
    path = tmp_path / "g.npz"
    helsinki.save(path)
    loaded = CompiledGraph.load(path)
    # Big arrays come straight from the file, read-only; the hierarchy is not rebuilt.
    assert isinstance(loaded.ch_kept_time.base, np.memmap)
    assert not loaded.ch_kept_time.flags.writeable
    assert np.array_equal(loaded.ch_how, helsinki.ch_how)
    # So is the snap grid, and snapping on it gives the same answers.
    assert isinstance(loaded.grid_seg.base, np.memmap)
    assert np.array_equal(loaded.grid_indptr, helsinki.grid_indptr)
    for i in range(0, 160, 9):
        lat, lon = float(helsinki.node_lat[i]) + 1e-4, float(helsinki.node_lon[i]) - 1e-4
        assert snap(loaded, lat, lon) == snap(helsinki, lat, lon)
    a = snap(helsinki, float(helsinki.node_lat[3]), float(helsinki.node_lon[3]))
    units = [
        snap(helsinki, float(helsinki.node_lat[i]), float(helsinki.node_lon[i]))
        for i in range(0, 160, 7)
    ]
    assert rank(loaded, a, units) == rank(helsinki, a, units)


def test_a_compressed_cache_file_is_refused(helsinki, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from routing.engine import CompiledGraph

    path = tmp_path / "g.npz"
    np.savez_compressed(path, format_version=np.asarray(5))
    with pytest.raises(ValueError, match="compressed"):
        CompiledGraph.load(path)


def test_rank_with_the_search_down_started_early_equals_plain_rank(helsinki, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # On graphs that split, RoadNetwork.rank starts the target's search down on the helper
    # thread while it snaps the units; the answer must not change, and a unit that fails
    # to snap must leave the scratch clean for the next query.
    from routing.engine import RoadNetwork, SnapError
    from routing.engine.queries import rank_positions
    from routing.engine.snap import snap_positions

    g = helsinki
    h = g.hierarchy()
    net = RoadNetwork(g)
    rng = np.random.default_rng(11)
    e = rng.integers(0, g.n_edges, 201)
    pts = [(float(g.node_lat[g.edge_u[i]]), float(g.node_lon[g.edge_u[i]])) for i in e]
    monkeypatch.setattr(hierarchy, "SPLIT_MIN_NODES", 0)
    h.__dict__.pop("_split", None)
    try:
        assert h.split() is not None
        for mode in ("urgent", "non_urgent"):
            target = net.snap(*pts[0])
            edge, frac = snap_positions(g, pts[1:])
            plain = rank_positions(g, target, edge, frac, mode)
            assert net.rank(pts[0], pts[1:], mode) == plain
            with pytest.raises(SnapError):
                net.rank(pts[0], [*pts[1:50], (0.0, 0.0)], mode)
            assert not hierarchy.scratch(h.n).flag.any()
            assert net.rank(pts[0], pts[1:], mode) == plain
    finally:
        h.__dict__.pop("_split", None)


def _split_copy(h: hierarchy.Hierarchy, monkeypatch) -> hierarchy.Hierarchy:  # type: ignore[no-untyped-def]
    """The same hierarchy, split for two threads however small it is."""
    monkeypatch.setattr(hierarchy, "SPLIT_MIN_NODES", 0)
    copy = _copy(h)
    assert copy.split() is not None
    return copy


def test_a_split_rank_sweeps_both_halves_itself_when_the_helper_cannot_take_one(
    andorra, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The helper waits, spinning, for its half only so long; a rank that comes later, or
    # has more pins than the helper's buffer holds, sweeps both halves on its own thread.
    g = andorra
    plain = g.hierarchy()
    rng = np.random.default_rng(21)
    seeds = (plain.rank[g.edge_u[[5, 9]]], np.array([2.0, 4.0]), np.array([20.0, 40.0]))
    pins = plain.rank[g.edge_v[rng.integers(0, g.n_edges, 300)]]
    want = plain.many_to_one(0, pins, seeds)
    h = _split_copy(plain, monkeypatch)
    assert np.array_equal(h.many_to_one(0, pins, seeds)[0], want[0])
    monkeypatch.setattr(hierarchy, "SPIN_LIMIT", 0)
    started = h.search_down(0, seeds)
    assert started is not None
    started.pending.result()  # the helper has searched and gone without waiting
    assert started.ctl[hierarchy._STATE] == hierarchy._GONE
    late = h.many_to_one(0, pins, seeds, started=started)
    monkeypatch.undo()
    h = _split_copy(plain, monkeypatch)
    many = plain.rank[g.edge_v[rng.integers(0, g.n_edges, hierarchy.PINS_CAP + 100)]]
    started = h.search_down(0, seeds)
    assert started is not None
    big = h.many_to_one(0, many, seeds, started=started)
    started.pending.result()
    assert started.ctl[hierarchy._STATE] == hierarchy._GONE  # told to go, half not posted
    for got, expected in ((late, want), (big, plain.many_to_one(0, many, seeds))):
        assert np.array_equal(got[0], expected[0])
        assert np.array_equal(got[1], expected[1])
    assert not hierarchy.scratch(h.n).flag.any()


def test_a_forked_child_ranks_with_a_helper_of_its_own(andorra, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A Celery prefork worker is a fork: the parent's helper thread does not exist there,
    # so the child must start its own rather than wait forever on the parent's queue.
    import os
    import signal

    g = andorra
    h = _split_copy(g.hierarchy(), monkeypatch)
    rng = np.random.default_rng(4)
    pins = h.rank[g.edge_v[rng.integers(0, g.n_edges, 200)]]
    seeds = (h.rank[g.edge_u[[3]]], np.array([1.0]), np.array([10.0]))
    want = h.many_to_one(0, pins, seeds)  # the parent's helper thread is running now
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 2
        try:
            signal.alarm(60)
            got = h.many_to_one(0, pins, seeds)
            code = 0 if np.array_equal(got[0], want[0]) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def _copy(h: hierarchy.Hierarchy) -> hierarchy.Hierarchy:
    """The same hierarchy, without anything built on use (split, tables)."""
    return hierarchy.Hierarchy(
        order=h.order, parent=h.parent, ptr=h.ptr, head=h.head, how=h.how,
        kept_ptr=h.kept_ptr, kept_head=h.kept_head, kept_time=h.kept_time, kept_len=h.kept_len,
    )  # fmt: skip


def _draw(g, h: hierarchy.Hierarchy, rng, k: int):  # type: ignore[no-untyped-def]
    """k pins at random edges' heads and a target of two seeds with partial edges."""
    pins = h.rank[g.edge_v[rng.integers(0, g.n_edges, k)]]
    seeds = (
        h.rank[g.edge_u[rng.integers(0, g.n_edges, 2)]],
        rng.uniform(0.0, 20.0, 2),
        rng.uniform(0.0, 200.0, 2),
    )
    return pins, seeds


def _with_tables(h: hierarchy.Hierarchy, subtree: int) -> hierarchy.Hierarchy:
    """The same hierarchy, its rank tables built below subtrees of `subtree` nodes (the
    real graphs of the tests are smaller than TABLE_SUBTREE, so they would have none)."""
    copy = _copy(h)
    old = hierarchy.TABLE_SUBTREE
    hierarchy.TABLE_SUBTREE = subtree
    try:
        for metric in (0, 1):
            copy.tables(metric)
    finally:
        hierarchy.TABLE_SUBTREE = old
    return copy


@settings(max_examples=300, deadline=None)
@given(graphs(), st.data())
def test_rank_tables_give_dijkstras_times_and_fastest_lengths(g, data) -> None:  # type: ignore[no-untyped-def]
    n, u, v, t, ln, order = g
    h = _with_tables(
        hierarchy.Hierarchy(order=order, **hierarchy.build(order, u, v, [t, t * 2], ln)),
        data.draw(st.integers(0, n), label="subtree"),
    )
    target = data.draw(st.integers(0, n - 1), label="target")
    best: dict[tuple[int, int], float] = {}
    for a, b, w in zip(u, v, t, strict=True):
        if a != b:
            best[(b, a)] = min(best.get((b, a), math.inf), w)
    rows, cols = zip(*best, strict=True) if best else ((), ())
    dist = dijkstra(
        sp.csr_matrix((list(best.values()), (rows, cols)), shape=(n, n)), indices=target
    )
    # Every node as a pin, then some again.
    nodes = data.draw(st.lists(st.integers(0, n - 1), max_size=2 * n), label="extra pins")
    every = np.array([*range(n), *nodes])
    pins = h.rank[every]
    seeds = (h.rank[[target]], np.zeros(1), np.zeros(1))
    lengths = _lengths_on_fastest(n, u, v, t, ln, target, dist)
    for metric, factor in ((0, 1), (1, 2)):
        got_t, got_l = h.many_to_one(metric, pins, seeds)
        for i, x in enumerate(every.tolist()):
            if math.isfinite(dist[x]):
                assert got_t[i] == factor * dist[x]
                if metric == 0:
                    assert got_l[i] in lengths[x]
            else:
                assert math.isinf(got_t[i])
        assert not hierarchy.scratch(h.n).flag.any()


def test_rank_tables_on_a_real_map_split_or_not_started_early_or_not(andorra, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Andorra with tables below subtrees of 100 nodes: every path of many_to_one (one
    # sweep; two halves on two threads; the search down started on the helper first)
    # gives the same answers, and they equal the sweep without tables.
    g = andorra
    h = g.hierarchy()
    tabled = _with_tables(h, 100)
    box = tabled.tables(0)[0]
    assert (box < 0).sum() > 10
    assert len(np.unique(box[box >= 0])) > 10
    rng = np.random.default_rng(5)
    for _ in range(20):
        pins, seeds = _draw(g, h, rng, 500)
        for metric in (0, 1):
            plain_t, plain_l = h.many_to_one(metric, pins, seeds)
            one_t, one_l = tabled.many_to_one(metric, pins, seeds)
            assert np.array_equal(np.isfinite(plain_t), np.isfinite(one_t))
            assert np.allclose(one_t, plain_t, rtol=1e-6, atol=1e-4)
            # Equally fast routes may differ in length; the rank's distance is one of them.
            assert np.mean(np.isclose(one_l, plain_l, rtol=1e-5, atol=0.01)) > 0.98
            monkeypatch.setattr(hierarchy, "SPLIT_MIN_NODES", 0)
            tabled.__dict__.pop("_split", None)
            assert tabled.split() is not None
            halves = tabled.many_to_one(metric, pins, seeds)
            early = tabled.many_to_one(
                metric, pins, seeds, started=tabled.search_down(metric, seeds)
            )
            monkeypatch.undo()
            tabled.__dict__.pop("_split", None)
            for got in (halves, early):
                assert np.array_equal(got[0], one_t)
                assert np.array_equal(got[1], one_l)
            assert not hierarchy.scratch(h.n).flag.any()


def test_with_tables_the_sweep_reads_each_rows_arcs_from_a_copy_with_the_top_first(andorra) -> None:  # type: ignore[no-untyped-def]
    h = _with_tables(andorra.hierarchy(), 100)
    for metric in (0, 1):
        box, _first, _ptr, _head, _time, _len, lo, hi, head, time, length = h.sweep_arrays(metric)
        up = h.kept(metric, False)
        for v in range(h.n):
            a, b = int(up.ptr[v]), int(up.ptr[v + 1])
            assert hi[v] - lo[v] == b - a
            assert np.array_equal(head[lo[v] : hi[v]], up.head[a:b])
            assert np.array_equal(time[lo[v] : hi[v]], up.time[a:b])
            assert np.array_equal(length[lo[v] : hi[v]], up.length[a:b])
        # The top's rows first, in decreasing rank: what a sweep reads, one after another.
        top = np.flatnonzero(box < 0)[::-1]
        assert np.array_equal(lo[top], np.concatenate([[0], np.cumsum(hi[top] - lo[top])[:-1]]))
    # Without tables the sweep reads the CSR itself.
    plain = andorra.hierarchy().sweep_arrays(0)
    assert len(plain[0]) == 0
    assert np.shares_memory(plain[8], andorra.hierarchy().kept(0, False).head)


def test_with_tables_the_helper_sweeps_the_top_while_the_units_are_snapped(
    andorra, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # With the rank tables and enough pins, the helper sweeps the whole top from the
    # target alone; side 1 goes to whichever thread claims it first, so does the
    # incident's box, and the table lookups are shared. Every way it can go gives the
    # one-thread answer.
    import time

    g = andorra
    tabled = _with_tables(g.hierarchy(), 100)
    monkeypatch.setattr(hierarchy, "SPLIT_MIN_NODES", 0)
    split = _with_tables(g.hierarchy(), 100)
    assert split.split() is not None
    rng = np.random.default_rng(9)
    for _ in range(10):
        pins, seeds = _draw(g, tabled, rng, 400)
        for metric in (0, 1):
            want = tabled.many_to_one(metric, pins, seeds)  # one thread (no split)
            got = []
            for pause in (0.0, 0.05):  # the helper is still searching / has claimed side 1
                started = split.search_down(metric, seeds, len(pins))
                assert started is not None
                assert started.whole_top
                time.sleep(pause)
                got.append(split.many_to_one(metric, pins, seeds, started=started))
                if pause:
                    assert started.ctl[hierarchy._TOP1_BY] == 2
            few = pins[: hierarchy.TOP_SWEEP_MIN_PINS - 1]
            started = split.search_down(metric, seeds, len(few))
            assert started is not None
            assert not started.whole_top  # a few pins sweep only their ancestors
            few_got = split.many_to_one(metric, few, seeds, started=started)
            for t, ln in got:
                assert np.array_equal(t, want[0])
                assert np.array_equal(ln, want[1])
            assert np.array_equal(few_got[0], want[0][: len(few)])
            assert not hierarchy.scratch(g.hierarchy().n).flag.any()
    # The incident's box and the side-1 lookups: the helper takes both when this thread
    # is late with its lookups (slowed here; the helper runs the compiled code).
    real_lookup = hierarchy._m2o_lookup_shared
    left = []

    def slow_lookup(ctl, slot, pins, *args):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        left.append(len(pins) - ctl[slot])
        real_lookup(ctl, slot, pins, *args)

    pins, seeds = _draw(g, tabled, rng, 400)
    want = tabled.many_to_one(0, pins, seeds)
    started = split.search_down(0, seeds, len(pins))
    assert started is not None
    monkeypatch.setattr(hierarchy, "_m2o_lookup_shared", slow_lookup)
    got_t, got_l = split.many_to_one(0, pins, seeds, started=started)
    monkeypatch.setattr(hierarchy, "_m2o_lookup_shared", real_lookup)
    assert started.ctl[hierarchy._BOX_BY] == 2
    assert started.ctl[hierarchy._BOX] == 1
    assert left[0] <= 0  # every slice of side 1 taken before this thread came
    assert np.array_equal(got_t, want[0])
    assert np.array_equal(got_l, want[1])
    assert not hierarchy.scratch(g.hierarchy().n).flag.any()
    # The helper gone before the pins come, and more pins than its buffer holds: this
    # thread looks them all up.
    pins = tabled.rank[g.edge_v[rng.integers(0, g.n_edges, hierarchy.PINS_CAP + 50)]]
    want = tabled.many_to_one(0, pins, seeds)
    monkeypatch.setattr(hierarchy, "SPIN_LIMIT", 0)
    started = split.search_down(0, seeds, 400)
    assert started is not None
    started.pending.result()
    assert started.ctl[hierarchy._PINS] == hierarchy._GONE
    late = split.many_to_one(0, pins[:400], seeds, started=started)
    assert np.array_equal(late[0], want[0][:400])
    monkeypatch.setattr(hierarchy, "SPIN_LIMIT", 1_000_000)
    big = split.many_to_one(0, pins, seeds)
    assert np.array_equal(big[0], want[0])
    assert np.array_equal(big[1], want[1])
    assert not hierarchy.scratch(g.hierarchy().n).flag.any()


def test_ranks_from_several_threads_at_once_share_the_helper(andorra, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A server ranks from several request threads at once; they queue for the one helper
    # (each with its own scratch) and every rank still gives its one-thread answer, with
    # the tables (whole top, shared lookups) and without them (flagged halves).
    from concurrent.futures import ThreadPoolExecutor

    g = andorra
    # One thread (Andorra is below SPLIT_MIN_NODES, so split() caches None), then split.
    one = {False: _copy(g.hierarchy()), True: _with_tables(g.hierarchy(), 100)}
    for h in one.values():
        assert h.split() is None
    monkeypatch.setattr(hierarchy, "SPLIT_MIN_NODES", 0)
    two = {False: _copy(g.hierarchy()), True: _with_tables(g.hierarchy(), 100)}
    rng = np.random.default_rng(12)
    jobs = []
    for i in range(24):
        tables = bool(i % 2)
        pins, seeds = _draw(g, one[tables], rng, int(rng.choice([30, 400])))
        metric = i % 3 % 2
        want = one[tables].many_to_one(metric, pins, seeds)
        jobs.append((two[tables], metric, pins, seeds, want))
    assert two[False].split() is not None
    assert two[True].split() is not None

    def run(job):  # type: ignore[no-untyped-def]
        h, metric, pins, seeds, want = job
        for _ in range(3):
            got = h.many_to_one(metric, pins, seeds)
            assert np.array_equal(got[0], want[0])
            assert np.array_equal(got[1], want[1])
            assert not hierarchy.scratch(h.n).flag.any()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(run, jobs))


def test_rank_tables_are_built_in_the_background_on_first_use(andorra, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A rank does not wait for the tables: it sweeps without them while a background
    # thread builds them, and later ranks use them.
    import threading
    import time

    g = andorra
    plain = g.hierarchy()
    fresh = _copy(plain)
    monkeypatch.setattr(hierarchy, "TABLE_SUBTREE", 100)
    rng = np.random.default_rng(8)
    pins = plain.rank[g.edge_v[rng.integers(0, g.n_edges, 500)]]
    seeds = (plain.rank[g.edge_u[[17]]], np.array([3.0]), np.array([30.0]))
    built = []
    real = hierarchy._tables

    def counted(*args):  # type: ignore[no-untyped-def]
        built.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(hierarchy, "_tables", counted)
    first = fresh.many_to_one(0, pins, seeds)
    # Waiting for them (as RoadNetwork.warm does) joins the build under way: one build.
    waited = _copy(plain)
    waited.many_to_one(0, pins, seeds)
    assert waited.tables(0) is waited.tables(0, wait=False)
    deadline = time.monotonic() + 60
    while not len(fresh.tables(0, wait=False)[0]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert built == ["rank-tables", "rank-tables"]
    box = fresh.tables(0, wait=False)[0]
    assert len(box) == fresh.n
    assert (box < 0).any()
    later = fresh.many_to_one(0, pins, seeds)
    assert np.allclose(later[0], first[0], rtol=1e-6, atol=1e-4)
    assert np.allclose(later[0], plain.many_to_one(0, pins, seeds)[0], rtol=1e-6, atol=1e-4)
    # Graphs outside the size range have none, and never start a build.
    monkeypatch.setattr(hierarchy, "TABLE_MAX_NODES", 10)
    small = _copy(plain)
    assert all(len(a) == 0 for a in small.tables(0, wait=False)[:2])
    assert ("building", 0) not in small.__dict__["_tables"]
