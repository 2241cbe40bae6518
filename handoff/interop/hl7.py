"""HL7 v2.5 ADT messages (A05 pre-admit, A04 register, A08 update) for one encounter.

Built as ER7 text with our own escaping, then parsed and validated with hl7apy (strict)
before it is returned, so a malformed message never leaves the process. A04 and A08 use
the ADT_A01 message structure, A05 its own (HL7 v2.5 chapter 3). See docs/interop.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from handoff.clinical.activation import EDISPOSITION_24_KINDS
from handoff.clinical.vocabulary import VITALS, Kind, fmt
from handoff.interop.document import (
    EncounterDocument,
    VitalsEntry,
    impression_code_system,
    require_aware,
)
from handoff.interop.fhir import (
    AGE_LOINC,
    AVPU_DISPLAY,
    NEWS2_SNOMED,
    TEAM_ACTIVATION_LOINC,
    TEMP_ID_SYSTEM,
    UCUM_OF_UNIT,
    travelling_unit,
)

Trigger = Literal["A05", "A04", "A08"]

STRUCTURE: Final = {"A05": "ADT_A05", "A04": "ADT_A01", "A08": "ADT_A01"}
SENDING_APPLICATION: Final = "GOLDEN_HOUR"
SEX: Final = {"male": "M", "female": "F", "other": "O", "unknown": "U"}
# CX assigning authority (HD) for the temporary id: namespace & universal id & type, the
# same URI the FHIR Patient.identifier.system carries, so both exports name one system.
TEMP_ID_AUTHORITY: Final = f"GOLDEN_HOUR&{TEMP_ID_SYSTEM}&URI"
SEGMENT_END: Final = "\r"
# OBX-2 for coded values and the table 0396 codes for SNOMED CT / ICD-10-CM; hl7apy's v2.5
# tables lack all three (see docs/interop.md), a receiver pinned to them may want CE / SNM.
CODED_VALUE_TYPE: Final = "CWE"
SNOMED_V2: Final = "SCT"
ICD10CM_V2: Final = "I10C"

_ESCAPES: Final = (
    # The escape character first, or the escapes added below would be escaped again.
    ("\\", "\\E\\"),
    ("|", "\\F\\"),
    ("^", "\\S\\"),
    ("&", "\\T\\"),
    ("~", "\\R\\"),
)


def escape(text: str) -> str:
    """Escape free text for an ER7 field (HL7 v2.5 section 2.7).

    Line breaks become spaces: a CR would end the segment, and `\\.br\\` is only defined
    for FT fields, which none of ours are.
    """
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return " ".join(text.splitlines())


def ts(value: datetime, name: str) -> str:
    """An HL7 TS in UTC to the second, with an explicit +0000 offset."""
    return require_aware(value, name).strftime("%Y%m%d%H%M%S+0000")


def _segment(name: str, fields: Sequence[str]) -> str:
    # Trailing empty fields are dropped, as ER7 allows, so a field list can be sparse.
    values = list(fields)
    while values and values[-1] == "":
        values.pop()
    return "|".join([name, *values])


def _fields(count: int, values: dict[int, str]) -> list[str]:
    """Fields 1..count of a segment from {field number: ER7 value}."""
    return [values.get(number, "") for number in range(1, count + 1)]


def _pid(doc: EncounterDocument) -> str:
    patient = doc.patient
    identifiers = [f"{escape(patient.temp_id)}^^^{TEMP_ID_AUTHORITY}^PT"]
    if patient.mrn:
        # The hospital's MRN leads once reconciled: receivers match on the first PID-3.
        identifiers.insert(0, f"{escape(patient.mrn)}^^^{escape(doc.hospital_code)}^MR")
    if patient.family or patient.given:
        name = f"{escape(patient.family or '')}^{escape(patient.given or '')}"
    else:
        # PID-5 is required; an unidentified patient gets a placeholder name typed U
        # (unspecified, HL7 table 0200) so it is never mistaken for a real name.
        name = "UNKNOWN^^^^^^U"
    birth = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    return _segment(
        "PID",
        _fields(8, {1: "1", 3: "~".join(identifiers), 5: name, 7: birth, 8: SEX[patient.sex]}),
    )


def _pv1(doc: EncounterDocument) -> str:
    values = {
        1: "1",
        2: "E",  # patient class: emergency
        3: f"ED^^^{escape(doc.hospital_code)}",
        4: "E",  # admission type: emergency (table 0007)
        # Our encounter id is the alternate visit id; PV1-19 belongs to the hospital.
        50: f"{escape(doc.encounter_id)}^^^GOLDEN_HOUR^VN",
    }
    if doc.arrived_at is not None:
        values[44] = ts(doc.arrived_at, "arrived_at")
    return _segment("PV1", _fields(52, values))


def _pv2(doc: EncounterDocument) -> str | None:
    values: dict[int, str] = {}
    if doc.chief_complaint:
        values[3] = f"^{escape(doc.chief_complaint)}"
    if doc.eta is not None:
        values[8] = ts(doc.eta, "eta")
    return _segment("PV2", _fields(8, values)) if values else None


class _Obx:
    def __init__(self) -> None:
        self.segments: list[str] = []

    def add(
        self,
        value_type: str,
        code: str,
        text: str,
        value: str,
        *,
        when: str,
        system: str = "LN",
        units: str = "",
        sub_id: str = "",
        method: str = "",
    ) -> None:
        ucum = f"{escape(units)}^^UCUM" if units else ""
        fields = _fields(
            17,
            {
                1: str(len(self.segments) + 1),
                2: value_type,
                3: f"{code}^{escape(text)}^{system}",
                4: sub_id,
                5: value,
                6: ucum,
                11: "F",
                14: when,
                17: f"^{escape(method)}" if method else "",
            },
        )
        self.segments.append(_segment("OBX", fields))


def _numeric(raw: object, key: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"vital {key} must be a number")
    return fmt(raw)


def _vitals_obx(obx: _Obx, entry: VitalsEntry, sub_id: str) -> None:
    when = ts(entry.taken_at, "taken_at")
    values = dict(entry.values)
    if entry.gcs_total is not None:
        values["gcs_total"] = entry.gcs_total
    for key, spec in VITALS.items():
        if key not in values:
            continue
        raw = values[key]
        if spec.kind is Kind.CODE:
            if not isinstance(raw, str):
                raise ValueError(f"vital {key} must be a code")
            code = raw.strip().upper() if key == "avpu" else ""
            text = escape(AVPU_DISPLAY.get(code, raw.strip()) if code else raw.strip())
            coded = f"{code}^{text}^99GHAVPU" if code else f"^{text}"
            obx.add(CODED_VALUE_TYPE, spec.loinc, spec.label, coded, when=when, sub_id=sub_id)
            continue
        unit = spec.ucum
        if spec.units:
            display = travelling_unit(entry, key)
            unit = UCUM_OF_UNIT[display]
        method = ""
        if key == "stroke_scale_score":
            scale = values.get("stroke_scale_type")
            method = scale if isinstance(scale, str) else ""
        obx.add(
            "NM",
            spec.loinc,
            spec.label,
            _numeric(raw, key),
            when=when,
            units=unit,
            sub_id=sub_id,
            method=method,
        )
    if entry.news2_total is not None:
        # NEWS2 has no LOINC code; the UK SNOMED CT extension code is sent (see fhir.py).
        obx.add(
            "NM",
            NEWS2_SNOMED,
            "NEWS2 total score" + ("" if entry.news2_complete else " (incomplete vitals)"),
            str(entry.news2_total),
            when=when,
            system=SNOMED_V2,
            units="{score}",
            sub_id=sub_id,
        )


def _observations(doc: EncounterDocument) -> list[str]:
    obx = _Obx()
    patient = doc.patient
    if patient.birth_date is None and patient.estimated_age_years is not None:
        obx.add(
            "NM",
            AGE_LOINC,
            "Age",
            str(patient.estimated_age_years),
            when=ts(doc.created_at, "created_at"),
            units="a",
            method="estimated by EMS crew",
        )
    ordered = sorted(doc.vitals, key=lambda entry: require_aware(entry.taken_at, "taken_at"))
    # OBX-4 (sub-id) numbers the vitals sets so a receiver can regroup one set's values.
    for number, entry in enumerate(ordered, start=1):
        _vitals_obx(obx, entry, str(number))
    for activation in doc.activations:
        if activation.kind in EDISPOSITION_24_KINDS:
            obx.add(
                CODED_VALUE_TYPE,
                TEAM_ACTIVATION_LOINC,
                "Pre-arrival team activation",
                f"^{escape(activation.kind)}",
                when=ts(activation.proposed_at, "proposed_at"),
            )
    return obx.segments


def _dg1(doc: EncounterDocument) -> str | None:
    if not (doc.working_impression or doc.working_impression_code):
        return None
    text = escape(doc.working_impression)
    if doc.working_impression_code:
        code = doc.working_impression_code.strip()
        system = SNOMED_V2 if impression_code_system(code) == "snomed" else ICD10CM_V2
        diagnosis = f"{escape(code)}^{text}^{system}"
    else:
        diagnosis = f"^{text}"
    # DG1-6 "W": a working diagnosis, which is what a field impression is.
    return _segment(
        "DG1", _fields(6, {1: "1", 3: diagnosis, 5: ts(doc.updated_at, "updated_at"), 6: "W"})
    )


def adt_message(
    doc: EncounterDocument,
    trigger: Trigger,
    *,
    sending_facility: str,
    receiving_facility: str,
    control_id: str,
    now: datetime,
    processing_id: Literal["P", "T", "D"] = "P",
) -> str:
    """An HL7 v2.5 ADT^A05/A04/A08 for the encounter, segments ended by CR.

    Raises ValueError on an unknown trigger, a naive datetime, a bad vital or a message
    hl7apy does not accept as valid v2.5.
    """
    if trigger not in STRUCTURE:
        raise ValueError(f"unsupported ADT trigger {trigger!r}")
    sent = ts(now, "now")
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            SENDING_APPLICATION,
            escape(sending_facility),
            "",
            escape(receiving_facility),
            sent,
            "",
            f"ADT^{trigger}^{STRUCTURE[trigger]}",
            escape(control_id),
            processing_id,
            "2.5",
            # MSH-15/16 stay empty: original acknowledgment mode, so the receiver answers
            # every message with an application ACK (AA/AE/AR) that send_mllp waits for.
            "",
            "",
            "",
            "",
            "",
            "UNICODE UTF-8",
        ]
    )
    occurred = {"A05": now, "A04": doc.arrived_at or now, "A08": doc.updated_at}[trigger]
    evn = _segment("EVN", _fields(6, {1: trigger, 2: sent, 6: ts(occurred, "occurred")}))
    segments = [msh, evn, _pid(doc), _pv1(doc)]
    pv2 = _pv2(doc)
    if pv2 is not None:
        segments.append(pv2)
    segments.extend(_observations(doc))
    segments.extend(
        _segment("AL1", _fields(3, {1: str(number), 3: f"^{escape(allergy)}"}))
        for number, allergy in enumerate(doc.allergies, start=1)
    )
    dg1 = _dg1(doc)
    if dg1 is not None:
        segments.append(dg1)
    message = SEGMENT_END.join(segments) + SEGMENT_END
    validate(message)
    return message


def validate(message: str) -> None:
    """Parse and validate an ER7 message with hl7apy (strict); ValueError if it is not valid.

    hl7apy checks structure, cardinality and datatypes against its v2.5 tables; table
    values and lengths are only warnings there and are not checked here.
    """
    try:
        parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)
        parsed.validate()
    except Exception as error:
        # hl7apy raises a dozen exception types; the class and element name, never the
        # field content, go into the message because it may hold patient data.
        raise ValueError(f"invalid HL7 v2.5 message: {type(error).__name__}") from error
