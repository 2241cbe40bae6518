"""An encounter and its dispatch response as the NEMSIS exporter's input (record.PcrInput).

Precondition for every function here: the caller has checked access (handoff.access); the
record carries the patient's name and date of birth.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings

from handoff import selectors
from handoff.interop.nemsis.record import (
    Agency,
    Destination,
    PcrInput,
    Response,
    ResponseTimes,
    Software,
    TeamAlert,
)
from handoff.models import Encounter
from handoff.services.outcome import outcome_for_nemsis


def _padded(value: object, width: int) -> str:
    # eResponse.03/.04 need at least 3 characters and eCrew.01 2: the same number, zero-filled.
    return str(value).zfill(width)


def pcr_input(encounter: Encounter) -> PcrInput:
    """The PatientCareReport input of `encounter` (builder.check_ready judges it)."""
    document = selectors.encounter_document(encounter)
    assignment = encounter.assignment
    incident = assignment.incident
    unit = assignment.unit
    hospital = encounter.destination
    crew = tuple(
        type(member)(id=_padded(member.id, 2), family=member.family, given=member.given)
        for member in document.crew
    )
    document = replace(document, crew=crew)
    agency = Agency(
        state_id=settings.NEMSIS_AGENCY_STATE_ID,
        number=settings.NEMSIS_AGENCY_NUMBER,
        state=settings.NEMSIS_AGENCY_STATE,
    )
    return PcrInput(
        outcome=outcome_for_nemsis(encounter),
        uuid=str(encounter.public_id),
        document=document,
        agency=agency,
        software=Software(
            creator=settings.NEMSIS_SOFTWARE_CREATOR,
            name="Golden Hour",
            version=settings.NEMSIS_SOFTWARE_VERSION,
        ),
        times=ResponseTimes(
            psap_call=incident.call_received_at,
            unit_notified=assignment.notified_at,
            en_route=assignment.en_route_at,
            on_scene=assignment.on_scene_at,
            left_scene=assignment.left_scene_at,
            at_destination=encounter.arrived_at or assignment.at_destination_at,
            transfer_of_care=encounter.transfer_of_care_at,
            back_in_service=assignment.cleared_at,
        ),
        response=Response(
            incident_number=_padded(incident.pk, 3),
            response_number=_padded(assignment.pk, 3),
            unit_call_sign=unit.call_sign,
            unit_type=unit.unit_type,
            unit_capabilities=tuple(unit.capabilities),
            response_mode=incident.response_mode,
            dispatch_complaint=incident.chief_complaint,
            determinant=incident.determinant,
            incident_disposition=incident.disposition,
            patients_on_incident=Encounter.objects.filter(
                assignment__incident_id=incident.pk
            ).count(),
        ),
        destination=Destination(
            code=hospital.code,
            name=hospital.name,
            reason=encounter.destination_reason,
            capabilities=tuple(hospital.capabilities),
        )
        if hospital is not None
        else None,
        team_alerts=tuple(
            TeamAlert(kind=a.kind, sent_at=a.sent_at or a.proposed_at)
            for a in encounter.activations.order_by("proposed_at", "pk")
        ),
        findings=dict(encounter.findings or {}),
        time_of_onset=encounter.time_of_onset,
        mechanism=encounter.mechanism,
        injuries=encounter.injuries,
        age_text=encounter.age_text,
    )
