"""HL7 v2.5 messages for one encounter: ADT (A05 pre-admit, A04 register, A08 update, A38
cancel pre-admit) and RAS^O17 (medications given).

Built as ER7 text with our own escaping, then parsed and validated with hl7apy (strict)
before it is returned, so a malformed message never leaves the process. A04 and A08 use
the ADT_A01 message structure, A05 and A38 their own (HL7 v2.5 chapters 3 and 4). See
docs/interop.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
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
from handoff.interop.fhir.codes import (
    AGE_LOINC,
    AVPU_DISPLAY,
    DOSE_UCUM,
    NEWS2_SNOMED,
    TEAM_ACTIVATION_LOINC,
    UCUM_OF_UNIT,
    travelling_unit,
)

Trigger = Literal["A05", "A04", "A08", "A38"]
ProcessingId = Literal["P", "T", "D"]

STRUCTURE: Final = {"A05": "ADT_A05", "A04": "ADT_A01", "A08": "ADT_A01", "A38": "ADT_A38"}
SENDING_APPLICATION: Final = "GOLDEN_HOUR"
SEX: Final = {"male": "M", "female": "F", "other": "O", "unknown": "U"}


def temp_id_authority(doc: EncounterDocument) -> str:
    """CX assigning authority (HD) of the temporary id: namespace & universal id & type.

    The same system the FHIR Patient.identifier carries (the deployment's
    FHIR_IDENTIFIER_BASE), so both exports name one system: an OID as type ISO (the bare
    OID, HL7 table 0301), an https or urn URI as type URI.
    """
    system = doc.systems.temp_id
    if system.startswith("urn:oid:"):
        return f"GOLDEN_HOUR&{escape(system.removeprefix('urn:oid:'))}&ISO"
    return f"GOLDEN_HOUR&{escape(system)}&URI"


SEGMENT_END: Final = "\r"
# OBX-2 for coded values and the table 0396 codes for SNOMED CT / ICD-10-CM; hl7apy's v2.5
# tables lack all three (see docs/interop.md), a receiver pinned to them may want CE / SNM.
CODED_VALUE_TYPE: Final = "CWE"
SNOMED_V2: Final = "SCT"
ICD10CM_V2: Final = "I10C"
# Current (home) medications: LOINC "History of Medication use Narrative", one OBX each.
MEDICATION_HISTORY_LOINC: Final = "10160-0"
# AL1-2 allergen type, HL7 table 0127 "MC": miscellaneous contraindication (anticoagulation
# contraindicates thrombolysis and changes every bleeding decision).
CONTRAINDICATION: Final = "MC^Miscellaneous contraindication^HL70127"
# RXA-6 is required; HL7 v2.5 section 4.14.7.6 says 999 when the amount is not known.
UNKNOWN_AMOUNT: Final = "999"
# CX.1 (ID Number) is ST of at most 15 characters in v2.5 (section 2.A.14).
CX_ID_MAX: Final = 15

_ESCAPES: Final = (
    # The escape character first, or the escapes added below would be escaped again.
    ("\\", "\\E\\"),
    ("|", "\\F\\"),
    ("^", "\\S\\"),
    ("&", "\\T\\"),
    ("~", "\\R\\"),
)


# C0 controls and DEL: a CR would end the segment, an LF ends it for many receivers, and
# MLLP frames with 0x0B / 0x1C; each goes as the hex escape \Xhh\ (section 2.7.5).
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def escape(text: str) -> str:
    """Escape free text for an ER7 field (HL7 v2.5 section 2.7): the delimiters as
    \\F\\ \\S\\ \\T\\ \\R\\ \\E\\, every control character (CR, LF, tab, ...) as \\Xhh\\.

    Line breaks are kept as \\X0D\\ / \\X0A\\ rather than `\\.br\\`, which is defined for
    FT fields only (none of ours are). Trailing whitespace is dropped: it is not
    significant in ST (section 2.A.74) and parsers strip it from a message's last field.
    """
    text = text.rstrip()
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return _CONTROL.sub(lambda match: f"\\X{ord(match.group()):02X}\\", text)


def ts(value: datetime, name: str) -> str:
    """An HL7 TS in UTC to the second, with an explicit +0000 offset.

    v2.5 TS allows at most four fractional digits (YYYYMMDDHHMMSS.SSSS); Python's %f has
    six, so sub-second precision is dropped rather than formatted.
    """
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
    identifiers = [f"{escape(patient.temp_id)}^^^{temp_id_authority(doc)}^PT"]
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


def visit_number(doc: EncounterDocument) -> str:
    """PV1-50: the encounter's temporary identifier, unique per encounter and short enough.

    The encounter UUID (36 characters) does not fit CX.1 (15); the temporary identifier
    (`GH-2026-XXXXXX`, 14) is unique in the database and is what the ED board shows.
    """
    number = doc.patient.temp_id
    if len(number) > CX_ID_MAX:
        raise ValueError(f"temp_id is longer than {CX_ID_MAX} characters (CX.1)")
    return number


def _pv1(doc: EncounterDocument) -> str:
    values = {
        1: "1",
        2: "E",  # patient class: emergency
        3: f"ED^^^{escape(doc.hospital_code)}",
        4: "E",  # admission type: emergency (table 0007)
        # Our encounter is the alternate visit id; PV1-19 belongs to the hospital.
        50: f"{escape(visit_number(doc))}^^^GOLDEN_HOUR^VN",
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


@dataclass
class _ObxGroup:
    """The OBX rows of one observation (a vitals set, an activation, ...) under a stable key.

    The key and the digest let a later message leave out what the receiver already has:
    OBX-1 (set id) and OBX-4 (sub-id) are positions in one message, so neither is content.
    """

    key: str
    sub_id: str = ""
    rows: list[dict[int, str]] = field(default_factory=list)

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
        method: str = "",
    ) -> None:
        self.rows.append(
            {
                2: value_type,
                3: f"{code}^{escape(text)}^{system}",
                5: value,
                6: f"{escape(units)}^^UCUM" if units else "",
                11: "F",
                14: when,
                17: f"^{escape(method)}" if method else "",
            }
        )

    def digest(self) -> str:
        content = SEGMENT_END.join(_segment("OBX", _fields(17, row)) for row in self.rows)
        return hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


class _Obx:
    def __init__(self) -> None:
        self.groups: dict[str, _ObxGroup] = {}

    def group(self, key: str, sub_id: str = "") -> _ObxGroup:
        return self.groups.setdefault(key, _ObxGroup(key, sub_id))

    def render(self, sent: Mapping[str, str]) -> list[str]:
        """The OBX segments of every group the receiver does not have as it is now.

        A group sent before with other content goes again with OBX-11 `C` (corrected).
        """
        segments: list[str] = []
        for group in self.groups.values():
            digest = group.digest()
            if sent.get(group.key) == digest:
                continue
            status = "C" if group.key in sent else "F"
            for row in group.rows:
                values = {**row, 1: str(len(segments) + 1), 4: group.sub_id, 11: status}
                segments.append(_segment("OBX", _fields(17, values)))
        return segments


def _numeric(raw: object, key: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"vital {key} must be a number")
    return fmt(raw)


def _vitals_obx(obx: _ObxGroup, entry: VitalsEntry) -> None:
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
            obx.add(CODED_VALUE_TYPE, spec.loinc, spec.label, coded, when=when)
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
            method=method,
        )
    if entry.news2_total is not None:
        # NEWS2 has no LOINC code; the UK SNOMED CT extension code is sent (see fhir/codes.py).
        obx.add(
            "NM",
            NEWS2_SNOMED,
            "NEWS2 total score" + ("" if entry.news2_complete else " (incomplete vitals)"),
            str(entry.news2_total),
            when=when,
            system=SNOMED_V2,
            units="{score}",
        )


def _observations(doc: EncounterDocument) -> _Obx:
    obx = _Obx()
    patient = doc.patient
    if patient.birth_date is None and patient.estimated_age_years is not None:
        obx.group("age").add(
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
        _vitals_obx(obx.group(f"vitals:{entry.id}", str(number)), entry)
    for activation in doc.activations:
        if activation.kind in EDISPOSITION_24_KINDS:
            obx.group(f"activation:{activation.id}").add(
                CODED_VALUE_TYPE,
                TEAM_ACTIVATION_LOINC,
                "Pre-arrival team activation",
                f"^{escape(activation.kind)}",
                when=ts(activation.proposed_at, "proposed_at"),
            )
    for name, anticoagulant in doc.medications:
        obx.group(f"medication:{name}").add(
            "ST",
            MEDICATION_HISTORY_LOINC,
            "History of medication use",
            escape(name) + (" (anticoagulant)" if anticoagulant else ""),
            # OBX-14 empty: when the crew heard of it is not when it was taken, and a
            # time that moves with every update would resend it with every A08.
            when="",
        )
    return obx


def observation_digests(doc: EncounterDocument) -> dict[str, str]:
    """{observation key: digest} of every OBX group an ADT message for `doc` can carry.

    Pass what a receiver has acknowledged as `sent_observations` to leave it out next time.
    """
    return {key: group.digest() for key, group in _observations(doc).groups.items()}


def _al1(doc: EncounterDocument) -> list[str]:
    rows = [{3: f"^{escape(allergy)}"} for allergy in doc.allergies]
    rows += [
        {2: CONTRAINDICATION, 3: f"^{escape(name)}"}
        for name, anticoagulant in doc.medications
        if anticoagulant
    ]
    return [
        _segment("AL1", _fields(5, {1: str(number), **row}))
        for number, row in enumerate(rows, start=1)
    ]


def _pr1(doc: EncounterDocument) -> list[str]:
    ordered = sorted(doc.procedures, key=lambda p: require_aware(p.performed_at, "performed_at"))
    segments = []
    for number, procedure in enumerate(ordered, start=1):
        text = escape(procedure.text)
        code = (
            f"{escape(procedure.snomed_code)}^{text}^{SNOMED_V2}"
            if procedure.snomed_code
            else f"^{text}"
        )
        segments.append(
            _segment(
                "PR1",
                _fields(
                    5, {1: str(number), 3: code, 5: ts(procedure.performed_at, "performed_at")}
                ),
            )
        )
    return segments


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


def _msh(
    message_type: str,
    *,
    sending_facility: str,
    receiving_application: str,
    receiving_facility: str,
    control_id: str,
    sent: str,
    processing_id: ProcessingId,
) -> str:
    return "|".join(
        [
            "MSH",
            "^~\\&",
            SENDING_APPLICATION,
            escape(sending_facility),
            escape(receiving_application),
            escape(receiving_facility),
            sent,
            "",
            message_type,
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


def adt_message(
    doc: EncounterDocument,
    trigger: Trigger,
    *,
    sending_facility: str,
    receiving_facility: str,
    control_id: str,
    now: datetime,
    receiving_application: str = "",
    processing_id: ProcessingId = "P",
    sent_observations: Mapping[str, str] | None = None,
) -> str:
    """An HL7 v2.5 ADT^A05/A04/A08/A38 for the encounter, segments ended by CR.

    `sent_observations` ({key: digest}, from `observation_digests` of what the receiver
    acknowledged) leaves out the OBX groups it already has; AL1, DG1 and PR1 are lists the
    receiver replaces and always go whole. A38 (cancel pre-admit) carries PID and PV1 only.
    Raises ValueError on an unknown trigger, a naive datetime, a bad vital or a message
    hl7apy does not accept as valid v2.5.
    """
    if trigger not in STRUCTURE:
        raise ValueError(f"unsupported ADT trigger {trigger!r}")
    sent = ts(now, "now")
    msh = _msh(
        f"ADT^{trigger}^{STRUCTURE[trigger]}",
        sending_facility=sending_facility,
        receiving_application=receiving_application,
        receiving_facility=receiving_facility,
        control_id=control_id,
        sent=sent,
        processing_id=processing_id,
    )
    occurred = {"A05": now, "A04": doc.arrived_at or now, "A08": doc.updated_at, "A38": now}
    evn = _segment("EVN", _fields(6, {1: trigger, 2: sent, 6: ts(occurred[trigger], "occurred")}))
    segments = [msh, evn, _pid(doc), _pv1(doc)]
    if trigger != "A38":
        pv2 = _pv2(doc)
        if pv2 is not None:
            segments.append(pv2)
        segments.extend(_observations(doc).render(sent_observations or {}))
        segments.extend(_al1(doc))
        dg1 = _dg1(doc)
        if dg1 is not None:
            segments.append(dg1)
        segments.extend(_pr1(doc))
    message = SEGMENT_END.join(segments) + SEGMENT_END
    validate(message)
    return message


def medication_message(
    doc: EncounterDocument,
    *,
    sending_facility: str,
    receiving_facility: str,
    control_id: str,
    now: datetime,
    receiving_application: str = "",
    processing_id: ProcessingId = "P",
    exclude: Collection[str] = (),
) -> str | None:
    """An HL7 v2.5 RAS^O17 (pharmacy administration) with one RXA per medication given.

    ADT has no medication segment; RXA (with its required ORC and RXR) exists only in the
    pharmacy and immunization messages, and RAS^O17 is the one for "this was given".
    `exclude` holds the ids of medications the receiver already has. None when there is
    nothing left to send. Raises ValueError as `adt_message`.
    """
    given = sorted(
        (med for med in doc.medications_given if med.id not in exclude),
        key=lambda med: require_aware(med.given_at, "given_at"),
    )
    if not given:
        return None
    sent = ts(now, "now")
    segments = [
        _msh(
            "RAS^O17^RAS_O17",
            sending_facility=sending_facility,
            receiving_application=receiving_application,
            receiving_facility=receiving_facility,
            control_id=control_id,
            sent=sent,
            processing_id=processing_id,
        ),
        _pid(doc),
        _pv1(doc),
    ]
    for med in given:
        when = ts(med.given_at, "given_at")
        # ORC-1 RE: an administration reported without an order; ORC-3 (filler order
        # number) is our id of the dose, so a receiver can tell a repeat from a new dose.
        segments.append(_segment("ORC", _fields(3, {1: "RE", 3: f"{escape(med.id)}^GOLDEN_HOUR"})))
        amount = fmt(med.dose) if med.dose is not None else UNKNOWN_AMOUNT
        unit = ""
        if med.dose is not None and med.dose_unit:
            ucum = DOSE_UCUM.get(med.dose_unit)
            unit = f"{ucum}^^UCUM" if ucum else f"^{escape(med.dose_unit)}"
        rxa = {1: "0", 2: "1", 3: when, 4: when, 5: f"^{escape(med.name)}", 6: amount, 7: unit}
        segments.append(_segment("RXA", _fields(7, rxa)))
        route = escape(med.route) if med.route else "route not recorded"
        segments.append(_segment("RXR", _fields(1, {1: f"^{route}"})))
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
