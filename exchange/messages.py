"""The FHIR R4 messages between deployments: build, validate, read (no database here).

A message is a Bundle of type `message` whose first entry is a MessageHeader (R4 Bundle
invariant bdl-... "a message must have a MessageHeader first"). Event `patient-handoff`:
`MessageHeader.focus` is the encounter document Bundle of handoff.interop.fhir
(`encounter_bundle`), carried as the second entry; `MessageHeader.sender` names the unit
(identifier system urn:golden-hour:unit) and `MessageHeader.reason` the incident's
determinant (urn:golden-hour:determinant). The answer is a response message (its header's
`response.identifier` is the request's MessageHeader.id, `response.code` ok /
transient-error / fatal-error) with an OperationOutcome as its focus on error.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

EVENT_SYSTEM: Final = "urn:golden-hour:exchange-event"
PATIENT_HANDOFF: Final = "patient-handoff"
EVENTS: Final = frozenset({PATIENT_HANDOFF})
UNIT_SYSTEM: Final = "urn:golden-hour:unit"
DETERMINANT_SYSTEM: Final = "urn:golden-hour:determinant"
ENCOUNTER_SYSTEM: Final = "urn:golden-hour:encounter"
INCIDENT_SYSTEM: Final = "urn:golden-hour:incident"
HOSPITAL_SYSTEM: Final = "urn:golden-hour:hospital"

Resource = dict[str, Any]


class Rejection(Exception):  # noqa: N818 - a result, raised to leave the validation early
    """Why a message is refused: HTTP status, a fixed reason code, the FHIR element named
    (a path such as `Bundle.entry[0].resource.eventCoding`), and a safe sentence."""

    def __init__(self, status: int, reason: str, element: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.element = element
        self.message = message


def operation_outcome(
    *, code: str, element: str, message: str, severity: str = "error"
) -> Resource:
    """An OperationOutcome with one issue (`code` from the R4 IssueType value set)."""
    issue: Resource = {"severity": severity, "code": code, "diagnostics": message}
    if element:
        issue["expression"] = [element]
    return {"resourceType": "OperationOutcome", "id": str(uuid.uuid4()), "issue": [issue]}


# Our reason codes to the R4 IssueType of the OperationOutcome.
ISSUE_TYPE: Final = {
    "malformed_json": "structure",
    "not_a_message": "structure",
    "invalid_content": "invalid",
    "unsigned": "security",
    "unknown_key": "security",
    "bad_signature": "security",
    "expired_timestamp": "security",
    "replayed_message_id": "duplicate",
    "unknown_hospital": "not-found",
    "not_receiving": "not-supported",
}


def _endpoint(url: str, name: str) -> Resource:
    return {"endpoint": url, "name": name}


def message_bundle(
    *,
    message_id: str,
    event: str,
    source: str,
    source_name: str,
    destination: str,
    focus: list[Resource],
    sender: Resource | None = None,
    reason: Resource | None = None,
    now: datetime,
) -> Resource:
    """A message Bundle: the MessageHeader, then each `focus` resource (each needs an id)."""
    header: Resource = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventCoding": {"system": EVENT_SYSTEM, "code": event},
        "destination": [_endpoint(destination, "peer")],
        "source": {"name": source_name, "software": "Golden Hour", "endpoint": source},
        "focus": [{"reference": f"urn:uuid:{r['id']}"} for r in focus],
    }
    if sender is not None:
        header["sender"] = sender
    if reason is not None:
        header["reason"] = reason
    entries = [{"fullUrl": f"urn:uuid:{message_id}", "resource": header}]
    entries += [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in focus]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": now.isoformat(),
        "entry": entries,
    }


def response_bundle(
    *,
    request_id: str,
    event: str,
    code: str,
    source: str,
    destination: str,
    outcome: Resource | None,
    now: datetime,
) -> Resource:
    """The receipt: a response message to `request_id` (code ok, transient-error, fatal-error)."""
    response_id = str(uuid.uuid4())
    bundle = message_bundle(
        message_id=response_id,
        event=event,
        source=source,
        source_name="Golden Hour",
        destination=destination,
        focus=[outcome] if outcome else [],
        now=now,
    )
    header = bundle["entry"][0]["resource"]
    header["response"] = {"identifier": request_id, "code": code}
    if not outcome:
        header.pop("focus")
    return bundle


@dataclass(frozen=True)
class Message:
    """A validated incoming message: its id, event, sender endpoint and focus resources."""

    message_id: str
    event: str
    source: str
    focus: list[Resource]
    header: Resource = field(repr=False)


def _require(condition: bool, element: str, message: str) -> None:
    if not condition:
        raise Rejection(400, "not_a_message", element, message)


def _is_id(value: Any) -> bool:
    # FHIR id: [A-Za-z0-9\-\.]{1,64}
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 64
        and all(c.isalnum() or c in "-." for c in value)
        and value.isascii()
    )


def parse_message(data: Any) -> Message:
    """Check the message structure (Bundle.type message, MessageHeader first with an id,
    eventCoding of a known event, source endpoint, every focus resolved inside the Bundle)."""
    _require(isinstance(data, dict), "Bundle", "the body must be a JSON object")
    _require(data.get("resourceType") == "Bundle", "Bundle.resourceType", "must be Bundle")
    _require(data.get("type") == "message", "Bundle.type", "must be message")
    entries = data.get("entry")
    _require(
        isinstance(entries, list) and len(entries) > 0,
        "Bundle.entry",
        "a message needs a MessageHeader entry",
    )
    by_url: dict[str, Resource] = {}
    for i, entry in enumerate(entries):
        _require(
            isinstance(entry, dict) and isinstance(entry.get("resource"), dict),
            f"Bundle.entry[{i}].resource",
            "every entry needs a resource",
        )
        url = entry.get("fullUrl")
        if isinstance(url, str):
            by_url[url] = entry["resource"]
    header = entries[0]["resource"]
    _require(
        header.get("resourceType") == "MessageHeader",
        "Bundle.entry[0].resource",
        "the first entry must be a MessageHeader",
    )
    message_id = header.get("id")
    _require(_is_id(message_id), "MessageHeader.id", "must be a FHIR id (the message id)")
    coding = header.get("eventCoding")
    _require(isinstance(coding, dict), "MessageHeader.eventCoding", "is required")
    _require(
        coding.get("system") == EVENT_SYSTEM and coding.get("code") in EVENTS,
        "MessageHeader.eventCoding",
        f"must be {EVENT_SYSTEM}|{PATIENT_HANDOFF}",
    )
    source = header.get("source")
    _require(
        isinstance(source, dict) and isinstance(source.get("endpoint"), str),
        "MessageHeader.source.endpoint",
        "is required",
    )
    focus_refs = header.get("focus")
    _require(
        isinstance(focus_refs, list) and len(focus_refs) == 1,
        "MessageHeader.focus",
        "needs exactly one reference",
    )
    focus = []
    for i, ref in enumerate(focus_refs):
        target = by_url.get(str(ref.get("reference"))) if isinstance(ref, dict) else None
        _require(
            target is not None,
            f"MessageHeader.focus[{i}]",
            "must reference an entry of this Bundle by its fullUrl",
        )
        focus.append(target)
    return Message(
        message_id=str(message_id),
        event=str(coding["code"]),
        source=str(source["endpoint"]),
        focus=focus,  # type: ignore[arg-type]
        header=header,
    )


def _invalid(element: str, message: str) -> Rejection:
    return Rejection(400, "invalid_content", element, message)


def _identifier(resource: Resource, system: str) -> str | None:
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == system:
            value = ident.get("value")
            return value if isinstance(value, str) and value else None
    return None


def _text(node: Any) -> str:
    if isinstance(node, dict) and isinstance(node.get("text"), str):
        return node["text"]
    return ""


@dataclass(frozen=True)
class PatientRecord:
    """What the receiver takes from a patient-handoff message."""

    source_encounter: str
    source_incident: str
    hospital_code: str
    unit_call_sign: str
    determinant: str
    fields: dict[str, Any]


SEX: Final = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}


def patient_record(message: Message) -> PatientRecord:
    """Read the encounter document (the focus) into the fields of a local encounter.

    Raises Rejection naming the element for a document that is not one of ours.
    """
    document = message.focus[0]
    if document.get("resourceType") != "Bundle" or document.get("type") != "document":
        raise _invalid("MessageHeader.focus", "must be a FHIR document Bundle")
    resources: dict[str, list[Resource]] = {}
    by_url: dict[str, Resource] = {}
    for entry in document.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            resources.setdefault(str(resource.get("resourceType")), []).append(resource)
            if isinstance(entry.get("fullUrl"), str):
                by_url[entry["fullUrl"]] = resource
    encounters = resources.get("Encounter", [])
    patients = resources.get("Patient", [])
    if len(encounters) != 1:
        raise _invalid("Bundle.entry.resource.ofType(Encounter)", "needs exactly one Encounter")
    if len(patients) != 1:
        raise _invalid("Bundle.entry.resource.ofType(Patient)", "needs exactly one Patient")
    encounter, patient = encounters[0], patients[0]
    source_encounter = _identifier(encounter, ENCOUNTER_SYSTEM)
    if source_encounter is None:
        raise _invalid("Encounter.identifier", f"needs an identifier of {ENCOUNTER_SYSTEM}")
    provider = by_url.get((encounter.get("serviceProvider") or {}).get("reference", ""))
    hospital_code = _identifier(provider, HOSPITAL_SYSTEM) if provider else None
    if hospital_code is None:
        raise _invalid(
            "Encounter.serviceProvider", "must reference the receiving hospital's Organization"
        )
    sender = message.header.get("sender") or {}
    unit = _identifier({"identifier": [sender.get("identifier")]}, UNIT_SYSTEM)
    if unit is None:
        raise _invalid("MessageHeader.sender.identifier", f"needs the unit ({UNIT_SYSTEM})")
    reason = message.header.get("reason") or {}
    determinants = [
        c.get("code") for c in reason.get("coding") or [] if c.get("system") == DETERMINANT_SYSTEM
    ]
    fields: dict[str, Any] = {}
    names = patient.get("name") or []
    if names and isinstance(names[0], dict):
        if isinstance(names[0].get("family"), str):
            fields["family_name"] = names[0]["family"]
        given = names[0].get("given") or []
        if given and isinstance(given[0], str):
            fields["given_name"] = given[0]
    gender = patient.get("gender")
    if gender is not None:
        if gender not in SEX:
            raise _invalid("Patient.gender", "must be male, female, other or unknown")
        fields["sex"] = SEX[gender]
    if isinstance(patient.get("birthDate"), str):
        fields["birth_date"] = patient["birthDate"]
    reasons = encounter.get("reasonCode") or []
    if reasons:
        fields["chief_complaint"] = _text(reasons[0])[:200]
    history, allergies, medications = [], [], []
    for condition in resources.get("Condition", []):
        categories = {
            c.get("code") for cat in condition.get("category") or [] for c in cat.get("coding", [])
        }
        text = _text(condition.get("code"))
        if "encounter-diagnosis" in categories:
            fields["working_impression"] = text[:200]
            codings = (condition.get("code") or {}).get("coding") or []
            if codings and isinstance(codings[0].get("code"), str):
                fields["working_impression_code"] = codings[0]["code"][:16]
        elif text:
            history.append(text)
    for allergy in resources.get("AllergyIntolerance", []):
        if text := _text(allergy.get("code")):
            allergies.append(text)
    for statement in resources.get("MedicationStatement", []):
        if name := _text(statement.get("medicationCodeableConcept")):
            notes = {n.get("text") for n in statement.get("note") or []}
            medications.append({"name": name, "anticoagulant": "anticoagulant" in notes})
    fields.update(history=history, allergies=allergies, medications=medications)
    return PatientRecord(
        source_encounter=source_encounter,
        source_incident=_identifier(encounter, INCIDENT_SYSTEM) or "",
        hospital_code=hospital_code,
        unit_call_sign=unit,
        determinant=determinants[0] if determinants else "",
        fields=fields,
    )
