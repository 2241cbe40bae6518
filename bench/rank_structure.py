"""How many arcs a rank of 500 units must touch, under this engine's hierarchy with and
without its rank tables and under a classic contraction hierarchy, on the generated
~100k-node grid of bench/routing.py. No timings: the counts tell whether a structure is
worth building (docs/routing.md, "What closing the rank gap would take").

- the hierarchy alone (this engine on graphs without rank tables): the kept upward arcs of
  every elimination-tree ancestor of the pins (hierarchy.py), swept once per rank;
- the same hierarchy plus a table per node below a subtree size S (this engine on graphs
  of up to `hierarchy.TABLE_MAX_NODES` nodes, S = `hierarchy.TABLE_SUBTREE`): the node's
  times to the nodes above S its upward arcs reach first, so a rank sweeps the hierarchy
  above S and then reads one row per pin (memory: 12 bytes per entry and mode, as
  `hierarchy.Hierarchy.tables` stores them);
- a classic contraction hierarchy: greedy order by edge difference with witness searches
  (pure Python here, so the witness search stops after 60 settled nodes, which keeps some
  shortcuts a thorough search would drop; a few minutes on 100k nodes). Its rank has to find
  the pins' upward search spaces by a search over arcs (there is no elimination tree), so
  the union's arcs are read twice.

Run: .venv/bin/python bench/rank_structure.py [--nodes 100000] [--skip-ch]
"""

from __future__ import annotations

import argparse
import heapq
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.routing import synthetic
from routing.engine import CompiledGraph
from routing.engine.hierarchy import _chain

PIN_COUNTS = (1, 50, 500)
SUBTREE_SIZES = (1000, 3000)
WITNESS_SETTLED = 60


def _ancestors(parent: Any, ptr: Any, pins: Any, above: Any) -> tuple[int, int]:
    """(nodes, arcs) of the union of the pins' ancestors among the nodes flagged `above`
    (the union as the rank's flags walk it, `hierarchy._chain`)."""
    chain = _chain(parent, pins, np.zeros(len(parent), np.int64), 1)
    chain = chain[above[chain]]
    return len(chain), int((ptr[chain + 1] - ptr[chain]).sum())


@njit(cache=True)
def _subtree_sizes(parent: Any) -> Any:
    size = np.ones(len(parent), np.int64)
    for v in range(len(parent)):
        if parent[v] >= 0:
            size[parent[v]] += size[v]
    return size


@njit(cache=True)
def _first_hits(ptr: Any, head: Any, above: Any) -> Any:
    """Per node below: how many nodes above its upward arcs reach first (through nodes
    below only); 0 for nodes above."""
    n = len(ptr) - 1
    count = np.zeros(n, np.int64)
    seen = np.full(n, -1, np.int64)
    stack = np.empty(n, np.int64)
    for v in range(n):
        if above[v]:
            continue
        stack[0] = v
        k = 1
        seen[v] = v
        c = 0
        while k:
            k -= 1
            x = stack[k]
            for a in range(ptr[x], ptr[x + 1]):
                y = head[a]
                if seen[y] != v:
                    seen[y] = v
                    if above[y]:
                        c += 1
                    else:
                        stack[k] = y
                        k += 1
        count[v] = c
    return count


def _classic_ch(g: CompiledGraph) -> list[list[int]]:
    """Upward arcs per node of a classic CH of the urgent metric (see the module text)."""
    n = g.n_nodes
    out: list[dict[int, float]] = [{} for _ in range(n)]
    inn: list[dict[int, float]] = [{} for _ in range(n)]
    for u, v, w in zip(
        g.edge_u.tolist(), g.edge_v.tolist(), g.travel_time("urgent").tolist(), strict=True
    ):
        if u != v and w < out[u].get(v, np.inf):
            out[u][v] = w
            inn[v][u] = w
    done = bytearray(n)
    depth = [0] * n

    def witness(s: int, skip: int, targets: set[int], limit: float) -> dict[int, float]:
        dist = {s: 0.0}
        heap = [(0.0, s)]
        settled = 0
        left = len(targets)
        while heap:
            d, x = heapq.heappop(heap)
            if d > dist.get(x, np.inf):
                continue
            if d > limit or settled > WITNESS_SETTLED:
                break
            settled += 1
            if x in targets:
                left -= 1
                if left == 0:
                    break
            for y, w in out[x].items():
                if y != skip and not done[y] and d + w < dist.get(y, np.inf):
                    dist[y] = d + w
                    heapq.heappush(heap, (d + w, y))
        return dist

    def shortcuts(v: int) -> list[tuple[int, int, float]]:
        ins = [(u, w) for u, w in inn[v].items() if not done[u]]
        outs = [(x, w) for x, w in out[v].items() if not done[x]]
        if not ins or not outs:
            return []
        longest = max(w for _, w in outs)
        found = []
        for u, wu in ins:
            dist = witness(u, v, {x for x, _ in outs}, wu + longest)
            found += [(u, x, wu + wx) for x, wx in outs if x != u and dist.get(x, np.inf) > wu + wx]
        return found

    def priority(v: int) -> tuple[float, list[tuple[int, int, float]]]:
        sc = shortcuts(v)
        degree = sum(not done[u] for u in inn[v]) + sum(not done[x] for x in out[v])
        return len(sc) - degree + 0.5 * depth[v], sc

    heap = [(priority(v)[0], v) for v in range(n)]
    heapq.heapify(heap)
    rank = np.empty(n, np.int64)
    next_rank = 0
    while heap:
        _, v = heapq.heappop(heap)
        if done[v]:
            continue
        p, sc = priority(v)
        if heap and p > heap[0][0]:
            heapq.heappush(heap, (p, v))
            continue
        for u, x, w in sc:
            if w < out[u].get(x, np.inf):
                out[u][x] = w
                inn[x][u] = w
        done[v] = 1
        rank[v] = next_rank
        next_rank += 1
        for y in (*inn[v], *out[v]):
            if not done[y]:
                depth[y] = max(depth[y], depth[v] + 1)
    return [[x for x in out[u] if rank[x] > rank[u]] for u in range(n)]


def _union_up(up: list[list[int]], pins: list[int]) -> tuple[int, int]:
    seen = set(pins)
    stack = list(seen)
    arcs = 0
    while stack:
        x = stack.pop()
        arcs += len(up[x])
        for y in up[x]:
            if y not in seen:
                seen.add(y)
                stack.append(y)
    return len(seen), arcs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--skip-ch", action="store_true", help="leave out the classic CH")
    args = parser.parse_args()
    g = synthetic(args.nodes)[0]["graph"]
    h = g.hierarchy()
    up = h.kept(0, False)
    n = h.n
    rng = np.random.default_rng(1)
    draws = {k: [rng.integers(0, n, k).astype(np.int32) for _ in range(5)] for k in PIN_COUNTS}
    every = np.ones(n, np.bool_)

    def mean(pairs: list[tuple[int, int]]) -> str:
        nodes, arcs = np.mean(pairs, axis=0)
        return f"{nodes:,.0f} / {arcs:,.0f}"

    print(f"\n### {n:,} nodes, {g.n_edges:,} edges: nodes / arcs a rank reads (mean of 5)\n")
    print(
        "| structure | upward arcs stored | "
        + " | ".join(f"{k} pin{'s' if k > 1 else ''}" for k in PIN_COUNTS)
        + " |"
    )
    print("|---|---|" + "---|" * len(PIN_COUNTS))
    cells = [mean([_ancestors(h.parent, up.ptr, p, every) for p in draws[k]]) for k in PIN_COUNTS]
    print(
        f"| the hierarchy alone (CCH, kept arcs) | {len(up.head):,} | " + " | ".join(cells) + " |"
    )
    size = _subtree_sizes(h.parent)
    for s in SUBTREE_SIZES:
        above = size > s
        hits = _first_hits(up.ptr, up.head, above)
        per_pin = float(hits[~above].mean())
        cells = []
        for k in PIN_COUNTS:
            nodes, arcs = np.mean([_ancestors(h.parent, up.ptr, p, above) for p in draws[k]], 0)
            cells.append(f"{nodes:,.0f} / {arcs:,.0f} + {k * per_pin:,.0f} table entries")
        table_mb = hits.sum() * 12 / 1e6
        print(
            f"| CCH above subtree size {s:,} + a table per node below ({table_mb:,.0f} MB "
            f"per mode) | {len(up.head):,} | " + " | ".join(cells) + " |"
        )
    if not args.skip_ch:
        t0 = time.perf_counter()
        ch_up = _classic_ch(g)
        built = time.perf_counter() - t0
        cells = [mean([_union_up(ch_up, p.tolist()) for p in draws[k]]) for k in PIN_COUNTS]
        stored = sum(map(len, ch_up))
        print(
            f"| classic CH, witness search of {WITNESS_SETTLED} nodes ({built:.0f} s in "
            f"Python) | {stored:,} | " + " | ".join(cells) + " |"
        )


if __name__ == "__main__":
    main()
