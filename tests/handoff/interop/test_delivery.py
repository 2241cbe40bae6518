"""Delivery clients against real receivers on 127.0.0.1, started and stopped per test."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from handoff.interop.delivery import DeliveryError, send_fhir, send_mllp
from handoff.interop.fhir import encounter_bundle
from handoff.interop.hl7 import adt_message
from tests.handoff.interop.documents import at, encounter

# Upper bound for a receiver a test deliberately leaves hanging; the client gives up sooner.
HANG_SECONDS = 5.0


@dataclass
class Receiver:
    """What a test receiver answers, and what it saw."""

    answer: Any = None
    # An ERR segment's diagnostic text (MLLP), or a reply body (HTTP), sent with the answer.
    error_text: str = ""
    body: bytes = b""
    received: list[Any] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, Receiver]]:
    state = Receiver(answer=201)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((self.path, dict(self.headers), body))
            if state.answer == "hang":
                state.release.wait(HANG_SECONDS)
                return
            self.send_response(state.answer)
            if state.answer == 201:
                self.send_header("Location", "/fhir/Bundle/42/_history/1")
            if state.answer in (301, 302):
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir", state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=HANG_SECONDS)


@pytest.fixture
def mllp_receiver() -> Iterator[tuple[int, Receiver]]:
    state = Receiver(answer="AA")

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(HANG_SECONDS)
            data = b""
            while b"\x1c\x0d" not in data:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                data += chunk
            message = data[1 : data.index(b"\x1c\x0d")].decode("utf-8")
            state.received.append(message)
            if state.answer == "silent":
                state.release.wait(HANG_SECONDS)
                return
            if state.answer == "close":
                return
            if state.answer == "garbage":
                self.request.sendall(b"\x0bHELLO, NOT HL7\x1c\x0d")
                return
            control_id = message.split("\r", 1)[0].split("|")[9]
            if state.answer == "other-id":
                control_id = "SOMETHING-ELSE"
            ack = (
                f"MSH|^~\\&|ED|STMARY|GOLDEN_HOUR|NORTH EMS|20250314094000+0000||ACK^A05^ACK|"
                f"A{control_id}|P|2.5\rMSA|{state.answer}|{control_id}|Message rejected\r"
            )
            if state.error_text:
                ack += f"ERR||PID^1^3|103^Table value not found^HL70357|E||||{state.error_text}\r"
            self.request.sendall(b"\x0b" + ack.encode("utf-8") + b"\x1c\x0d")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1], state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=HANG_SECONDS)


def message() -> str:
    return adt_message(
        encounter(),
        "A05",
        sending_facility="NORTH EMS",
        receiving_facility="STMARY",
        control_id="GH000042",
        now=at(13),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fhir_post_sends_fhir_json_and_returns_the_location(http_receiver):
    url, state = http_receiver
    bundle = encounter_bundle(encounter())

    receipt = send_fhir(url, bundle, timeout=2, headers={"Authorization": "Bearer t0ken"})

    assert receipt.status == 201
    assert receipt.location == "/fhir/Bundle/42/_history/1"
    ((path, headers, body),) = state.received
    assert path == "/fhir/Bundle"  # [base]/Bundle, not the base URL
    assert headers["Content-Type"].startswith("application/fhir+json")
    assert headers["Accept"] == "application/fhir+json"
    assert headers["Authorization"] == "Bearer t0ken"
    assert json.loads(body) == bundle


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (400, False), (422, False), (302, False)],
)
def test_fhir_error_status_sets_retryable(http_receiver, status, retryable):
    url, state = http_receiver
    state.answer = status

    with pytest.raises(DeliveryError) as caught:
        send_fhir(url, {"resourceType": "Bundle", "type": "document"}, timeout=2)

    assert caught.value.retryable is retryable
    assert caught.value.status == status
    assert str(status) in str(caught.value)
    assert len(state.received) == 1  # a redirect is not followed as a GET


def test_fhir_timeout_is_retryable_and_bounded(http_receiver):
    url, state = http_receiver
    state.answer = "hang"

    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        send_fhir(url, {"resourceType": "Bundle"}, timeout=0.3)

    assert caught.value.retryable is True
    assert time.monotonic() - started < 2


def test_fhir_connection_refused_is_retryable():
    with pytest.raises(DeliveryError) as caught:
        send_fhir(f"http://127.0.0.1:{free_port()}/fhir", {}, timeout=1)

    assert caught.value.retryable is True


def test_fhir_rejects_non_http_urls():
    with pytest.raises(DeliveryError) as caught:
        send_fhir("file:///etc/passwd", {}, timeout=1)

    assert caught.value.retryable is False


def test_mllp_aa_is_delivered(mllp_receiver):
    port, state = mllp_receiver
    sent = message()

    receipt = send_mllp("127.0.0.1", port, sent, timeout=2)

    assert (receipt.code, receipt.control_id) == ("AA", "GH000042")
    assert state.received == [sent]


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [
        ("AE", False),
        ("AR", False),
        ("CE", False),
        ("CR", False),
        ("close", True),
        ("other-id", True),
    ],
)
def test_mllp_negative_or_missing_ack(mllp_receiver, answer, retryable):
    port, state = mllp_receiver
    state.answer = answer

    with pytest.raises(DeliveryError) as caught:
        send_mllp("127.0.0.1", port, message(), timeout=2)

    assert caught.value.retryable is retryable
    assert "Unknown" not in str(caught.value)


def test_mllp_no_ack_times_out_retryable_and_bounded(mllp_receiver):
    port, state = mllp_receiver
    state.answer = "silent"

    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        send_mllp("127.0.0.1", port, message(), timeout=0.3)

    assert caught.value.retryable is True
    assert time.monotonic() - started < 2


def test_mllp_connection_refused_is_retryable():
    with pytest.raises(DeliveryError) as caught:
        send_mllp("127.0.0.1", free_port(), message(), timeout=1)

    assert caught.value.retryable is True


def test_delivery_errors_never_echo_patient_data(mllp_receiver):
    port, state = mllp_receiver
    state.answer = "AR"

    with pytest.raises(DeliveryError) as caught:
        send_mllp("127.0.0.1", port, message(), timeout=2)

    assert "weakness" not in str(caught.value)
    assert "GH-7F3K2Q" not in str(caught.value)


def test_mllp_error_ack_keeps_the_err_text_out_of_the_message(mllp_receiver):
    port, state = mllp_receiver
    state.answer = "AE"
    state.error_text = "Unknown assigning authority \\T\\ GOLDEN_HOUR \\F\\ PID-3\\X0D\\"

    with pytest.raises(DeliveryError) as caught:
        send_mllp("127.0.0.1", port, message(), timeout=2)

    assert caught.value.retryable is False
    assert caught.value.reason == "Unknown assigning authority & GOLDEN_HOUR | PID-3"
    # The message is what logs get: codes only.
    assert str(caught.value) == "MLLP receiver answered AE"


def test_mllp_reject_without_err_gives_msa_3_as_the_reason(mllp_receiver):
    port, state = mllp_receiver
    state.answer = "AR"

    with pytest.raises(DeliveryError) as caught:
        send_mllp("127.0.0.1", port, message(), timeout=2)

    assert (caught.value.retryable, caught.value.reason) == (False, "Message rejected")


def test_mllp_garbage_reply_is_a_retryable_transport_failure(mllp_receiver):
    port, state = mllp_receiver
    state.answer = "garbage"

    with pytest.raises(DeliveryError) as caught:
        send_mllp("127.0.0.1", port, message(), timeout=2)

    assert caught.value.retryable is True
    assert caught.value.reason == ""
    assert "not an HL7 message" in str(caught.value)


def test_fhir_4xx_reason_is_the_operation_outcome_diagnostics(http_receiver):
    url, state = http_receiver
    state.answer = 422
    state.body = json.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "error", "code": "invalid", "diagnostics": "Bundle.entry[3]: bad"},
                {"severity": "error", "code": "required", "details": {"text": "No\nsubject"}},
            ],
        }
    ).encode()

    with pytest.raises(DeliveryError) as caught:
        send_fhir(url, {"resourceType": "Bundle"}, timeout=2)

    assert caught.value.retryable is False
    assert caught.value.reason == "Bundle.entry[3]: bad; No subject"
    assert str(caught.value) == "FHIR endpoint answered HTTP 422"
