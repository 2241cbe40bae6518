"""Handoff group names."""

from __future__ import annotations


def ed_group(hospital_id: int) -> str:
    """The group every ED board screen of one hospital follows."""
    return f"handoff.ed.{hospital_id}"
