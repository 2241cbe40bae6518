"""The index is cached on disk keyed by the extract's SHA-256 and reloads without pyrosm."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from routing.engine.geocode import forward
from routing.engine.geocode_index import (
    INDEX_VERSION,
    GeocodeIndex,
    file_sha256,
    load_index,
    load_or_build_index,
    save_index,
)


def test_second_load_comes_from_the_cache(
    helsinki: GeocodeIndex, helsinki_pbf: str, geocode_cache_dir: Path
) -> None:
    again = load_or_build_index(helsinki_pbf, geocode_cache_dir)
    assert again.meta["loaded_from_cache"] is True
    assert again.meta["counts"] == helsinki.meta["counts"]
    assert again.meta["build_seconds"] == helsinki.meta["build_seconds"]
    assert forward("Annankatu 25", again) == forward("Annankatu 25", helsinki)
    cache = geocode_cache_dir / f"geocode-{file_sha256(helsinki_pbf)[:20]}-v{INDEX_VERSION}.npz"
    assert cache.exists()


def test_corrupt_cache_is_rebuilt(helsinki_pbf: str, tmp_path: Path) -> None:
    cache = tmp_path / f"geocode-{file_sha256(helsinki_pbf)[:20]}-v{INDEX_VERSION}.npz"
    cache.write_bytes(b"not a zip file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index = load_or_build_index(helsinki_pbf, tmp_path)
    assert index.meta["loaded_from_cache"] is False
    assert load_index(cache).meta["sha256"] == file_sha256(helsinki_pbf)


def test_a_changed_file_gets_its_own_cache(helsinki_pbf: str, tmp_path: Path) -> None:
    copy = tmp_path / "extract.osm.pbf"
    shutil.copyfile(helsinki_pbf, copy)
    with copy.open("ab") as fh:
        fh.write(b"\0")
    assert file_sha256(copy) != file_sha256(helsinki_pbf)


def test_round_trip_keeps_every_array(toy: GeocodeIndex, tmp_path: Path) -> None:
    path = tmp_path / "toy.npz"
    save_index(toy, path)
    loaded = load_index(path)
    assert loaded.counts() == toy.counts()
    assert forward("Koekatu 3", loaded) == forward("Koekatu 3", toy)
    assert list(loaded.street_aliases) == list(toy.street_aliases)
