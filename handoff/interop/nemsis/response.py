"""eRecord, eResponse, eDispatch, eCrew and eTimes: the record and the unit's response."""

from __future__ import annotations

from lxml import etree

from handoff.interop.nemsis import codes
from handoff.interop.nemsis._xml import nil, sub, time_or_nil, value_or_nil
from handoff.interop.nemsis.record import PcrInput


def e_record(pcr: etree._Element, data: PcrInput) -> None:
    section = sub(pcr, "eRecord")
    sub(section, "eRecord.01", data.document.encounter_id)
    software = sub(section, "eRecord.SoftwareApplicationGroup")
    sub(software, "eRecord.02", data.software.creator)
    sub(software, "eRecord.03", data.software.name)
    sub(software, "eRecord.04", data.software.version)


def e_response(pcr: etree._Element, data: PcrInput) -> None:
    response = data.response
    section = sub(pcr, "eResponse")
    agency = sub(section, "eResponse.AgencyGroup")
    sub(agency, "eResponse.01", data.agency.number)
    sub(section, "eResponse.03", response.incident_number)
    sub(section, "eResponse.04", response.response_number)
    service = sub(section, "eResponse.ServiceGroup")
    sub(service, "eResponse.05", codes.SERVICE_EMERGENCY)
    capability = codes.UNIT_CAPABILITY[response.unit_type]
    if "critical_care" in response.unit_capabilities:
        capability = codes.UNIT_CRITICAL_CARE
    sub(section, "eResponse.07", capability)
    # Delays are not recorded by the console: say so rather than claim "no delay".
    for element in ("eResponse.08", "eResponse.09", "eResponse.10", "eResponse.11"):
        nil(section, element, codes.NOT_RECORDED)
    nil(section, "eResponse.12", codes.NOT_RECORDED)
    sub(section, "eResponse.13", response.unit_call_sign)
    sub(section, "eResponse.14", response.unit_call_sign)
    sub(section, "eResponse.23", codes.RESPONSE_MODE[response.response_mode])
    sub(section, "eResponse.24", codes.RESPONSE_DESCRIPTOR[response.response_mode])


def e_dispatch(pcr: etree._Element, data: PcrInput) -> None:
    section = sub(pcr, "eDispatch")
    complaint = data.response.dispatch_complaint.strip().lower()
    sub(section, "eDispatch.01", codes.DISPATCH_REASON.get(complaint, codes.DISPATCH_REASON_OTHER))
    if data.response.determinant:
        sub(section, "eDispatch.02", codes.EMD_PERFORMED_UNKNOWN_PAI)
    else:
        nil(section, "eDispatch.02", codes.NOT_RECORDED)


def e_crew(pcr: etree._Element, data: PcrInput) -> None:
    """The crew members who recorded the encounter; their levels and roles are not kept."""
    if not data.document.crew:
        return
    section = sub(pcr, "eCrew")
    for member in data.document.crew:
        group = sub(section, "eCrew.CrewGroup")
        sub(group, "eCrew.01", member.id)
        nil(group, "eCrew.02", codes.NOT_RECORDED)
        nil(group, "eCrew.03", codes.NOT_RECORDED)


def e_times(pcr: etree._Element, data: PcrInput) -> None:
    times = data.times
    transported = data.destination is not None
    section = sub(pcr, "eTimes")
    time_or_nil(section, "eTimes.01", times.psap_call, codes.NOT_RECORDED)
    time_or_nil(section, "eTimes.03", times.unit_notified, codes.NOT_RECORDED)
    time_or_nil(section, "eTimes.05", times.en_route, codes.NOT_RECORDED)
    time_or_nil(section, "eTimes.06", times.on_scene, codes.NOT_RECORDED)
    # Arrival at the patient is not a separate status on the tablet.
    nil(section, "eTimes.07", codes.NOT_RECORDED)
    absent = codes.NOT_RECORDED if transported else codes.NOT_APPLICABLE
    time_or_nil(section, "eTimes.09", times.left_scene, absent)
    time_or_nil(section, "eTimes.11", times.at_destination, absent)
    time_or_nil(section, "eTimes.12", times.transfer_of_care, absent)
    time_or_nil(section, "eTimes.13", times.back_in_service, codes.NOT_RECORDED)


def e_payment(pcr: etree._Element, data: PcrInput) -> None:
    section = sub(pcr, "ePayment")
    sub(section, "ePayment.01", codes.PAYMENT_NOT_BILLED)
    nil(section, "ePayment.50", codes.NOT_APPLICABLE)


def e_scene(pcr: etree._Element, data: PcrInput) -> None:
    """The scene outside the US: no FIPS county, ANSI state or ZIP code applies."""
    section = sub(pcr, "eScene")
    nil(section, "eScene.01", codes.NOT_RECORDED)
    patients = data.response.patients_on_incident
    sub(section, "eScene.06", codes.MULTIPLE_PATIENTS if patients > 1 else codes.SINGLE_PATIENT)
    nil(section, "eScene.07", codes.NOT_RECORDED)
    nil(section, "eScene.08", codes.NOT_RECORDED)
    nil(section, "eScene.09", codes.NOT_RECORDED)
    for element in ("eScene.18", "eScene.19", "eScene.21"):
        value_or_nil(section, element, None, codes.NOT_APPLICABLE)
