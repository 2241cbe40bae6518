"""The document: the Composition and its sections (narrative built from the entries) and
the Bundle that carries it, first, with every resource."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from handoff.interop.document import (
    EncounterDocument,
    require_aware,
)
from handoff.interop.fhir._builder import (
    _NAMESPACE,
    Resource,
    _Builder,
    _coding,
    _concept,
    _narrative,
    _time,
)
from handoff.interop.fhir.clinical import (
    _activations,
    _allergies,
    _conditions,
    _current_medications,
    _medications_given,
    _procedures,
)
from handoff.interop.fhir.codes import (
    COMPOSITION_STATUS,
    DOCUMENT_TYPE_LOINC,
    LOINC,
    SECTION_CODES,
    SECTION_TEXT_ONLY,
    SUMMARY_CATEGORY,
)
from handoff.interop.fhir.observations import _estimated_age, _is_vital_sign, _vitals_set
from handoff.interop.fhir.participants import _authors, _encounter, _hospital, _patient


def _value_text(node: Mapping[str, Any]) -> str:
    quantity = node.get("valueQuantity")
    if quantity is not None:
        unit = quantity.get("unit", "")
        return f"{quantity.get('comparator', '')}{quantity['value']} {unit}".strip()
    concept = node.get("valueCodeableConcept")
    if concept is not None:
        return str(concept.get("text", ""))
    if "valueDateTime" in node:
        return str(node["valueDateTime"])
    absent = node.get("dataAbsentReason")
    return f"not available ({absent.get('text', '')})" if absent else ""


def _summary(resource: Resource) -> str:
    """One human-readable line for a section entry (its narrative is built from these)."""
    kind = resource["resourceType"]
    if kind == "Observation":
        parts = [_value_text(resource)]
        parts += [
            f"{c['code'].get('text', '')} {_value_text(c)}" for c in resource.get("component", [])
        ]
        line = f"{resource['code'].get('text', '')}: {'; '.join(p for p in parts if p)}"
        if "effectiveDateTime" in resource:
            line += f" ({resource['effectiveDateTime']})"
        notes = "; ".join(n["text"] for n in resource.get("note", []))
        return f"{line}. {notes}" if notes else line
    if kind in ("MedicationStatement", "MedicationAdministration"):
        line = str(resource["medicationCodeableConcept"].get("text", ""))
        dosage = resource.get("dosage", {})
        if "dose" in dosage:
            line += f" {dosage['dose']['value']} {dosage['dose'].get('unit', '')}".rstrip()
        if "route" in dosage:
            line += f" {dosage['route'].get('text', '')}"
        if "effectiveDateTime" in resource:
            line += f" at {resource['effectiveDateTime']}"
        notes = "; ".join(n["text"] for n in resource.get("note", []))
        return f"{line} ({notes})" if notes else line
    if kind == "Procedure":
        return f"{resource['code'].get('text', '')} at {resource['performedDateTime']}"
    return str(resource.get("code", {}).get("text", kind))


def _section(
    b: _Builder,
    key: str | None,
    entries: list[dict[str, str]],
    text: list[str] | None = None,
    *,
    title: str | None = None,
    sections: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A section whose narrative says what its entries say (cmp-1: text, entry or section),
    coded as mPSC codes it (`SECTION_CODES`), with code text only where mPSC has no usable
    code (`SECTION_TEXT_ONLY`) and no code for our own sections (key None, `title`).

    An empty list from the ePCR cannot tell "none" from "not recorded", so an empty section
    has emptyReason `unavailable` and a narrative saying so, never a claim there is none.
    """
    section: dict[str, Any]
    if key is None:
        section = {"title": title or ""}
    elif key in SECTION_CODES:
        system, code, name = SECTION_CODES[key]
        section = {"title": name, "code": _concept(name, _coding(system, code))}
    else:
        name = SECTION_TEXT_ONLY[key]
        section = {"title": name, "code": {"text": name}}
    lines = list(text or []) + [_summary(b.by_url[ref["reference"]]) for ref in entries]
    lines += [
        f"{sub['title']}: {_summary(b.by_url[ref['reference']])}"
        for sub in sections or []
        for ref in sub.get("entry", [])
    ]
    section["text"] = _narrative(lines or ["Information not available."])
    if entries:
        section["entry"] = entries
    if sections:
        section["section"] = sections
    elif not entries and not text:
        section["emptyReason"] = _concept(
            "Information not available",
            _coding("http://terminology.hl7.org/CodeSystem/list-empty-reason", "unavailable"),
        )
    return section


V3_ACT_CLASS: Final = "http://terminology.hl7.org/CodeSystem/v3-ActClass"
ETIMES_LABELS: Final = {
    "eTimes.01": "PSAP call",
    "eTimes.03": "Unit notified by dispatch",
    "eTimes.05": "Unit en route",
    "eTimes.06": "Unit arrived on scene",
    "eTimes.09": "Unit left scene",
}


def _ems_times(doc: EncounterDocument) -> list[str]:
    """The NEMSIS eTimes the record has (REFERENCE.md names them), for the EMS times section."""
    times = [
        f"{ETIMES_LABELS[element]} ({element}): {_time(at, element)}"
        for element, at in doc.unit_times
        if element in ETIMES_LABELS
    ]
    if doc.eta is not None:
        times.append(f"Estimated arrival at destination: {_time(doc.eta, 'eta')}")
    if doc.arrived_at is not None:
        arrived = _time(doc.arrived_at, "arrived_at")
        times.append(f"Patient arrived at destination (eTimes.11): {arrived}")
    if doc.transfer_of_care_at is not None:
        transfer = _time(doc.transfer_of_care_at, "transfer_of_care_at")
        times.append(f"Destination patient transfer of care (eTimes.12): {transfer}")
    return times


def _care_event(b: _Builder, doc: EncounterDocument) -> dict[str, Any]:
    starts = [at for _element, at in doc.unit_times] + [doc.created_at]
    period = {"start": _time(min(require_aware(at, "unit_times") for at in starts), "start")}
    if doc.transfer_of_care_at is not None:
        period["end"] = _time(doc.transfer_of_care_at, "transfer_of_care_at")
    # The care-provisioning event slice as IPS (which mPSC builds on) defines it: v3 ActClass
    # PCPR (care provision).
    code = _concept("care provision", _coding(V3_ACT_CLASS, "PCPR"))
    return {"code": [code], "period": period, "detail": [b.ref("Encounter")]}


def _split(
    b: _Builder, refs: list[dict[str, str]], keep: Callable[[Resource], bool]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    kept = [ref for ref in refs if keep(b.by_url[ref["reference"]])]
    return kept, [ref for ref in refs if ref not in kept]


def encounter_bundle(
    doc: EncounterDocument, *, replaces: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A FHIR R4 document Bundle (Composition first) for one pre-hospital encounter.

    `replaces` is the identifier (system, value) of the document version this one
    replaces, the `Bundle.identifier` the receiver was last sent; it becomes
    `Composition.relatesTo` code `replaces`. Raises ValueError on a naive datetime, a
    vital of the wrong type or unit, or a working-impression code that is neither SNOMED
    CT nor ICD-10-CM.
    """
    b = _Builder(doc.encounter_id, doc.systems)
    composition_url = b.url("Composition")
    patient = _patient(b, doc)
    location = _hospital(b, doc)
    authors, custodian = _authors(b, doc)
    _encounter(b, doc, patient, location)
    observations: list[dict[str, str]] = _estimated_age(b, doc, patient)
    for entry in sorted(doc.vitals, key=lambda entry: require_aware(entry.taken_at, "taken_at")):
        observations.extend(_vitals_set(b, entry, patient))
    # Vital signs hold the vital-sign Observations (mPSC: the vitalsigns profile); GCS,
    # NEWS2, the stroke scale and the estimated age are assessments.
    vitals, assessments = _split(b, observations, _is_vital_sign)
    problems = _conditions(b, doc, patient)
    allergies = _allergies(b, doc, patient)
    statements, anticoagulant_flags = _current_medications(b, doc, patient)
    given = _medications_given(b, doc, patient)
    procedures = _procedures(b, doc, patient)
    # The pre-arrival team activations (eDisposition.24) are mPSC's emergency notification;
    # the Flags (every activation, anticoagulants) stay in Alerts.
    flags, notifications = _split(
        b, _activations(b, doc, patient), lambda r: r["resourceType"] == "Flag"
    )
    alerts = flags + anticoagulant_flags

    chief = [doc.chief_complaint] if doc.chief_complaint else []
    destination = [f"Destination: {doc.hospital_name}"] if doc.hospital_name else []
    if doc.destination_reason:
        destination.append(f"Reason: {doc.destination_reason}")
    composition: Resource = {
        "resourceType": "Composition",
        "id": b.uid("Composition"),
        "language": doc.language,
        "identifier": {"system": b.systems.encounter, "value": doc.encounter_id},
        "status": COMPOSITION_STATUS[doc.status],
        "type": _concept("EMS patient care report", _coding(LOINC, DOCUMENT_TYPE_LOINC)),
        # mPSC requires this category (34133-9, Summary of episode note) on its documents.
        "category": [_concept("Summary of episode note", _coding(LOINC, SUMMARY_CATEGORY))],
        "subject": patient,
        "encounter": b.ref("Encounter"),
        "date": _time(doc.updated_at, "updated_at"),
        "author": authors,
        "title": "Pre-hospital handoff",
        # Clinical content at the normal level (HL7 v3 Confidentiality N): the receiving
        # hospital applies its own access rules to it.
        "confidentiality": "N",
        "custodian": custodian,
        # The care event documented: from the call (or the record's start) to the transfer
        # of care when it happened; its detail is the Encounter.
        "event": [_care_event(b, doc)],
        "section": [
            _section(b, "chief_complaint", [], chief),
            _section(b, "ems_times", [], _ems_times(doc)),
            _section(b, "emergency_notification", notifications),
            _section(b, None, alerts, title="Alerts"),
            _section(b, "vital_signs", vitals),
            _section(b, "assessments", assessments),
            _section(b, "problems", problems),
            _section(b, "allergies", allergies),
            _section(b, "medications", statements),
            _section(
                b,
                "treatment",
                [],
                sections=[
                    _section(b, "procedures", procedures),
                    _section(b, "medications_given", given),
                ],
            ),
            _section(b, None, [], destination, title="Destination"),
        ],
    }
    if replaces is not None:
        composition["relatesTo"] = [
            {
                "code": "replaces",
                "targetIdentifier": {"system": replaces["system"], "value": replaces["value"]},
            }
        ]
    updated = _time(doc.updated_at, "updated_at")
    return {
        "resourceType": "Bundle",
        # Each version of the document is a new document (bdl-9): the identifier changes
        # with updated_at while the resource fullUrls stay stable.
        "identifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{doc.encounter_id}@{updated}')}",
        },
        "type": "document",
        "timestamp": updated,
        "entry": [{"fullUrl": composition_url, "resource": composition}, *b.entries],
    }
