"""The request and the receipt are valid FHIR R4 (the R4 JSON schema the document Bundle's
tests use, handoff.interop.fhir.validation): a message Bundle with its MessageHeader first."""

from __future__ import annotations

from datetime import UTC, datetime

from exchange import messages
from handoff.interop.fhir.validation import schema_issues
from tests.exchange.conftest import handoff_message


def test_the_patient_handoff_message_is_a_valid_r4_message_bundle():
    message = handoff_message()
    assert schema_issues(message) == []
    assert message["type"] == "message"
    assert message["entry"][0]["resource"]["resourceType"] == "MessageHeader"
    assert message["entry"][1]["resource"]["resourceType"] == "Bundle"


def test_a_receipt_with_an_operation_outcome_is_a_valid_r4_response_message():
    outcome = messages.operation_outcome(
        code="invalid", element="Patient.gender", message="Patient.gender: wrong"
    )
    receipt = messages.response_bundle(
        request_id="abc-123", event=messages.PATIENT_HANDOFF, code="fatal-error",
        source="https://b.example/api/v1/exchange/messages/",
        destination="https://a.example/api/v1/exchange/messages/",
        outcome=outcome, now=datetime.now(UTC),
    )  # fmt: skip
    assert schema_issues(receipt) == []
    header = receipt["entry"][0]["resource"]
    assert header["response"]["code"] == "fatal-error"
    assert header["response"]["identifier"] == "abc-123"
    assert receipt["entry"][1]["resource"]["resourceType"] == "OperationOutcome"
    ok = messages.response_bundle(
        request_id="abc-123", event=messages.PATIENT_HANDOFF, code="ok",
        source="https://b.example/", destination="https://a.example/", outcome=None,
        now=datetime.now(UTC),
    )  # fmt: skip
    assert schema_issues(ok) == []
    assert ok["entry"][0]["resource"]["response"]["code"] == "ok"


def test_a_broken_message_is_not_valid():
    message = handoff_message()
    message["entry"][0]["resource"]["eventCoding"] = "patient-handoff"
    assert schema_issues(message) != []
