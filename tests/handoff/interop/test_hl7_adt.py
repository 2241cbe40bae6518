"""HL7 v2.5 ADT A05/A04/A08: hl7apy strict validation, identifiers, LOINC OBX, escaping."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from handoff.clinical.vocabulary import VITALS
from handoff.interop.document import identifier_systems
from handoff.interop.fhir import encounter_bundle
from handoff.interop.hl7 import adt_message, escape, validate
from tests.handoff.interop.documents import at, encounter, full_vitals, reconciled_patient

NOW = at(13)
COMPLAINT = encounter().chief_complaint


def build(doc=None, trigger="A05", **kwargs):
    return adt_message(
        doc or encounter(),
        trigger,
        sending_facility="NORTH EMS",
        receiving_facility="STMARY",
        control_id="GH000042",
        now=NOW,
        **kwargs,
    )


def segments(message: str, name: str) -> list[list[str]]:
    return [s.split("|") for s in message.split("\r") if s.startswith(name + "|")]


def unescape(text: str) -> str:
    for raw, escaped in (("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        text = text.replace(escaped, raw)
    return text.replace("\\E\\", "\\")


@pytest.mark.parametrize(
    ("trigger", "structure", "doc"),
    [
        ("A05", "ADT_A05", encounter()),
        ("A04", "ADT_A01", encounter(status="arrived", arrived_at=at(40))),
        ("A08", "ADT_A01", encounter(status="arrived", patient=reconciled_patient())),
        (
            "A05",
            "ADT_A05",
            encounter(
                vitals=[], allergies=[], activations=[], working_impression="",
                working_impression_code=None, chief_complaint="", eta=None,
            ),
        ),
    ],
    ids=["A05", "A04", "A08", "A05-minimal"],
)  # fmt: skip
def test_each_trigger_parses_and_validates_strictly(trigger, structure, doc):
    message = build(doc, trigger)

    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)
    assert parsed.validate()
    assert parsed.name == structure
    assert parsed.msh.msh_9.to_er7() == f"ADT^{trigger}^{structure}"
    assert parsed.msh.msh_12.to_er7() == "2.5"
    assert parsed.msh.msh_10.to_er7() == "GH000042"
    assert parsed.evn.evn_1.to_er7() == trigger
    assert parsed.pv1.pv1_2.to_er7() == "E"
    assert message.endswith("\r")
    assert "\n" not in message


def test_validation_rejects_a_broken_message():
    message = build()

    with pytest.raises(ValueError, match="invalid HL7"):
        validate(message.replace("EVN|", "EVX|"))
    with pytest.raises(ValueError, match="invalid HL7"):
        validate(message.replace("UNKNOWN^^^^^^U", ""))


def test_unknown_patient_is_sent_under_the_temporary_id():
    (pid,) = segments(build(), "PID")

    assert pid[3] == "GH-7F3K2Q^^^GOLDEN_HOUR&urn:golden-hour:temp-id&URI^PT"
    assert pid[5] == "UNKNOWN^^^^^^U"
    assert pid[8] == "M"


def test_reconciled_patient_carries_mrn_first_and_temp_id():
    message = build(encounter(patient=reconciled_patient()), "A08")
    (pid,) = segments(message, "PID")

    mrn, temp = pid[3].split("~")
    assert mrn == "00412345^^^STMARY^MR"
    assert temp.startswith("GH-7F3K2Q^^^")
    assert pid[5] == "O'Brien^Liam"
    assert pid[7] == "19540602"
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)
    assert [rep.cx_1.to_er7() for rep in parsed.pid.pid_3] == ["00412345", "GH-7F3K2Q"]


def test_obx_codes_are_the_vocabulary_loinc_codes():
    message = build(encounter(vitals=[full_vitals()]))
    obx = segments(message, "OBX")
    by_code = {o[3].split("^")[0]: o for o in obx if o[3].endswith("^LN")}

    for key in full_vitals().values:
        if key in VITALS:
            assert VITALS[key].loinc in by_code, key
    assert by_code["8867-4"][2:7] == ["NM", "8867-4^heart rate^LN", "1", "112", "/min^^UCUM"]
    assert by_code["8310-5"][5:7] == ["38.4", "Cel^^UCUM"]
    assert by_code["2339-0"][5:7] == ["4.2", "mmol/L^^UCUM"]
    assert by_code["19889-5"][5:7] == ["4.1", "kPa^^UCUM"]
    assert by_code["8480-6"][6] == "mm[Hg]^^UCUM"
    assert by_code["67775-7"][2] == "CWE"
    assert by_code["67775-7"][5].startswith("V^")
    assert by_code["67520-7"][17] == "^RACE"
    assert all(o[11] == "F" for o in obx)
    assert all(o[14] == "20250314093600+0000" for o in obx if o[4] == "1")
    assert [int(o[1]) for o in obx] == list(range(1, len(obx) + 1))


def test_obx_sub_id_groups_vitals_sets_in_time_order():
    obx = segments(build(), "OBX")
    times = {o[4]: o[14] for o in obx if o[4]}

    assert times == {"1": "20250314092600+0000", "2": "20250314093600+0000"}


def test_team_activation_obx_only_for_edisposition_24_kinds():
    obx = [o for o in segments(build(), "OBX") if o[3].startswith("69462-0^")]

    assert [(o[2], o[5], o[14]) for o in obx] == [("CWE", "^stroke", "20250314093700+0000")]


def test_allergies_and_working_impression():
    message = build()

    assert [a[3] for a in segments(message, "AL1")] == ["^Penicillin", "^Latex", "^Apixaban"]
    (dg1,) = segments(message, "DG1")
    assert dg1[3] == "I63.9^Acute ischaemic stroke^I10C"
    assert dg1[6] == "W"
    (snomed,) = segments(build(encounter(working_impression_code="230690007")), "DG1")
    assert snomed[3].endswith("^SCT")


def test_special_characters_in_free_text_are_escaped():
    message = build()
    (pv2,) = segments(message, "PV2")

    assert COMPLAINT == "Left-sided weakness | slurred speech ^ since 08:50 ~ wife says & more \\"
    assert pv2[3] == "^" + escape(COMPLAINT)
    assert unescape(pv2[3][1:]) == COMPLAINT
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)
    assert unescape(parsed.pv2.pv2_3.ce_2.to_er7()) == COMPLAINT


def test_escape_order_and_line_breaks():
    assert escape("a\\F\\b") == "a\\E\\F\\E\\b"
    assert escape("line one\r\nline two") == "line one\\X0D\\\\X0A\\line two"
    with pytest.raises(ValueError, match="invalid HL7"):
        validate("MSH|^~\\&|X\rPID|1||a|b")


def test_a04_event_is_the_arrival_time():
    message = build(encounter(status="arrived", arrived_at=at(40)), "A04")
    (evn,) = segments(message, "EVN")
    (pv1,) = segments(message, "PV1")

    assert evn[6] == "20250314100600+0000"
    assert pv1[44] == "20250314100600+0000"


def test_rejects_unknown_trigger_and_naive_time():
    with pytest.raises(ValueError, match="trigger"):
        build(trigger="A02")
    with pytest.raises(ValueError, match="now"):
        adt_message(
            encounter(), "A05", sending_facility="N", receiving_facility="S", control_id="1",
            now=datetime(2025, 3, 14, 9, 39),  # noqa: DTZ001
        )  # fmt: skip


@pytest.mark.parametrize(
    ("base", "authority"),
    [
        ("https://ems.example.org/id", "GOLDEN_HOUR&https://ems.example.org/id/temp-id&URI"),
        ("urn:oid:1.2.246.10.99", "GOLDEN_HOUR&1.2.246.10.99.1&ISO"),
    ],
)
def test_temporary_id_authority_is_the_deployments_system(base, authority):
    # PID-3 names the same system as the FHIR Patient.identifier (FHIR_IDENTIFIER_BASE).
    doc = dataclasses.replace(encounter(), systems=identifier_systems(base))
    (pid,) = segments(build(doc), "PID")

    assert pid[3] == f"GH-7F3K2Q^^^{authority}^PT"
    bundle = encounter_bundle(doc)
    (patient,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    (temp,) = [ident for ident in patient["identifier"] if ident["use"] == "temp"]
    assert temp["system"].removeprefix("urn:oid:") == authority.split("&")[1]
