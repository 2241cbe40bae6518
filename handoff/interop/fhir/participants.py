"""Who and where: the Patient, the receiving hospital (Organization and ED Location), the
Encounter at that ED, and the authors (crew, EMS Organization, the unit's tablet)."""

from __future__ import annotations

from typing import Any

from handoff.interop.document import (
    EncounterDocument,
)
from handoff.interop.fhir._builder import Resource, _Builder, _coding, _concept, _time
from handoff.interop.fhir.codes import (
    DATA_ABSENT_REASON,
    ENCOUNTER_STATUS,
    LOCATION_STATUS,
    PLANNED_START_EXTENSION,
)


def _patient(b: _Builder, doc: EncounterDocument) -> dict[str, str]:
    p = doc.patient
    identifiers: list[dict[str, Any]] = [
        {"use": "temp", "system": b.systems.temp_id, "value": p.temp_id}
    ]
    if p.mrn:
        mrn: dict[str, Any] = {
            "use": "usual",
            "type": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")]},
        }
        # The hospital's own MRN system when the deployment knows it; with an OID base and
        # no system for this hospital, type MR and the assigner still identify it.
        system = b.systems.mrn(doc.hospital_code)
        if system is not None:
            mrn["system"] = system
        mrn |= {"value": p.mrn, "assigner": b.ref("Organization")}
        identifiers.insert(0, mrn)
    patient: Resource = {"resourceType": "Patient", "identifier": identifiers, "gender": p.sex}
    if p.family or p.given:
        name: dict[str, Any] = {}
        if p.family:
            name["family"] = p.family
        if p.given:
            name["given"] = [p.given]
        patient["name"] = [name]
    if p.birth_date is not None:
        patient["birthDate"] = p.birth_date.isoformat()
    else:
        patient["_birthDate"] = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]}
    return b.add("Patient", "", patient)


def _hospital(b: _Builder, doc: EncounterDocument) -> dict[str, str]:
    # Before a destination is chosen there is no hospital code or name: FHIR strings may not
    # be empty, so the receiving ED is then described, not identified.
    name = doc.hospital_name or "Receiving hospital (not yet chosen)"
    organization: Resource = {"resourceType": "Organization", "name": name}
    location: Resource = {"resourceType": "Location"}
    if doc.hospital_code:
        identifier = [{"system": b.systems.hospital, "value": doc.hospital_code}]
        organization = {"resourceType": "Organization", "identifier": identifier, "name": name}
        location["identifier"] = identifier
    org = b.add("Organization", "", organization)
    location |= {
        "name": f"{name} emergency department",
        "type": [
            _concept(
                "Emergency department",
                _coding("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "ER"),
            )
        ],
        "managingOrganization": org,
    }
    return b.add("Location", "", location)


def _encounter(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str], location: dict[str, str]
) -> None:
    encounter: Resource = {
        "resourceType": "Encounter",
        "identifier": [
            {"system": b.systems.encounter, "value": doc.encounter_id},
            {"system": b.systems.incident, "value": str(doc.incident_id)},
        ],
        "status": ENCOUNTER_STATUS[doc.status],
        "class": _coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "EMER", "emergency"),
        "priority": _concept(
            "emergency", _coding("http://terminology.hl7.org/CodeSystem/v3-ActPriority", "EM")
        ),
        "subject": patient,
        "reasonCode": [{"text": doc.chief_complaint}] if doc.chief_complaint else [],
        # The receiving ED is where this encounter happens (planned, then active, then
        # completed), not hospitalization.destination, which R4 defines as where the
        # patient goes after it.
        "location": [{"location": location, "status": LOCATION_STATUS[doc.status]}],
        "serviceProvider": b.ref("Organization"),
    }
    if not encounter["reasonCode"]:
        del encounter["reasonCode"]
    if doc.eta is not None:
        encounter["extension"] = [
            {"url": PLANNED_START_EXTENSION, "valueDateTime": _time(doc.eta, "eta")}
        ]
    # The period is the ED side of the handoff: eTimes.11 (arrived at destination) to
    # eTimes.12 (transfer of care); a planned encounter has no period yet.
    period: dict[str, str] = {}
    if doc.arrived_at is not None:
        period["start"] = _time(doc.arrived_at, "arrived_at")
    if doc.status == "finished" and doc.transfer_of_care_at is not None:
        period["end"] = _time(doc.transfer_of_care_at, "transfer_of_care_at")
    if period:
        encounter["period"] = period
    b.add("Encounter", "", encounter)


def _authors(b: _Builder, doc: EncounterDocument) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The crew (Practitioner + PractitionerRole in the EMS Organization), the EMS
    Organization and the unit's tablet (Device): the Composition's authors, and the
    organization that keeps the record (custodian)."""
    ems = doc.ems_organization
    org_body: Resource = {
        "resourceType": "Organization",
        "type": [
            _concept(
                "Emergency medical services",
                _coding("http://terminology.hl7.org/CodeSystem/organization-type", "prov"),
            )
        ],
        "name": ems.name if ems else f"EMS unit {doc.unit_call_sign}",
    }
    if ems is not None:
        org_body["identifier"] = [{"system": b.systems.ems_organization, "value": ems.code}]
    organization = b.add("Organization", "ems", org_body)
    roles: list[dict[str, str]] = []
    for member in doc.crew:
        name: dict[str, Any] = {"text": f"{member.given} {member.family}".strip()}
        if member.family:
            name["family"] = member.family
        if member.given:
            name["given"] = [member.given]
        practitioner = b.add(
            "Practitioner",
            member.id,
            {
                "resourceType": "Practitioner",
                "identifier": [{"system": b.systems.practitioner, "value": member.id}],
                "name": [name],
            },
        )
        roles.append(
            b.add(
                "PractitionerRole",
                member.id,
                {
                    "resourceType": "PractitionerRole",
                    "practitioner": practitioner,
                    "organization": organization,
                    "code": [{"text": f"EMS crew, unit {doc.unit_call_sign}"}],
                },
            )
        )
    device = b.add(
        "Device",
        "",
        {
            "resourceType": "Device",
            "deviceName": [
                {"name": "Golden Hour", "type": "manufacturer-name"},
                {"name": f"EMS unit {doc.unit_call_sign}", "type": "user-friendly-name"},
            ],
            "owner": organization,
        },
    )
    return [*roles, organization, device], organization
