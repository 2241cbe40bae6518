"""Read OSM sources into an osmnx-style graph, add travel times, and compile/cache it."""

from __future__ import annotations

import hashlib
import json
import logging
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .errors import MapSourceError
from .graph import FORMAT_VERSION, CompiledGraph, compile_arrays, largest_scc
from .profile import SpeedProfile

log = logging.getLogger(__name__)

# The osmnx "drive" filter's exclusions; graph_from_xml keeps every highway way.
_NOT_DRIVABLE = frozenset(
    {
        "abandoned",
        "bridleway",
        "bus_guideway",
        "busway",
        "construction",
        "corridor",
        "cycleway",
        "elevator",
        "escalator",
        "footway",
        "no",
        "path",
        "pedestrian",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "steps",
        "track",
    }
)


@dataclass(frozen=True)
class BuildReport:
    """What a build kept and dropped, and what it cost."""

    source: str
    source_sha256: str
    nodes_kept: int
    nodes_dropped: int
    edges_kept: int
    edges_dropped: int
    build_seconds: float
    peak_rss_mb: float
    from_cache: bool = False


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _first(value: Any) -> str:
    # osmnx keeps a list when a simplified edge merged ways with different tags.
    if isinstance(value, list):
        value = value[0] if value else ""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def read_source(source: Path) -> nx.MultiDiGraph:
    """Read a .osm.pbf, .osm or .graphml file into an osmnx-compatible MultiDiGraph."""
    import osmnx as ox

    name = source.name.lower()
    if not source.is_file():
        raise MapSourceError(f"Map file {source} does not exist.", field="source")
    if source.stat().st_size == 0:
        raise MapSourceError(f"Map file {source.name} is empty.", field="source")
    try:
        if name.endswith(".pbf"):
            import pyrosm

            osm = pyrosm.OSM(str(source))
            network = osm.get_network(nodes=True, network_type="driving")
            if network is None or network[1] is None or len(network[1]) == 0:
                raise MapSourceError(f"{source.name} holds no drivable roads.", field="source")
            nodes, edges = network
            graph = osm.to_graph(nodes, edges, graph_type="networkx", osmnx_compatible=True)
        elif name.endswith(".osm") or name.endswith(".xml"):
            graph = ox.graph_from_xml(source, retain_all=True)
        elif name.endswith(".graphml"):
            graph = ox.load_graphml(source)
        else:
            raise MapSourceError(
                f"Unsupported map format {source.suffix!r}; use .osm.pbf, .osm or .graphml.",
                field="source",
            )
    except MapSourceError:
        raise
    except Exception as exc:
        raise MapSourceError(
            f"Could not read map file {source.name}: {type(exc).__name__}.", field="source"
        ) from exc
    if not isinstance(graph, nx.MultiDiGraph):
        raise MapSourceError(f"{source.name} did not produce a road graph.", field="source")
    return graph


def graph_from_place(query: str) -> nx.MultiDiGraph:
    """Download a drivable graph for a place name via osmnx (needs network access)."""
    import osmnx as ox

    try:
        graph = ox.graph_from_place(query, network_type="drive")
    except Exception as exc:
        raise MapSourceError(
            f"Could not fetch the map for {query!r} (offline or unknown place): "
            f"{type(exc).__name__}.",
            field="place",
        ) from exc
    return graph


def prepare_graph(graph: nx.MultiDiGraph, profile: SpeedProfile) -> nx.MultiDiGraph:
    """Drop non-drivable edges and add osmnx speed_kph/travel_time where missing."""
    import osmnx as ox

    drop = [
        (u, v, k)
        for u, v, k, hw in graph.edges(keys=True, data="highway")
        if _first(hw) in _NOT_DRIVABLE
    ]
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n, deg in graph.degree() if deg == 0])
    if graph.number_of_edges() == 0:
        raise MapSourceError("The map holds no drivable roads.", field="source")
    needs = any("travel_time" not in d for _, _, d in graph.edges(data=True))
    if needs:
        if any("length" not in d for _, _, d in graph.edges(data=True)):
            graph = ox.distance.add_edge_lengths(graph)
        graph = ox.routing.add_edge_speeds(graph, fallback=profile.fallback_kph)
        graph = ox.routing.add_edge_travel_times(graph)
    return graph


def compile_graph(
    graph: nx.MultiDiGraph,
    profile: SpeedProfile,
    *,
    meta: dict[str, Any] | None = None,
    compute_order: bool = True,
    keep_largest_scc: bool = True,
) -> tuple[CompiledGraph, dict[str, int]]:
    """Compile a prepared graph (x, y, length, travel_time per edge) after the SCC cut."""
    if graph.number_of_nodes() == 0 or graph.number_of_edges() == 0:
        raise MapSourceError("The map holds no drivable roads.", field="source")
    osmids = list(graph.nodes)
    index = {nid: i for i, nid in enumerate(osmids)}
    lat = np.array([float(graph.nodes[n]["y"]) for n in osmids])
    lon = np.array([float(graph.nodes[n]["x"]) for n in osmids])
    edges = list(graph.edges(keys=True, data=True))
    u = np.array([index[a] for a, _, _, _ in edges], dtype=np.int32)
    v = np.array([index[b] for _, b, _, _ in edges], dtype=np.int32)
    keep_node = largest_scc(len(osmids), u, v) if keep_largest_scc else np.ones(len(osmids), bool)
    keep_edge = keep_node[u] & keep_node[v]
    remap = np.cumsum(keep_node) - 1
    counts: list[int] = []
    glon: list[float] = []
    glat: list[float] = []
    highway: list[str] = []
    names: list[str] = []
    length = []
    tt = []
    for (a, b, _, d), kept in zip(edges, keep_edge, strict=True):
        if not kept:
            continue
        geom = d.get("geometry")
        if geom is not None:
            xs, ys = geom.xy
            glon.extend(xs)
            glat.extend(ys)
            counts.append(len(xs))
        else:
            glon.extend((lon[index[a]], lon[index[b]]))
            glat.extend((lat[index[a]], lat[index[b]]))
            counts.append(2)
        highway.append(_first(d.get("highway")))
        names.append(_first(d.get("name")) or _first(d.get("ref")))
        length.append(float(d["length"]))
        tt.append(float(d["travel_time"]))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    osmid_arr = np.array(
        [int(n) if isinstance(n, (int, np.integer)) else i for i, n in enumerate(osmids)],
        dtype=np.int64,
    )
    compiled = compile_arrays(
        node_lat=lat[keep_node],
        node_lon=lon[keep_node],
        node_osmid=osmid_arr[keep_node],
        edge_u=remap[u[keep_edge]].astype(np.int32),
        edge_v=remap[v[keep_edge]].astype(np.int32),
        length_m=np.array(length),
        base_tt=np.array(tt),
        highway=highway,
        names=names,
        geom_offsets=offsets,
        geom_lon=np.array(glon),
        geom_lat=np.array(glat),
        profile=profile,
        meta=meta,
        compute_order=compute_order,
    )
    stats = {
        "nodes_kept": int(keep_node.sum()),
        "nodes_dropped": int((~keep_node).sum()),
        "edges_kept": int(keep_edge.sum()),
        "edges_dropped": int((~keep_edge).sum()),
    }
    return compiled, stats


def build_graph(
    source: str | Path, profile: SpeedProfile | None = None
) -> tuple[CompiledGraph, BuildReport]:
    """Read, prepare and compile a map file."""
    profile = profile or SpeedProfile()
    path = Path(source)
    t0 = time.perf_counter()
    raw = read_source(path)
    digest = file_sha256(path)
    graph = prepare_graph(raw, profile)
    meta = {"source": str(path), "source_sha256": digest, "profile": profile.cache_key()}
    compiled, stats = compile_graph(graph, profile, meta=meta)
    report = BuildReport(
        source=str(path),
        source_sha256=digest,
        build_seconds=time.perf_counter() - t0,
        peak_rss_mb=peak_rss_mb(),
        nodes_kept=stats["nodes_kept"],
        nodes_dropped=stats["nodes_dropped"],
        edges_kept=stats["edges_kept"],
        edges_dropped=stats["edges_dropped"],
    )
    compiled.meta_json = json.dumps({**meta, "report": asdict(report)})
    return compiled, report


def cache_path(source: Path, profile: SpeedProfile, cache_dir: Path) -> Path:
    """Cache file name: hash of source bytes, profile parameters and format version."""
    h = hashlib.sha256()
    h.update(file_sha256(source).encode())
    h.update(profile.cache_key().encode())
    h.update(str(FORMAT_VERSION).encode())
    return cache_dir / f"{source.name.split('.')[0]}-{h.hexdigest()[:24]}.npz"


def load_or_build(
    source: str | Path, profile: SpeedProfile | None = None, cache_dir: str | Path = ".cache"
) -> tuple[CompiledGraph, BuildReport]:
    """Load the compiled graph from the cache, or build and cache it."""
    profile = profile or SpeedProfile()
    path = Path(source)
    if not path.is_file():
        raise MapSourceError(f"Map file {path} does not exist.", field="source")
    cdir = Path(cache_dir)
    target = cache_path(path, profile, cdir)
    if target.is_file():
        t0 = time.perf_counter()
        try:
            g = CompiledGraph.load(target)
        except Exception as exc:
            # A half-written or foreign file must never take the service down; rebuild.
            log.warning("routing cache %s unreadable (%s); rebuilding", target, exc)
        else:
            stored = g.meta.get("report", {})
            report = BuildReport(
                source=str(path),
                source_sha256=str(g.meta.get("source_sha256", "")),
                nodes_kept=int(stored.get("nodes_kept", g.n_nodes)),
                nodes_dropped=int(stored.get("nodes_dropped", 0)),
                edges_kept=int(stored.get("edges_kept", g.n_edges)),
                edges_dropped=int(stored.get("edges_dropped", 0)),
                build_seconds=time.perf_counter() - t0,
                peak_rss_mb=peak_rss_mb(),
                from_cache=True,
            )
            return g, report
    built, report = build_graph(path, profile)
    cdir.mkdir(parents=True, exist_ok=True)
    built.save(target)
    # Serve from the file, memory-mapped like after a restart (same arrays, same compiled
    # kernels, and the build's own copies are freed).
    del built
    return CompiledGraph.load(target), report
