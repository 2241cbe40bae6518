"""Outcome messages from the hospital: HL7 v2 ADT^A03 (discharge) and a FHIR R4 Encounter
update, parsed into the fields of handoff.services.outcome, and their answers (an HL7 ACK
or a FHIR OperationOutcome). No database here: handoff.services.inbound matches the
encounter and records. docs/interop.md, "Outcome back to EMS".

Every refusal is an InboundError naming where in the message the fault is (`PV1-36`,
`Encounter.hospitalization.dischargeDisposition`), so the hospital's interface team can
find it without asking us.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import hl7

from handoff.interop.hl7 import SENDING_APPLICATION, escape, ts

UNKNOWN_CONTROL_ID: Final = "UNKNOWN"
# HL7 table 0357 (message error condition codes) used in ERR-3.
ERR_SEGMENT_SEQUENCE: Final = "100"
ERR_REQUIRED_MISSING: Final = "101"
ERR_DATA_TYPE: Final = "102"
ERR_TABLE_VALUE: Final = "103"
ERR_UNSUPPORTED_TYPE: Final = "200"
ERR_UNKNOWN_KEY: Final = "204"

# FHIR R4 example discharge-disposition codes with an exact NUBC (eOutcome) equivalent;
# "alt-home" and "oth" have none and are refused (send the NUBC code instead).
FHIR_DISCHARGE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
NUBC_SYSTEM: Final = "https://www.nubc.org/patient-discharge"
FHIR_TO_NUBC: Final = {
    "home": "01",
    "hosp": "02",
    "snf": "03",
    "aadvice": "07",
    "exp": "20",
    "rehab": "62",
    "long": "63",
    "psy": "65",
    "other-hcf": "70",
}
ICD10_SYSTEMS: Final = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm")
HL7_ICD10_SYSTEMS: Final = ("I10", "I10C", "ICD10", "ICD10CM", "I10P")
# Which message element each outcome field comes from, to name it in a refusal.
HL7_LOCATION: Final = {
    "ed_disposition": "PV1-36",
    "hospital_disposition": "PV1-36",
    "diagnosis_text": "DG1-3",
    "diagnosis_icd10": "DG1-3",
    "admitted_unit": "PV1-37",
    "transfer_facility": "PV1-37",
    "arrived_at": "PV1-50",
    "encounter": "PV1-50",
}
FHIR_LOCATION: Final = {
    "ed_disposition": "Encounter.hospitalization.dischargeDisposition",
    "hospital_disposition": "Encounter.hospitalization.dischargeDisposition",
    "diagnosis_text": "Encounter.diagnosis",
    "diagnosis_icd10": "Encounter.diagnosis",
    "admitted_unit": "Encounter.hospitalization.destination",
    "transfer_facility": "Encounter.hospitalization.destination",
    "arrived_at": "Encounter.identifier",
    "encounter": "Encounter.identifier",
}
_TRANSFER_OR_ADMIT: Final = frozenset(
    {"02", "03", "04", "05", "09", "43", "50", "51", "62", "63", "64", "65", "66", "70"}
)


class InboundError(Exception):
    """A message refused; `where` names the element, `code` the HL7 table 0357 condition,
    `reject` whether it could not be read at all (AR) rather than not accepted (AE)."""

    def __init__(
        self, message: str, *, where: str, code: str = ERR_DATA_TYPE, reject: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.code = code
        self.reject = reject


@dataclass
class InboundOutcome:
    """What a message says: whom it is about and the outcome fields it carries."""

    control_id: str
    visit_number: str = ""
    encounter_uuid: UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)
    sender: tuple[str, str] = ("", "")


# --- HL7 v2 ADT^A03 -------------------------------------------------------------------------


def _value(segment: Any, position: int, *, component: int = 1, repetition: int = 1) -> str:
    try:
        value = segment.extract_field(
            field_num=position, repeat_num=repetition, component_num=component
        )
    except (IndexError, KeyError, ValueError):
        return ""
    return str(value or "").strip()


def _unescape(message: Any, text: str) -> str:
    return str(message.unescape(text)) if text else ""


def _segment(message: Any, name: str, *, required: bool) -> Any:
    try:
        return message.segment(name)
    except KeyError:
        if required:
            raise InboundError(
                f"The {name} segment is missing.", where=name, code=ERR_SEGMENT_SEQUENCE
            ) from None
        return None


def _disposition_code(raw: str) -> str:
    # Some systems send table 0112's codes without the leading zero ("1" for "01").
    return raw.zfill(2) if raw.isdigit() and len(raw) == 1 else raw


def _hl7_diagnosis(message: Any) -> tuple[str, str]:
    """(text, ICD-10 code) of the A03's diagnosis: a final (DG1-6 F) before a working one."""
    best: tuple[int, str, str] | None = None
    for segment in message.segments("DG1") if "DG1" in _names(message) else []:
        rank = {"F": 0, "W": 1, "A": 2}.get(_value(segment, 6), 3)
        code = _unescape(message, _value(segment, 3, component=1))
        text = _unescape(message, _value(segment, 3, component=2)) or _unescape(
            message, _value(segment, 4)
        )
        system = _value(segment, 3, component=3).upper()
        if code and system not in HL7_ICD10_SYSTEMS:
            raise InboundError(
                f"DG1-3.3 must name ICD-10 ({', '.join(HL7_ICD10_SYSTEMS)}), not {system!r}.",
                where="DG1-3",
                code=ERR_TABLE_VALUE,
            )
        if best is None or rank < best[0]:
            best = (rank, text, code)
    return (best[1], best[2]) if best else ("", "")


def _names(message: Any) -> set[str]:
    return {str(segment[0]) for segment in message}


def parse_a03(body: str) -> InboundOutcome:
    """The outcome an ADT^A03 carries; InboundError naming the field when it cannot be used.

    Whom: PV1-50 (our visit number, assigning authority GOLDEN_HOUR, as our A05/A04 sent it)
    or else the PID-3 identifier of type PT. What: PV1-36 discharge disposition (table 0112,
    the NUBC codes), PV1-37 discharged-to location (the ward when admitted, the facility when
    transferred), DG1-3 the diagnosis (ICD-10 code^text^I10).
    """
    text = body.replace("\r\n", "\r").replace("\n", "\r").strip("\r \t\x0b\x1c")
    if not text.startswith("MSH"):
        raise InboundError(
            "The message must start with an MSH segment.",
            where="MSH",
            reject=True,
            code=ERR_SEGMENT_SEQUENCE,
        )
    try:
        message = hl7.parse(text)
        msh = message.segment("MSH")
    except Exception as error:  # python-hl7 raises bare Exceptions on broken framing
        raise InboundError(
            f"The message is not HL7 v2 ER7: {error}.", where="MSH", reject=True
        ) from None
    control_id = _value(msh, 10)
    result = InboundOutcome(control_id=control_id, sender=(_value(msh, 3), _value(msh, 4)))
    kind = (_value(msh, 9, component=1), _value(msh, 9, component=2))
    if kind != ("ADT", "A03"):
        raise InboundError(
            f"MSH-9 must be ADT^A03 (discharge), not {'^'.join(kind)!r}.",
            where="MSH-9",
            code=ERR_UNSUPPORTED_TYPE,
            reject=True,
        )
    if not control_id:
        raise InboundError(
            "MSH-10 (message control id) is required.",
            where="MSH-10",
            code=ERR_REQUIRED_MISSING,
            reject=True,
        )
    if not _value(msh, 12).startswith("2."):
        raise InboundError("MSH-12 must be an HL7 v2 version (2.x).", where="MSH-12", reject=True)
    pid = _segment(message, "PID", required=True)
    pv1 = _segment(message, "PV1", required=True)
    if _value(pv1, 50, component=4) == SENDING_APPLICATION:
        result.visit_number = _value(pv1, 50)
    else:
        for repetition in range(1, 6):
            if _value(pid, 3, component=5, repetition=repetition) == "PT":
                result.visit_number = _value(pid, 3, repetition=repetition)
                break
    if not result.visit_number:
        raise InboundError(
            "PV1-50 (visit number ^^^GOLDEN_HOUR^VN, as our ADT A05/A04 sent it) or a PID-3 "
            "identifier of type PT is required to find the patient.",
            where="PV1-50",
            code=ERR_REQUIRED_MISSING,
        )
    disposition = _disposition_code(_value(pv1, 36))
    if not disposition:
        raise InboundError(
            "PV1-36 (discharge disposition) is required.",
            where="PV1-36",
            code=ERR_REQUIRED_MISSING,
        )
    diagnosis_text, diagnosis_code = _hl7_diagnosis(message)
    result.data = {
        "ed_disposition": disposition,
        "diagnosis_text": diagnosis_text,
        "diagnosis_icd10": diagnosis_code,
    }
    _destination(result.data, _unescape(message, _value(pv1, 37)))
    return result


def _destination(data: dict[str, Any], where_to: str) -> None:
    """The discharged-to location as the ward (admitted) or the facility (transferred)."""
    if not where_to or data["ed_disposition"] not in _TRANSFER_OR_ADMIT:
        return
    if data["ed_disposition"] == "09":
        data["admitted_unit"] = where_to
    else:
        data["transfer_facility"] = where_to


def ack(
    body: str,
    *,
    control_id: str,
    error: InboundError | None,
    now: datetime,
    ack_control_id: str,
) -> str:
    """The HL7 v2.5 ACK of an A03: MSA AA, or AE/AR with an ERR segment naming the field."""
    sender = ("", "")
    if body.startswith("MSH"):
        try:
            msh = hl7.parse(body.replace("\n", "\r").split("\r")[0]).segment("MSH")
            sender = (_value(msh, 3), _value(msh, 4))
        except Exception:  # noqa: S110 - an unreadable MSH is answered without its names
            pass
    code = "AA" if error is None else ("AR" if error.reject else "AE")
    msh_out = "|".join(
        [
            "MSH",
            "^~\\&",
            SENDING_APPLICATION,
            "GOLDENHOUR",
            escape(sender[0]),
            escape(sender[1]),
            ts(now, "now"),
            "",
            "ACK^A03^ACK",
            escape(ack_control_id),
            "P",
            "2.5",
        ]
    )
    # MSA-2 is required; a message whose MSH-10 could not be read is answered as UNKNOWN.
    segments = [msh_out, f"MSA|{code}|{escape(control_id or UNKNOWN_CONTROL_ID)}"]
    if error is not None:
        segment_id, _, position = error.where.partition("-")
        location = f"{segment_id}^1^{position}" if position else segment_id
        segments.append(f"ERR||{location}|{error.code}^^HL70357|E||||{escape(error.message)}")
    return "\r".join(segments) + "\r"


# --- FHIR R4 Encounter ----------------------------------------------------------------------


def _fhir_disposition(encounter: dict[str, Any]) -> str:
    where = FHIR_LOCATION["ed_disposition"]
    concept = (encounter.get("hospitalization") or {}).get("dischargeDisposition")
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        raise InboundError(f"{where}.coding is required.", where=where, code=ERR_REQUIRED_MISSING)
    for coding in concept["coding"]:
        if not isinstance(coding, dict):
            continue
        system, code = coding.get("system"), str(coding.get("code") or "")
        if system == NUBC_SYSTEM:
            return _disposition_code(code)
        if system == FHIR_DISCHARGE_SYSTEM:
            if code not in FHIR_TO_NUBC:
                raise InboundError(
                    f"{where} {code!r} has no NEMSIS / NUBC equivalent; send the NUBC code "
                    f"({NUBC_SYSTEM}).",
                    where=where,
                    code=ERR_TABLE_VALUE,
                )
            return FHIR_TO_NUBC[code]
    raise InboundError(
        f"{where} needs a coding from {NUBC_SYSTEM} or {FHIR_DISCHARGE_SYSTEM}.",
        where=where,
        code=ERR_TABLE_VALUE,
    )


def _fhir_diagnosis(encounter: dict[str, Any]) -> tuple[str, str]:
    """(text, ICD-10) of the discharge diagnosis (use DD, else rank 1, else the first): a
    contained Condition (`#id`) with an ICD-10 coding, or the reference's display."""
    where = FHIR_LOCATION["diagnosis_text"]
    entries = encounter.get("diagnosis") or []
    if not isinstance(entries, list):
        raise InboundError(f"{where} must be a list.", where=where)
    contained = {
        f"#{item.get('id')}": item
        for item in encounter.get("contained") or []
        if isinstance(item, dict) and item.get("resourceType") == "Condition"
    }

    def order(entry: dict[str, Any]) -> tuple[int, int]:
        uses = [c.get("code") for c in ((entry.get("use") or {}).get("coding") or [])]
        return (0 if "DD" in uses else 1, int(entry.get("rank") or 99))

    for entry in sorted((e for e in entries if isinstance(e, dict)), key=order):
        reference = entry.get("condition") or {}
        condition = contained.get(str(reference.get("reference", "")))
        if condition is None:
            return str(reference.get("display") or ""), ""
        concept = condition.get("code") or {}
        code = ""
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and coding.get("system") in ICD10_SYSTEMS:
                code = str(coding.get("code") or "")
                break
        text = str(concept.get("text") or reference.get("display") or "")
        return text, code
    return "", ""


def parse_fhir_encounter(resource: Any, *, encounter_system: str) -> InboundOutcome:
    """The outcome a finished FHIR R4 Encounter carries; InboundError naming the element.

    Whom: the Encounter.identifier of system `encounter_system` we sent in our Bundle (the
    encounter's public id). What: hospitalization.dischargeDisposition (NUBC, or the FHIR
    discharge-disposition codes that map to one), hospitalization.destination.display (the
    ward or the facility), diagnosis (a contained Condition with an ICD-10 coding).
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Encounter":
        raise InboundError(
            "The body must be a FHIR Encounter resource.", where="Encounter", reject=True
        )
    result = InboundOutcome(control_id=str(resource.get("id") or ""))
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == encounter_system:
            try:
                result.encounter_uuid = UUID(str(identifier.get("value")))
            except ValueError:
                raise InboundError(
                    "Encounter.identifier.value must be the id we sent.",
                    where="Encounter.identifier",
                ) from None
    if result.encounter_uuid is None:
        raise InboundError(
            f"Encounter.identifier of system {encounter_system} (as our Bundle sent it) is "
            "required to find the patient.",
            where="Encounter.identifier",
            code=ERR_REQUIRED_MISSING,
        )
    if resource.get("status") != "finished":
        raise InboundError(
            "Encounter.status must be 'finished' for a discharge outcome.",
            where="Encounter.status",
            code=ERR_TABLE_VALUE,
        )
    disposition = _fhir_disposition(resource)
    text, code = _fhir_diagnosis(resource)
    result.data = {"ed_disposition": disposition, "diagnosis_text": text, "diagnosis_icd10": code}
    destination = (resource.get("hospitalization") or {}).get("destination") or {}
    _destination(result.data, str(destination.get("display") or "").strip())
    return result


def operation_outcome(error: InboundError | None, *, kind: str = "invalid") -> dict[str, Any]:
    """A FHIR OperationOutcome: informational on success, else one error at the element."""
    if error is None:
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "information", "code": "informational", "diagnostics": "Recorded."}
            ],
        }
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": kind,
                "diagnostics": error.message,
                "expression": [error.where],
            }
        ],
    }
