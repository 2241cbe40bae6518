"""Dispatch group names."""

from __future__ import annotations


def centre_group(centre_id: int) -> str:
    """The group every dispatcher screen of one centre follows."""
    return f"dispatch.center.{centre_id}"


def unit_group(unit_id: int) -> str:
    """The group a unit's crew tablets follow."""
    return f"dispatch.unit.{unit_id}"
