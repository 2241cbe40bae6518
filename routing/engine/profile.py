"""Speed profiles: how fast each road class is driven under lights-and-sirens or not."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

Mode = Literal["urgent", "non_urgent"]
MODES: tuple[Mode, ...] = ("urgent", "non_urgent")

# Emergency vehicles gain most on arterials where traffic can pull over; on residential
# streets and service roads parked cars and pedestrians cap the gain.
_DEFAULT_URGENT: dict[str, float] = {
    "motorway": 1.2,
    "motorway_link": 1.15,
    "trunk": 1.25,
    "trunk_link": 1.15,
    "primary": 1.3,
    "primary_link": 1.2,
    "secondary": 1.3,
    "secondary_link": 1.2,
    "tertiary": 1.25,
    "tertiary_link": 1.15,
    "unclassified": 1.15,
    "residential": 1.1,
    "living_street": 1.0,
    "service": 1.0,
}


@dataclass(frozen=True)
class SpeedProfile:
    """Multipliers on osmnx free-flow speed per highway class, for each driving mode."""

    urgent_factors: dict[str, float] = field(default_factory=lambda: dict(_DEFAULT_URGENT))
    urgent_default: float = 1.1
    non_urgent_factors: dict[str, float] = field(default_factory=dict)
    non_urgent_default: float = 1.0
    # Passed to osmnx.routing.add_edge_speeds for classes with no maxspeed anywhere.
    fallback_kph: float = 30.0
    name: str = "default"

    def factor(self, mode: Mode, highway: str) -> float:
        """Return the speed multiplier for a road class in a mode."""
        if mode == "urgent":
            return self.urgent_factors.get(highway, self.urgent_default)
        return self.non_urgent_factors.get(highway, self.non_urgent_default)

    def cache_key(self) -> str:
        """Return a stable text form of every parameter that changes compiled travel times."""
        return json.dumps(asdict(self), sort_keys=True)
