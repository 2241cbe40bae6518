"""ePatient, eSituation, eInjury, eArrest, eHistory, eNarrative and eExam: who the patient is
and what the crew found."""

from __future__ import annotations

from datetime import date

from lxml import etree

from handoff.clinical.activation import TRAUMA_INJURY_PATTERNS
from handoff.interop.document import impression_code_system
from handoff.interop.nemsis import codes
from handoff.interop.nemsis._xml import nil, sub, time_or_nil, when
from handoff.interop.nemsis.record import PcrInput
from handoff.interop.nemsis.treatment import uncoded_treatment


def _age(born: date, on: date) -> tuple[int, str]:
    """Age in years, or months or days under one year and one month (ePatient.15/.16)."""
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if years >= 1:
        return years, codes.AGE_YEARS
    months = (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)
    if months >= 1:
        return months, codes.AGE_MONTHS
    return (on - born).days, codes.AGE_DAYS


def e_patient(pcr: etree._Element, data: PcrInput) -> None:
    patient = data.document.patient
    section = sub(pcr, "ePatient")
    if patient.family is not None or patient.given is not None:
        names = sub(section, "ePatient.PatientNameGroup")
        if patient.family:
            sub(names, "ePatient.02", patient.family)
        if patient.given:
            sub(names, "ePatient.03", patient.given)
    # A patient outside the US has no FIPS county, ANSI state or ZIP code of residence.
    for element in ("ePatient.07", "ePatient.08", "ePatient.09"):
        nil(section, element, codes.NOT_APPLICABLE)
    nil(section, "ePatient.13", codes.NOT_RECORDED)
    # Race is not asked by the crew (not collected outside the US).
    nil(section, "ePatient.14", codes.NOT_RECORDED)
    group = sub(section, "ePatient.AgeGroup")
    on = (data.times.psap_call or data.times.unit_notified).date()
    if patient.birth_date is not None:
        age, unit = _age(patient.birth_date, on)
        sub(group, "ePatient.15", str(age))
        sub(group, "ePatient.16", unit)
    elif patient.estimated_age_years is not None:
        sub(group, "ePatient.15", str(patient.estimated_age_years))
        sub(group, "ePatient.16", codes.AGE_YEARS)
    else:
        nil(group, "ePatient.15", codes.NOT_RECORDED)
        nil(group, "ePatient.16", codes.NOT_RECORDED)
    if patient.birth_date is not None:
        sub(section, "ePatient.17", patient.birth_date.isoformat())
    sub(section, "ePatient.25", codes.SEX[patient.sex])


def _impression_icd10(code: str | None) -> str | None:
    if not code:
        return None
    try:
        system = impression_code_system(code)
    except ValueError:
        return None
    return code.strip() if system == "icd10cm" else None


def injured(findings: dict[str, object]) -> bool | None:
    """Possible injury: the crew's "injured" finding or any trauma injury pattern; None when
    the crew said neither yes nor no."""
    if findings.get("injured") or any(findings.get(k) for k in TRAUMA_INJURY_PATTERNS):
        return True
    return False if findings.get("injured") is False else None


def e_situation(pcr: etree._Element, data: PcrInput) -> None:
    doc = data.document
    section = sub(pcr, "eSituation")
    time_or_nil(section, "eSituation.01", data.time_of_onset, codes.NOT_RECORDED)
    injury = injured(data.findings)
    if injury is None:
        nil(section, "eSituation.02", codes.NOT_RECORDED)
    else:
        sub(section, "eSituation.02", codes.INJURY_YES if injury else codes.INJURY_NO)
    if doc.chief_complaint:
        complaint = sub(section, "eSituation.PatientComplaintGroup")
        sub(complaint, "eSituation.03", codes.COMPLAINT_CHIEF)
        sub(complaint, "eSituation.04", doc.chief_complaint)
    for element in ("eSituation.07", "eSituation.08", "eSituation.09", "eSituation.10"):
        nil(section, element, codes.NOT_RECORDED)
    impression = _impression_icd10(doc.working_impression_code)
    if impression is None:
        # A SNOMED CT impression or one without a code goes in the narrative.
        nil(section, "eSituation.11", codes.NOT_RECORDED)
    else:
        sub(section, "eSituation.11", impression)
    nil(section, "eSituation.12", codes.NOT_RECORDED)
    nil(section, "eSituation.13", codes.NOT_RECORDED)
    time_or_nil(section, "eSituation.18", doc.last_known_well, codes.NOT_RECORDED)
    nil(section, "eSituation.20", codes.NOT_APPLICABLE)


def e_injury(pcr: etree._Element, data: PcrInput) -> None:
    section = sub(pcr, "eInjury")
    absent = codes.NOT_RECORDED if injured(data.findings) else codes.NOT_APPLICABLE
    for element in ("eInjury.01", "eInjury.03", "eInjury.04"):
        nil(section, element, absent)


ARREST_ELEMENTS = (
    "eArrest.02",
    "eArrest.03",
    "eArrest.04",
    "eArrest.07",
    "eArrest.09",
    "eArrest.11",
    "eArrest.12",
    "eArrest.14",
    "eArrest.16",
    "eArrest.17",
    "eArrest.18",
    "eArrest.20",
    "eArrest.21",
    "eArrest.22",
)


def e_arrest(pcr: etree._Element, data: PcrInput) -> None:
    """No arrest unless the crew marked one; the tablet does not record its timing."""
    section = sub(pcr, "eArrest")
    arrest = bool(data.findings.get("cardiac_arrest"))
    if arrest:
        nil(section, "eArrest.01", codes.NOT_RECORDED)
    else:
        sub(section, "eArrest.01", codes.ARREST_NO)
    for element in ARREST_ELEMENTS:
        nil(section, element, codes.NOT_RECORDED if arrest else codes.NOT_APPLICABLE)


def e_history(pcr: etree._Element, data: PcrInput) -> None:
    doc = data.document
    section = sub(pcr, "eHistory")
    nil(section, "eHistory.01", codes.NOT_RECORDED)
    for allergy in doc.allergies:
        code = codes.rxnorm(allergy)
        if code is not None:
            sub(section, "eHistory.06", code, CodeType=codes.CODE_TYPE_RXNORM)
    for name, _anticoagulant in doc.medications:
        code = codes.rxnorm(name)
        if code is not None:
            group = sub(section, "eHistory.CurrentMedsGroup")
            sub(group, "eHistory.12", code)
    nil(section, "eHistory.17", codes.NOT_RECORDED)


def narrative(data: PcrInput) -> str:
    """ATMIST and what has no NEMSIS code (free-text allergies, history, impression)."""
    doc = data.document
    befast = data.findings.get("befast")
    positive = [k for k, v in befast.items() if v] if isinstance(befast, dict) else []
    patterns = [label for key, label in TRAUMA_INJURY_PATTERNS.items() if data.findings.get(key)]
    lines = []
    for label, value in (
        ("Age", data.age_text),
        ("Time of onset", when(data.time_of_onset, "time_of_onset") if data.time_of_onset else ""),
        ("Mechanism / complaint", data.mechanism or doc.chief_complaint),
        ("Injuries / illness", data.injuries),
        ("Working impression", doc.working_impression),
        ("Allergies", ", ".join(doc.allergies)),
        (
            "Current medications",
            ", ".join(f"{n}{' (anticoagulant)' if a else ''}" for n, a in doc.medications),
        ),
        ("History", ", ".join(doc.history)),
        ("BE-FAST positive", ", ".join(positive)),
        ("Injury patterns", "; ".join(patterns)),
        ("Treatment without a NEMSIS code", "; ".join(uncoded_treatment(data))),
    ):
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def e_narrative(pcr: etree._Element, data: PcrInput) -> None:
    text = narrative(data)
    if text:
        sub(sub(pcr, "eNarrative"), "eNarrative.01", text)


def e_exam(pcr: etree._Element, data: PcrInput) -> None:
    """The crew's BE-FAST items, when examined, as one assessment (eExam.AssessmentGroup)."""
    befast = data.findings.get("befast")
    if not isinstance(befast, dict) or not any(v is not None for v in befast.values()):
        return
    found: dict[str, list[str]] = {"eExam.16": [], "eExam.20": []}
    for item, positive in befast.items():
        table = codes.BEFAST_EXAM if positive else codes.BEFAST_NORMAL
        if positive is None or item not in table:
            continue
        element, code = table[item]
        if code not in found[element]:
            found[element].append(code)
    if not found["eExam.16"] and not found["eExam.20"]:
        return
    section = sub(pcr, "eExam")
    group = sub(section, "eExam.AssessmentGroup")
    for code in found["eExam.16"]:
        sub(sub(group, "eExam.ExtremityGroup"), "eExam.16", code)
    for code in found["eExam.20"]:
        sub(group, "eExam.20", code)
