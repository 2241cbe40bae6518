"""HL7 v2.5: MSH-5/6, TS precision, PV1-50 length, A08 deltas, PR1/RXA/AL1 segments, A38,
and every message type round-tripped through two independent parsers (python-hl7, hl7apy)."""

from __future__ import annotations

import dataclasses
import re

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from handoff.interop.document import MedicationGiven, Procedure
from handoff.interop.hl7 import (
    adt_message,
    medication_message,
    observation_digests,
    visit_number,
)
from tests.handoff.interop.documents import at, encounter, reconciled_patient

NOW = at(13)
# Every HL7 delimiter and the escape character, in every free-text field we send.
NASTY = "A|B^C&D~E\\F"
# v2.5 TS: YYYYMMDDHHMMSS, at most four fractional digits, then the offset.
TS = re.compile(r"^\d{14}(\.\d{1,4})?[+-]\d{4}$")
TS_FIELDS = {
    "MSH": [7],
    "EVN": [2, 6],
    "PV1": [44],
    "PV2": [8],
    "OBX": [14],
    "DG1": [5],
    "PR1": [5],
    "RXA": [3, 4],
}


def adt(doc=None, trigger="A05", **kwargs):
    return adt_message(
        doc or encounter(),
        trigger,
        sending_facility="NORTH_EMS",
        receiving_application="EPIC_ADT",
        receiving_facility="STMARY_ED",
        control_id="GH0000000042",
        now=NOW,
        **kwargs,
    )


def ras(doc=None, **kwargs):
    return medication_message(
        doc or encounter(),
        sending_facility="NORTH_EMS",
        receiving_application="EPIC_RX",
        receiving_facility="STMARY_ED",
        control_id="GH0000000043",
        now=NOW,
        **kwargs,
    )


def segments(message: str, name: str) -> list[list[str]]:
    return [s.split("|") for s in message.split("\r") if s.startswith(name + "|")]


def nasty_doc():
    return encounter(
        status="arrived",
        arrived_at=at(30),
        chief_complaint=f"complaint {NASTY}",
        working_impression=f"impression {NASTY}",
        allergies=[f"allergy {NASTY}"],
        medications=[(f"home med {NASTY}", True)],
        procedures=[Procedure("p1", at(5), f"procedure {NASTY}", None)],
        medications_given=[MedicationGiven("m1", at(8), f"drug {NASTY}", 4, "mg", f"rt {NASTY}")],
        patient=dataclasses.replace(
            reconciled_patient(), family=f"Fam {NASTY}", given=f"Giv {NASTY}"
        ),
    )


ALL_MESSAGES = {
    "A05": lambda: adt(encounter(), "A05"),
    "A04": lambda: adt(encounter(status="arrived", arrived_at=at(30)), "A04"),
    "A08": lambda: adt(encounter(status="arrived", patient=reconciled_patient()), "A08"),
    "A38": lambda: adt(encounter(), "A38"),
    "O17": lambda: ras(),
    "A08-nasty": lambda: adt(nasty_doc(), "A08"),
    "O17-nasty": lambda: ras(nasty_doc()),
}


@pytest.mark.parametrize("name", ALL_MESSAGES)
def test_every_message_round_trips_through_python_hl7_and_hl7apy(name):
    message = ALL_MESSAGES[name]()

    parsed = hl7.parse(message)
    assert str(parsed) == message
    assert [str(s[0]) for s in parsed] == [s.split("|")[0] for s in message.split("\r") if s]
    strict = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)
    assert strict.validate()
    assert strict.to_er7().replace("\r", "") == message.replace("\r", "")
    # Re-parsing hl7apy's own output gives the same message again.
    again = parse_message(strict.to_er7(), validation_level=VALIDATION_LEVEL.STRICT)
    assert again.to_er7() == strict.to_er7()


@pytest.mark.parametrize("name", ALL_MESSAGES)
def test_msh_5_and_6_name_the_receiver(name):
    parsed = hl7.parse(ALL_MESSAGES[name]())

    assert str(parsed["MSH.F5"]) in {"EPIC_ADT", "EPIC_RX"}
    assert str(parsed["MSH.F6"]) == "STMARY_ED"
    assert str(parsed["MSH.F3"]) == "GOLDEN_HOUR"


@pytest.mark.parametrize("name", ALL_MESSAGES)
def test_every_timestamp_has_at_most_four_fractional_digits(name):
    message = ALL_MESSAGES[name]()
    doc_with_micro = encounter(updated_at=at(12).replace(microsecond=123456))
    checked = 0
    for text in (message, adt(doc_with_micro, "A08")):
        for segment, numbers in TS_FIELDS.items():
            for fields in segments(text, segment):
                for number in numbers:
                    # MSH-1 is the separator itself, so MSH field n is at index n - 1.
                    index = number - 1 if segment == "MSH" else number
                    # Trailing empty fields are not sent.
                    value = fields[index] if index < len(fields) else ""
                    if value:
                        assert TS.match(value), (segment, number, value)
                        checked += 1
    assert checked >= 5


def test_pv1_50_fits_cx_1_and_is_not_the_uuid():
    doc = encounter(encounter_id="0b8a6d3e-3f7c-4b7e-9a1d-2c5e8f9a0b1c")
    (pv1,) = segments(adt(doc), "PV1")

    number = pv1[50].split("^")[0]
    assert number == "GH-7F3K2Q" == visit_number(doc)
    assert len(number) <= 15
    assert pv1[50] == "GH-7F3K2Q^^^GOLDEN_HOUR^VN"
    with pytest.raises(ValueError, match="temp_id"):
        visit_number(encounter(patient=dataclasses.replace(reconciled_patient(), temp_id="X" * 16)))


def test_free_text_is_escaped_everywhere_and_reads_back_exactly():
    doc = nasty_doc()
    for message in (adt(doc, "A08"), ras(doc)):
        parsed = hl7.parse(message)
        # No field gained a component, repetition or subcomponent from the text.
        for segment in parsed:
            for field_ in segment:
                assert NASTY not in str(field_)
        values = [parsed.unescape(str(f)) for seg in parsed for f in seg]
        texts = " ".join(values)
        assert texts.count(NASTY) >= 1
    a08 = hl7.parse(adt(doc, "A08"))
    assert a08["PID.F5.R1.C1"] == f"Fam {NASTY}"
    assert a08["PID.F5.R1.C2"] == f"Giv {NASTY}"
    # python-hl7's accessors unescape; the raw segment fields do not.
    assert a08["PV2.F3.R1.C2"] == f"complaint {NASTY}"
    assert a08["DG1.F3.R1.C2"] == f"impression {NASTY}"
    assert a08["AL1.F3.R1.C2"] == f"allergy {NASTY}"
    assert a08.unescape(str(a08.segment("PR1")[3][0][1])) == f"procedure {NASTY}"
    rx = hl7.parse(ras(doc))
    assert rx.unescape(str(rx.segment("RXA")[5][0][1])) == f"drug {NASTY}"
    assert rx.unescape(str(rx.segment("RXR")[1][0][1])) == f"rt {NASTY}"


def test_a08_leaves_out_the_observations_the_receiver_has():
    doc = encounter(status="arrived")
    first = adt(doc, "A05")
    sent = observation_digests(doc)
    assert len(segments(first, "OBX")) > 10

    unchanged = adt(doc, "A08", sent_observations=sent)
    assert segments(unchanged, "OBX") == []

    newer = dataclasses.replace(
        doc.vitals[1], id="v3", taken_at=at(20), values={"heart_rate": 90}, news2_total=None
    )
    later = dataclasses.replace(doc, vitals=[*doc.vitals, newer])
    delta = segments(adt(later, "A08", sent_observations=sent), "OBX")
    assert [(o[1], o[3], o[4], o[5], o[11]) for o in delta] == [
        ("1", "8867-4^heart rate^LN", "3", "90", "F")
    ]


def test_a08_resends_a_changed_observation_as_corrected():
    doc = encounter()
    sent = observation_digests(doc)
    older = dataclasses.replace(
        doc, patient=dataclasses.replace(doc.patient, estimated_age_years=75)
    )

    obx = segments(adt(older, "A08", sent_observations=sent), "OBX")

    assert [(o[3].split("^")[0], o[5], o[11]) for o in obx] == [("30525-0", "75", "C")]


def test_procedures_go_as_pr1_and_home_medications_as_obx_and_al1():
    message = adt(encounter(), "A08")

    (pr1,) = segments(message, "PR1")
    assert pr1[1:6] == ["1", "", "268400002^12-lead ECG^SCT", "", "20250314093100+0000"]
    home = [o for o in segments(message, "OBX") if o[3].startswith("10160-0^")]
    assert [(o[2], o[5]) for o in home] == [
        ("ST", "Apixaban (anticoagulant)"),
        ("ST", "Metformin"),
    ]
    al1 = segments(message, "AL1")
    assert [a[2:4] for a in al1] == [
        ["", "^Penicillin"],
        ["", "^Latex"],
        ["MC^Miscellaneous contraindication^HL70127", "^Apixaban"],
    ]
    strict = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)
    assert strict.validate()


def test_medications_given_go_as_rxa_in_ras_o17():
    message = ras()
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)

    assert parsed.name == "RAS_O17"
    assert parsed.msh.msh_9.to_er7() == "RAS^O17^RAS_O17"
    rxa = segments(message, "RXA")
    assert [r[3:8] for r in rxa] == [
        ["20250314093400+0000", "20250314093400+0000", "^Ondansetron", "4", "mg^^UCUM"],
        ["20250314093500+0000", "20250314093500+0000", "^Oxygen", "15", "L/min^^UCUM"],
    ]
    assert [r[1] for r in segments(message, "RXR")] == ["^IV", "^non-rebreather mask"]
    assert [o[1:4] for o in segments(message, "ORC")] == [
        ["RE", "", "m1^GOLDEN_HOUR"],
        ["RE", "", "m2^GOLDEN_HOUR"],
    ]


def test_ras_o17_sends_only_new_doses_and_nothing_when_none_are_new():
    assert len(segments(ras(exclude={"m1"}), "RXA")) == 1
    assert ras(exclude={"m1", "m2"}) is None
    unknown = encounter(
        medications_given=[MedicationGiven("m9", at(8), "Aspirin", None, None, None)]
    )
    (rxa,) = segments(ras(unknown), "RXA")
    assert rxa[6] == "999"
    assert segments(ras(unknown), "RXR")[0][1] == "^route not recorded"


def test_a38_cancels_the_pre_admission_with_identifiers_only():
    message = adt(encounter(), "A38")
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)

    assert parsed.name == "ADT_A38"
    assert [s.split("|")[0] for s in message.split("\r") if s] == ["MSH", "EVN", "PID", "PV1"]
    assert segments(message, "PV1")[0][50] == "GH-7F3K2Q^^^GOLDEN_HOUR^VN"
