"""Errors raised by the routing engine; messages are safe to show to a dispatcher."""

from __future__ import annotations


class RoutingError(Exception):
    """Base class for every routing-engine error; `field` names the offending input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class MapSourceError(RoutingError):
    """The map source cannot be read or holds no drivable roads."""


class SnapError(RoutingError):
    """A coordinate cannot be placed on the road network."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        distance_m: float | None = None,
        limit_m: float | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.distance_m = distance_m
        self.limit_m = limit_m


class UnreachableError(RoutingError):
    """No drivable path exists between the two points."""
