"""The NEMSIS exporter's input: one patient care record as frozen dataclasses.

No Django here. `handoff.interop.nemsis.source.pcr_input` maps an encounter and its
dispatch assignment onto these; the section builders only read them. The clinical part is
the same `EncounterDocument` the FHIR and HL7 exporters read, so the three never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handoff.interop.document import EncounterDocument


class NemsisExportError(ValueError):
    """The encounter cannot be exported yet (or at all); `field` names what is missing."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class Agency:
    """The EMS agency as the state knows it (dAgency.01, .02 and .04)."""

    state_id: str
    number: str
    state: str


@dataclass(frozen=True, slots=True)
class Software:
    """eRecord.02-.04: who made the software that wrote the record."""

    creator: str
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """The eTimes of one unit's response, timezone-aware; None when it did not happen."""

    psap_call: datetime | None
    unit_notified: datetime
    en_route: datetime | None
    on_scene: datetime | None
    left_scene: datetime | None
    at_destination: datetime | None
    transfer_of_care: datetime | None
    back_in_service: datetime | None


@dataclass(frozen=True, slots=True)
class Response:
    """The dispatch side: incident, unit, how it was sent and how the incident ended."""

    incident_number: str
    response_number: str
    unit_call_sign: str
    unit_type: str
    unit_capabilities: tuple[str, ...]
    response_mode: str
    dispatch_complaint: str
    determinant: str
    incident_disposition: str
    patients_on_incident: int


@dataclass(frozen=True, slots=True)
class Destination:
    """The receiving hospital as eDisposition names it."""

    code: str
    name: str
    reason: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TeamAlert:
    """A pre-arrival activation (eDisposition.24) and when the ED was told (.25)."""

    kind: str
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class PcrInput:
    """Everything one EMSDataSet PatientCareReport is written from."""

    uuid: str
    document: EncounterDocument
    agency: Agency
    software: Software
    times: ResponseTimes
    response: Response
    destination: Destination | None
    team_alerts: tuple[TeamAlert, ...]
    # The crew's findings (handoff.models.Encounter.findings): booleans and `befast`.
    findings: dict[str, Any] = field(default_factory=dict)
    # The hospital's outcome (handoff.services.outcome.outcome_for_nemsis): eOutcome.01 /
    # .02 NUBC codes and .10 the ICD-10 code, "" where the hospital recorded none.
    outcome: dict[str, str] | None = None
    time_of_onset: datetime | None = None
    mechanism: str = ""
    injuries: str = ""
    age_text: str = ""
