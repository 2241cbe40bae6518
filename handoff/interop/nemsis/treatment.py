"""eProtocols, eMedications and eProcedures: what the crew gave and did, coded.

A medication's code is its RxNorm ingredient (codes.RXNORM) and a procedure's its SNOMED CT
code (Intervention.code, set by the tablet's buttons). The tablet also takes free text
("Other"): such a row still goes out, with its time, route and dose where they are coded,
its code as Not Recorded, and its text in the narrative (uncoded_treatment), so the record
neither carries free text in a coded element nor understates the treatment.
"""

from __future__ import annotations

from lxml import etree

from handoff.interop.nemsis import codes
from handoff.interop.nemsis._xml import nil, number, sub, when
from handoff.interop.nemsis.record import PcrInput


def e_protocols(pcr: etree._Element, data: PcrInput) -> None:
    """The tablet does not record which protocol the crew followed."""
    section = sub(pcr, "eProtocols")
    nil(sub(section, "eProtocols.ProtocolGroup"), "eProtocols.01", codes.NOT_RECORDED)


def uncoded_treatment(data: PcrInput) -> list[str]:
    """What was given or done that NEMSIS cannot code from the record, as text for the
    narrative: a drug outside codes.RXNORM, a route or dose unit without a NEMSIS code, a
    procedure without its SNOMED CT code."""
    lines = []
    for given in data.document.medications_given:
        coded = (
            codes.rxnorm(given.name) is not None
            and (not given.route or given.route in codes.ROUTE)
            and (not given.dose_unit or given.dose_unit in codes.DOSE_UNIT)
        )
        if not coded:
            dose = f" {number(given.dose)} {given.dose_unit or ''}".rstrip() if given.dose else ""
            route = f" {given.route}" if given.route else ""
            lines.append(f"{given.name}{dose}{route} at {when(given.given_at, 'given_at')}")
    for procedure in data.document.procedures:
        if not _snomed(procedure.snomed_code):
            lines.append(f"{procedure.text} at {when(procedure.performed_at, 'performed_at')}")
    return lines


def _snomed(code: str | None) -> bool:
    return bool(code) and str(code).isdigit()


def e_medications(pcr: etree._Element, data: PcrInput) -> None:
    section = sub(pcr, "eMedications")
    given_list = data.document.medications_given
    if not given_list:
        group = sub(section, "eMedications.MedicationGroup")
        for element in ("eMedications.01", "eMedications.02", "eMedications.03"):
            nil(group, element, codes.NOT_APPLICABLE)
        nil(group, "eMedications.04", codes.NOT_APPLICABLE)
        dosage = sub(group, "eMedications.DosageGroup")
        nil(dosage, "eMedications.05", codes.NOT_APPLICABLE)
        nil(dosage, "eMedications.06", codes.NOT_APPLICABLE)
        for element in ("eMedications.07", "eMedications.08", "eMedications.10"):
            nil(group, element, codes.NOT_APPLICABLE)
        return
    for given in given_list:
        group = sub(section, "eMedications.MedicationGroup")
        sub(group, "eMedications.01", when(given.given_at, "medications_given.given_at"))
        sub(group, "eMedications.02", codes.NO)  # given by this unit's crew
        code = codes.rxnorm(given.name)
        if code is None:
            nil(group, "eMedications.03", codes.NOT_RECORDED)
        else:
            sub(group, "eMedications.03", code, CodeType=codes.CODE_TYPE_RXNORM)
        route = codes.ROUTE.get(given.route or "")
        if route is not None:
            sub(group, "eMedications.04", route)
        else:
            nil(group, "eMedications.04", codes.NOT_RECORDED)
        dosage = sub(group, "eMedications.DosageGroup")
        unit = codes.DOSE_UNIT.get(given.dose_unit or "")
        if given.dose is not None and unit is not None:
            sub(dosage, "eMedications.05", number(given.dose))
            sub(dosage, "eMedications.06", unit)
        else:
            nil(dosage, "eMedications.05", codes.NOT_RECORDED)
            nil(dosage, "eMedications.06", codes.NOT_RECORDED)
        # Response, complications and the giver's level are not recorded by the tablet.
        nil(group, "eMedications.07", codes.NOT_RECORDED)
        nil(group, "eMedications.08", codes.NOT_RECORDED)
        nil(group, "eMedications.10", codes.NOT_RECORDED)


def e_procedures(pcr: etree._Element, data: PcrInput) -> None:
    section = sub(pcr, "eProcedures")
    procedures = [p for p in data.document.procedures if _snomed(p.snomed_code)]
    elements = ("eProcedures.01", "eProcedures.02", "eProcedures.03", "eProcedures.05")
    tail = ("eProcedures.06", "eProcedures.07", "eProcedures.08", "eProcedures.10")
    if not procedures:
        # None done, or only free-text ones (in the narrative): then they are not recorded
        # as NEMSIS procedures, which is not the same as none done.
        absent = codes.NOT_RECORDED if data.document.procedures else codes.NOT_APPLICABLE
        group = sub(section, "eProcedures.ProcedureGroup")
        for element in (*elements, *tail):
            nil(group, element, absent)
        return
    for procedure in procedures:
        group = sub(section, "eProcedures.ProcedureGroup")
        sub(group, "eProcedures.01", when(procedure.performed_at, "interventions.performed_at"))
        sub(group, "eProcedures.02", codes.NO)  # done by this unit's crew
        sub(group, "eProcedures.03", str(procedure.snomed_code))
        # Attempts, success, complications, response and the performer's level: not kept.
        nil(group, "eProcedures.05", codes.NOT_RECORDED)
        for element in tail:
            nil(group, element, codes.NOT_RECORDED)
