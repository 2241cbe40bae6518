"""The treatment a received document records: its Procedures and MedicationAdministrations
read back into the fields of `intervention_record` and `medication_record` (the sender's
resource id keys each, so a later message with the same entries stores nothing twice).

Raises Rejection naming the element for an entry that cannot be read; the local services
check the values again (text, time, dose range) as for the crew's own entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.messages import Rejection

SNOMED = "http://snomed.info/sct"


@dataclass(frozen=True)
class ReceivedProcedure:
    source_id: str
    text: str
    code: str
    performed_at: str


@dataclass(frozen=True)
class ReceivedMedication:
    source_id: str
    name: str
    dose: float | None
    unit: str
    route: str
    given_at: str


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            return str(coding["display"])
    return ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _resources(document: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for index, entry in enumerate(document.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == kind:
            found.append((f"Bundle.entry[{index}].resource", resource))
    return found


def _required(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Rejection(400, "invalid_content", where, f"needs {what}")
    return value


def received_procedures(document: dict[str, Any]) -> list[ReceivedProcedure]:
    """The document's procedures performed, in document order."""
    procedures = []
    for where, resource in _resources(document, "Procedure"):
        code = resource.get("code")
        text = _required(_text(code), f"{where}.code", "a text or a display")
        snomed = next(
            (
                str(c["code"])
                for c in (code or {}).get("coding") or []
                if isinstance(c, dict) and c.get("system") == SNOMED and c.get("code")
            ),
            "",
        )
        procedures.append(
            ReceivedProcedure(
                source_id=_required(resource.get("id"), f"{where}.id", "an id"),
                text=text,
                code=snomed,
                performed_at=_required(
                    resource.get("performedDateTime"), f"{where}.performedDateTime", "a time"
                ),
            )
        )
    return procedures


def received_medications(document: dict[str, Any]) -> list[ReceivedMedication]:
    """The document's medications administered, in document order."""
    given = []
    for where, resource in _resources(document, "MedicationAdministration"):
        name = _required(
            _text(resource.get("medicationCodeableConcept")),
            f"{where}.medicationCodeableConcept",
            "the medication's name",
        )
        dosage: dict[str, Any] = _object(resource.get("dosage"))
        dose: dict[str, Any] = _object(dosage.get("dose"))
        value = dose.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Rejection(400, "invalid_content", f"{where}.dosage.dose.value", "needs a number")
        given.append(
            ReceivedMedication(
                source_id=_required(resource.get("id"), f"{where}.id", "an id"),
                name=name,
                dose=float(value) if value is not None else None,
                unit=str(dose.get("unit") or ""),
                route=_text(dosage.get("route")),
                given_at=_required(
                    resource.get("effectiveDateTime"), f"{where}.effectiveDateTime", "a time"
                ),
            )
        )
    return given
