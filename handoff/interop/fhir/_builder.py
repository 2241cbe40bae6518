"""The bundle builder (stable UUIDv5 fullUrls, bundle order) and the small FHIR datatypes
(Coding, CodeableConcept, Quantity, Narrative) every resource module uses."""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from handoff.interop.document import (
    IdentifierSystems,
    require_aware,
)
from handoff.interop.fhir.codes import OBSERVATION_CATEGORY, UCUM

Resource = dict[str, Any]


# Fixed namespace for the UUIDv5 resource ids; changing it changes every fullUrl.
_NAMESPACE: Final = uuid.UUID("6f1c1f0e-2b7a-5c1e-9d4e-8a3f0e6b9c21")


def _time(value: datetime, name: str) -> str:
    return require_aware(value, name).isoformat()


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def _concept(text: str, *codings: dict[str, str]) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if codings:
        concept["coding"] = list(codings)
    return concept


def _narrative(lines: Iterable[str]) -> dict[str, str]:
    items = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{items}</div>',
    }


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [_coding(OBSERVATION_CATEGORY, code, display)]}]


class _Builder:
    """Collects resources with stable urn:uuid fullUrls, in bundle order."""

    def __init__(self, encounter_id: str, systems: IdentifierSystems) -> None:
        self.encounter_id = encounter_id
        self.systems = systems
        self.entries: list[Resource] = []
        self.by_url: dict[str, Resource] = {}

    def url(self, kind: str, key: str = "") -> str:
        return f"urn:uuid:{self.uid(kind, key)}"

    def uid(self, kind: str, key: str = "") -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.encounter_id}/{kind}/{key}"))

    def ref(self, kind: str, key: str = "") -> dict[str, str]:
        return {"reference": self.url(kind, key)}

    def add(self, kind: str, key: str, resource: Resource) -> dict[str, str]:
        resource = {"resourceType": resource.pop("resourceType"), "id": self.uid(kind, key)} | (
            resource
        )
        self.entries.append({"fullUrl": self.url(kind, key), "resource": resource})
        self.by_url[self.url(kind, key)] = resource
        return self.ref(kind, key)


def _quantity(value: float | int, ucum: str, unit: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit or ucum, "system": UCUM, "code": ucum}


def _number(raw: object, key: str) -> float | int:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"vital {key} must be a number")
    return raw
