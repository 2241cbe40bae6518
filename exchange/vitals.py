"""The vitals sets of a received encounter document, back into handoff's vitals input.

The sender's document (handoff.interop.fhir.observations) has one Observation per vital
sign, coded by the LOINC codes of handoff.clinical.VITALS, grouped per set by its
effectiveDateTime (the vital-signs panel and the GCS share it). Each group becomes the
`data` of one `vitals_record` call, so the receiver re-validates the ranges and recomputes
NEWS2 itself rather than trusting the sender's score. No database here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from exchange.messages import Rejection
from handoff.clinical.vocabulary import QUALIFIERS, UNIT_ALIASES, VITALS, Kind

BY_LOINC: Final = {spec.loinc: spec for spec in VITALS.values()}
BLOOD_PRESSURE: Final = "85354-9"
PANEL: Final = "85353-1"
AVPU_SYSTEM: Final = "urn:golden-hour:avpu"
UNIT_OF: Final = {vital: unit_key for unit_key, vital in QUALIFIERS.items()}


@dataclass(frozen=True)
class ReceivedSet:
    """One vitals set: when, the sender's id of its first observation, and the data."""

    taken_at: str
    source_id: str
    data: dict[str, Any]


def _codes(resource: dict[str, Any]) -> list[str]:
    return [
        str(c.get("code"))
        for c in (resource.get("code") or {}).get("coding") or []
        if c.get("system") == "http://loinc.org"
    ]


def _value(spec: Any, node: dict[str, Any], where: str) -> tuple[Any, str | None]:
    """The value of a vital from an Observation (or component), and its unit if it has one."""
    if spec.kind == Kind.CODE:
        concept = node.get("valueCodeableConcept") or {}
        for coding in concept.get("coding") or []:
            if coding.get("system") == AVPU_SYSTEM:
                return coding.get("code"), None
        return concept.get("text"), None
    quantity = node.get("valueQuantity")
    if quantity is None and "dataAbsentReason" in node:
        return None, None  # not measured (a blood pressure without its diastolic)
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
        raise Rejection(400, "invalid_content", f"{where}.valueQuantity", "needs a number")
    value = quantity["value"]
    if spec.kind == Kind.INTEGER:
        if value != int(value):
            raise Rejection(400, "invalid_content", f"{where}.valueQuantity", "must be whole")
        value = int(value)
    unit = quantity.get("unit")
    return value, UNIT_ALIASES.get(unit, unit) if isinstance(unit, str) else None


def _put(data: dict[str, Any], spec: Any, node: dict[str, Any], where: str) -> None:
    value, unit = _value(spec, node, where)
    if value is None:
        return
    data[spec.key] = value
    if spec.key in UNIT_OF and unit:
        data[UNIT_OF[spec.key]] = unit


def received_sets(document: dict[str, Any]) -> list[ReceivedSet]:
    """The vitals sets of the document, oldest first (Rejection names a bad Observation)."""
    groups: dict[str, ReceivedSet] = {}
    for index, entry in enumerate(document.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
            continue
        codes = _codes(resource)
        when = resource.get("effectiveDateTime")
        if not codes or PANEL in codes or not isinstance(when, str):
            continue
        where = f"Bundle.entry[{index}].resource"
        spec = next((BY_LOINC[c] for c in codes if c in BY_LOINC), None)
        if spec is None and BLOOD_PRESSURE not in codes:
            continue  # NEWS2, the estimated age, an activation: not a vital sign
        group = groups.setdefault(when, ReceivedSet(when, str(resource.get("id", "")), {}))
        data = group.data
        if BLOOD_PRESSURE in codes or (spec is not None and spec.key == "gcs_total"):
            for c_index, component in enumerate(resource.get("component") or []):
                part = next((BY_LOINC[c] for c in _codes(component) if c in BY_LOINC), None)
                if part is not None:
                    _put(data, part, component, f"{where}.component[{c_index}]")
            continue
        if spec is None:
            continue
        if spec.key == "stroke_scale_score":
            components = resource.get("component") or []
            scale = (resource.get("method") or {}).get("text")
            if components and scale:
                _put(data, spec, components[0], f"{where}.component[0]")
                data["stroke_scale_type"] = scale
            continue
        _put(data, spec, resource, where)
        if spec.key == "spo2":
            notes = {n.get("text") for n in resource.get("note") or []}
            data["on_oxygen"] = "on supplemental oxygen" in notes
    return [groups[when] for when in sorted(groups)]
