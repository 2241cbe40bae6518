"""Build: the node order's ranks, the chordal supergraph and its elimination tree
(`topology`), then each metric's customisation (`customise.py`) as the arrays `Hierarchy`
takes (`build`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from .arcs import F64, I32, I64
from .customise import _customise


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
