"""eDisposition and eOutcome: where the patient went, who was alerted, and what is known after."""

from __future__ import annotations

from lxml import etree

from handoff.interop.nemsis import codes
from handoff.interop.nemsis._xml import nil, sub, time_or_nil
from handoff.interop.nemsis.record import PcrInput

# Incident dispositions (dispatch.models.IncidentDisposition) of a patient not transported:
# (eDisposition.28 patient evaluation/care, eDisposition.30 transport disposition).
NOT_TRANSPORTED = {
    "patient_refused": (codes.EVALUATED_REFUSED_CARE, codes.PATIENT_REFUSED_TRANSPORT),
    "treated_on_scene": (codes.EVALUATED_CARE_PROVIDED, codes.NO_TRANSPORT),
    "dead_on_scene": (codes.EVALUATED_NO_CARE_REQUIRED, codes.NO_TRANSPORT),
}


def e_disposition(pcr: etree._Element, data: PcrInput) -> None:
    destination = data.destination
    transported = destination is not None
    section = sub(pcr, "eDisposition")
    group = sub(section, "eDisposition.DestinationGroup")
    if destination is not None:
        sub(group, "eDisposition.01", destination.name)
        sub(group, "eDisposition.02", destination.code)
    # A destination outside the US has no ANSI state, FIPS county or ZIP code.
    for element in ("eDisposition.05", "eDisposition.06", "eDisposition.07"):
        nil(group, element, codes.NOT_APPLICABLE)
    incident = sub(section, "eDisposition.IncidentDispositionGroup")
    sub(incident, "eDisposition.27", codes.PATIENT_CONTACT_MADE)
    if transported:
        care, transport = codes.EVALUATED_CARE_PROVIDED, codes.TRANSPORT_BY_THIS_UNIT
    else:
        care, transport = NOT_TRANSPORTED.get(
            data.response.incident_disposition, (codes.EVALUATED_CARE_PROVIDED, codes.NO_TRANSPORT)
        )
    sub(incident, "eDisposition.28", care)
    sub(incident, "eDisposition.29", codes.INITIATED_AND_CONTINUED_CARE)
    sub(incident, "eDisposition.30", transport)
    absent = codes.NOT_RECORDED if transported else codes.NOT_APPLICABLE
    if transported:
        sub(section, "eDisposition.16", codes.GROUND_AMBULANCE)
    else:
        nil(section, "eDisposition.16", codes.NOT_APPLICABLE)
    # The transport mode is not recorded apart from the response mode.
    nil(section, "eDisposition.17", absent)
    nil(section, "eDisposition.18", absent)
    nil(section, "eDisposition.19", codes.NOT_RECORDED)
    if destination is not None and destination.reason in codes.DESTINATION_REASON:
        sub(section, "eDisposition.20", codes.DESTINATION_REASON[destination.reason])
    else:
        nil(section, "eDisposition.20", absent)
    if transported:
        sub(section, "eDisposition.21", codes.HOSPITAL_ED)
    else:
        nil(section, "eDisposition.21", codes.NOT_APPLICABLE)
    nil(section, "eDisposition.22", codes.NOT_APPLICABLE)  # delivered to the ED, not a ward
    capabilities = [
        codes.HOSPITAL_CAPABILITY[c]
        for c in (destination.capabilities if destination is not None else ())
        if c in codes.HOSPITAL_CAPABILITY
    ]
    for code in dict.fromkeys(capabilities):
        sub(section, "eDisposition.23", code)
    if not capabilities:
        nil(section, "eDisposition.23", absent)
    alerts = [a for a in data.team_alerts if a.kind in codes.TEAM_ACTIVATION]
    for alert in alerts:
        activation = sub(section, "eDisposition.HospitalTeamActivationGroup")
        sub(activation, "eDisposition.24", codes.TEAM_ACTIVATION[alert.kind])
        time_or_nil(activation, "eDisposition.25", alert.sent_at, codes.NOT_RECORDED)
    if not alerts:
        activation = sub(section, "eDisposition.HospitalTeamActivationGroup")
        sub(activation, "eDisposition.24", codes.NO_ACTIVATION)
        nil(activation, "eDisposition.25", codes.NOT_APPLICABLE)
    sub(section, "eDisposition.32", codes.LEVEL_OF_CARE[data.response.unit_type])


def e_outcome(pcr: etree._Element, data: PcrInput) -> None:
    """What the hospital reported back (ED and hospital disposition, ED diagnosis); Not
    Recorded where it has reported nothing yet, and for what it never reports here."""
    section = sub(pcr, "eOutcome")
    known = data.outcome or {}
    for element in ("eOutcome.01", "eOutcome.02"):
        _code_or_nil(section, element, known.get(element, ""))
    ed = sub(section, "eOutcome.EmergencyDepartmentProceduresGroup")
    nil(ed, "eOutcome.09", codes.NOT_RECORDED)
    nil(ed, "eOutcome.19", codes.NOT_RECORDED)
    _code_or_nil(section, "eOutcome.10", known.get("eOutcome.10", ""))
    nil(section, "eOutcome.11", codes.NOT_RECORDED)
    hospital = sub(section, "eOutcome.HospitalProceduresGroup")
    nil(hospital, "eOutcome.12", codes.NOT_RECORDED)
    nil(hospital, "eOutcome.20", codes.NOT_RECORDED)
    for element in ("eOutcome.13", "eOutcome.16", "eOutcome.18"):
        nil(section, element, codes.NOT_RECORDED)


def _code_or_nil(parent: etree._Element, name: str, code: str) -> None:
    if code:
        sub(parent, name, code)
    else:
        nil(parent, name, codes.NOT_RECORDED)
