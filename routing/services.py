"""The road network in service (filled in with the engine)."""

from __future__ import annotations

from typing import Any


def network_status() -> dict[str, Any]:
    raise RuntimeError("no road graph is loaded")
