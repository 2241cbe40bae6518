"""networkx reference answers on the same compiled graph, for tests and benchmarks."""

from __future__ import annotations

import itertools

import networkx as nx

from .graph import CompiledGraph
from .profile import Mode
from .snap import Snap


def to_networkx(g: CompiledGraph, mode: Mode = "urgent") -> nx.DiGraph:
    """DiGraph of the compiled edges; parallel edges keep the fastest."""
    tt = g.travel_time(mode)
    dg = nx.DiGraph()
    dg.add_nodes_from(range(g.n_nodes))
    for e in range(g.n_edges):
        u, v, w = int(g.edge_u[e]), int(g.edge_v[e]), float(tt[e])
        if not dg.has_edge(u, v) or dg[u][v]["weight"] > w:
            dg.add_edge(u, v, weight=w, edge=e)
    return dg


def with_snaps(g: CompiledGraph, dg: nx.DiGraph, snaps: dict[str, Snap], mode: Mode) -> nx.DiGraph:
    """Copy of `dg` with each snap inserted as a node splitting its edge (and twin)."""
    tt = g.travel_time(mode)
    h = dg.copy()
    by_edge: dict[int, list[tuple[float, str]]] = {}
    for name, s in snaps.items():
        for e, f in s.positions(g):
            by_edge.setdefault(e, []).append((f, name))
    for e, points in by_edge.items():
        u, v, w = int(g.edge_u[e]), int(g.edge_v[e]), float(tt[e])
        chain = [(0.0, u), *sorted(points), (1.0, v)]
        for (f0, a), (f1, b) in itertools.pairwise(chain):
            cost = (f1 - f0) * w
            if not h.has_edge(a, b) or h[a][b]["weight"] > cost:
                h.add_edge(a, b, weight=cost)
    return h


def reference_eta(
    g: CompiledGraph, dg: nx.DiGraph, a: Snap, b: Snap, mode: Mode = "urgent"
) -> float | None:
    """Shortest travel time from a to b by networkx Dijkstra, or None if unreachable."""
    h = with_snaps(g, dg, {"a": a, "b": b}, mode)
    try:
        return float(nx.dijkstra_path_length(h, "a", "b", weight="weight"))
    except nx.NetworkXNoPath:
        return None
