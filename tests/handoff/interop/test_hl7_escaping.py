"""HL7 v2.5 escaping, proven by an independent parser: whatever text the crew types (every
delimiter, the escape character, line breaks, control characters, any printable Unicode)
is read back by python-hl7 exactly as typed, in every free-text field we send, and MSH-9
names the message structure of HL7 v2.5."""

from __future__ import annotations

import dataclasses

import hl7
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoff.interop.document import MedicationGiven, Procedure
from handoff.interop.hl7 import STRUCTURE, adt_message, escape, medication_message
from tests.handoff.interop.documents import at, encounter, reconciled_patient

NOW = at(13)
HEADER = {
    "sending_facility": "NORTH_EMS",
    "receiving_application": "EPIC_ADT",
    "receiving_facility": "STMARY_ED",
    "control_id": "GH0000000042",
    "now": NOW,
}
# The characters that break a naive ER7 writer, weighted in; the rest is any character
# UTF-8 can carry (surrogates cannot be encoded).
NASTY = st.sampled_from([*"|^~\\&\r\n\t\x0b\x1c\x1d\x00\x7f", "\r\n", "\\X0D\\", "\\.br\\"])
ANY_CHAR = st.characters(exclude_categories=("Cs",))
TEXT = st.lists(st.one_of(NASTY, ANY_CHAR), min_size=1, max_size=30).map("".join)


def expected(text: str) -> str:
    # Trailing whitespace is not significant in ST (v2.5 section 2.A.74) and is dropped.
    return text.rstrip()


def doc_with(family: str, given_name: str, complaint: str, note: str, drug: str):
    return encounter(
        status="arrived",
        arrived_at=at(30),
        chief_complaint=complaint,
        working_impression=note,
        allergies=[note],
        medications=[(drug, False)],
        procedures=[Procedure("p1", at(5), note, None)],
        medications_given=[MedicationGiven("m1", at(8), drug, 4, "mg", note)],
        patient=dataclasses.replace(reconciled_patient(), family=family, given=given_name),
    )


def value(parsed: hl7.Message, segment: str, field: int, component: int) -> str:
    # python-hl7's own unescape (section 2.7 escapes, \Xhh\ hex) on the raw component.
    return parsed.unescape(str(parsed.segment(segment)[field][0][component]))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(family=TEXT, given_name=TEXT, complaint=TEXT, note=TEXT, drug=TEXT)
def test_any_free_text_round_trips_through_python_hl7(family, given_name, complaint, note, drug):
    doc = doc_with(family, given_name, complaint, note, drug)
    adt = adt_message(doc, "A08", **HEADER)  # also validated strictly by hl7apy
    ras = medication_message(doc, **HEADER)
    assert ras is not None

    parsed = hl7.parse(adt)
    # Exactly the segments we wrote: no text ended a segment or started a new one.
    assert [str(s[0]) for s in parsed] == [s[:3] for s in adt.split("\r") if s]
    if expected(family) or expected(given_name):
        assert value(parsed, "PID", 5, 0) == expected(family)
        assert value(parsed, "PID", 5, 1) == expected(given_name)
    if expected(complaint):
        assert value(parsed, "PV2", 3, 1) == expected(complaint)
    if expected(note):
        assert value(parsed, "DG1", 3, 1) == expected(note)
        assert value(parsed, "AL1", 3, 1) == expected(note)
        assert value(parsed, "PR1", 3, 1) == expected(note)
    medication_obx = [s for s in parsed.segments("OBX") if str(s[3][0][0]) == "10160-0"]
    assert [parsed.unescape(str(s[5])) for s in medication_obx] == [expected(drug)]

    rx = hl7.parse(ras)
    assert [str(s[0]) for s in rx] == [s[:3] for s in ras.split("\r") if s]
    assert value(rx, "RXA", 5, 1) == expected(drug)
    if expected(note):
        assert value(rx, "RXR", 1, 1) == expected(note)


def test_a_name_with_apostrophe_hyphen_umlaut_and_a_caret():
    name = "O'Brien-Åström ^ Müller"
    doc = doc_with(name, "Zoë", "chest pain\r\nsince 08:50 | sweating", "n", "ASA")
    message = adt_message(doc, "A05", **HEADER)

    pid = next(s for s in message.split("\r") if s.startswith("PID|"))
    assert "O'Brien-Åström \\S\\ Müller^Zoë" in pid
    parsed = hl7.parse(message)
    assert parsed["PID.F5.R1.C1"] == name
    assert parsed["PID.F5.R1.C2"] == "Zoë"
    assert value(parsed, "PV2", 3, 1) == "chest pain\r\nsince 08:50 | sweating"
    assert "\n" not in message


def test_escape_of_each_delimiter_and_control_character():
    assert escape("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    # The escape character first: an escape in the text is not mistaken for ours.
    assert escape("\\F\\") == "\\E\\F\\E\\"
    assert escape("one\r\ntwo\tthree") == "one\\X0D\\\\X0A\\two\\X09\\three"
    assert escape("\x0b\x1c\x7f") == "\\X0B\\\\X1C\\\\X7F\\"
    assert escape("trailing  \r\n") == "trailing"


@pytest.mark.parametrize(
    ("trigger", "msh_9"),
    [("A05", "ADT^A05^ADT_A05"), ("A04", "ADT^A04^ADT_A01"), ("A08", "ADT^A08^ADT_A01"),
     ("A38", "ADT^A38^ADT_A38")],
)  # fmt: skip
def test_msh_9_carries_the_v2_5_message_structure(trigger, msh_9):
    doc = encounter(status="arrived", arrived_at=at(30))
    parsed = hl7.parse(adt_message(doc, trigger, **HEADER))

    assert str(parsed.segment("MSH")[9]) == msh_9
    assert f"ADT^{trigger}^{STRUCTURE[trigger]}" == msh_9
    ras = medication_message(
        encounter(medications_given=[MedicationGiven("m", at(8), "ASA", 1, "mg", "")]), **HEADER
    )
    assert ras is not None
    assert str(hl7.parse(ras).segment("MSH")[9]) == "RAS^O17^RAS_O17"
