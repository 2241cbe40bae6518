"""Sending: the message goes through the outbox, signed; the receipt decides the outcome
(ok: accepted; transient: retried under the same id; fatal: rejected), each attempt audited."""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from exchange import messages, signing
from exchange.models import OutboundMessage
from exchange.services import (
    INBOUND_PATH,
    SEND_KIND,
    ExchangeError,
    exchange_send_encounter,
    peer_create,
    peer_key_add,
)
from exchange.transport import url_problem
from outbox import services as outbox
from outbox.models import OutboxTask
from tests.exchange.conftest import SECRET
from tests.handoff.conftest import make_assignment

pytestmark = pytest.mark.django_db(transaction=True)


class _Receiver:
    """A stand-in peer that answers each POST with the next (status, receipt code)."""

    def __init__(self, answers: list[tuple[int, str]]) -> None:
        self.answers = answers
        self.requests: list[tuple[Any, bytes]] = []


@contextlib.contextmanager
def _receiver(answers: list[tuple[int, str]]):
    state = _Receiver(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((self.headers, body))
            status, code = state.answers.pop(0)
            header = json.loads(body)["entry"][0]["resource"]
            receipt = messages.response_bundle(
                request_id=header["id"], event=header["eventCoding"]["code"], code=code,
                source="http://peer", destination="http://here", outcome=None,
                now=timezone.now(),
            )  # fmt: skip
            raw = json.dumps(receipt).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def routed(paramedic, unit, dispatcher, hospital):
    from handoff.services.destination import destination_set
    from handoff.services.encounters import encounter_open

    assignment = make_assignment(unit, dispatcher)
    encounter = encounter_open(
        user=paramedic, assignment_id=assignment.pk, data={"family_name": "Virtanen"}
    )
    return destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )


@pytest.fixture
def loopback(settings):
    settings.HANDOFF_FHIR_HTTP_LOOPBACK = True


def _peer(url: str):
    peer = peer_create(name="peer-b", base_url=url)
    peer_key_add(peer=peer, key_id="k_send", secret=SECRET)
    return peer


def _disclosures(encounter) -> list[str]:
    rows = AuditEvent.objects.filter(
        action="disclose", object_type="encounter", object_id=str(encounter.public_id)
    ).order_by("seq")
    return [row.detail["outcome"] for row in rows if row.detail.get("via") == "exchange"]


def test_an_accepted_message_records_its_receipt_and_the_disclosure(loopback, routed, paramedic):
    with _receiver([(200, "ok")]) as (state, url):
        _peer(url)
        sent = exchange_send_encounter(user=paramedic, encounter_id=routed.pk, peer_name="peer-b")
    sent.refresh_from_db()
    assert (sent.status, sent.receipt_code, sent.http_status) == ("accepted", "ok", 200)
    assert sent.receipt["entry"][0]["resource"]["response"]["identifier"] == str(sent.message_id)
    headers, body = state.requests[0]
    stamp = headers[signing.TIMESTAMP_HEADER]
    assert headers[signing.KEY_ID_HEADER] == "k_send"
    assert signing.signature_matches(
        SECRET, "POST", INBOUND_PATH, stamp, body, headers[signing.SIGNATURE_HEADER]
    )
    message = messages.parse_message(json.loads(body))
    assert message.message_id == str(sent.message_id)
    assert message.focus[0]["type"] == "document"
    assert _disclosures(routed) == ["delivered"]


def test_a_transient_answer_is_retried_with_the_same_message(loopback, routed, paramedic):
    with _receiver([(503, "transient-error"), (200, "ok")]) as (state, url):
        _peer(url)
        sent = exchange_send_encounter(user=paramedic, encounter_id=routed.pk, peer_name="peer-b")
        sent.refresh_from_db()
        assert sent.status == "pending"
        task = OutboxTask.objects.get(kind=SEND_KIND)
        assert task.status == "pending"
        OutboxTask.objects.filter(pk=task.pk).update(next_attempt_at=task.created_at)
        assert outbox.outbox_task_run(task.pk) == "done"
    sent.refresh_from_db()
    assert sent.status == "accepted"
    first, second = (body for _, body in state.requests)
    assert first == second  # the same bytes under the same id: the receiver sees a repeat
    assert _disclosures(routed) == ["failed", "delivered"]


def test_a_fatal_error_receipt_rejects_the_message_without_retry(loopback, routed, paramedic):
    with _receiver([(400, "fatal-error")]) as (state, url):
        _peer(url)
        sent = exchange_send_encounter(user=paramedic, encounter_id=routed.pk, peer_name="peer-b")
    sent.refresh_from_db()
    assert (sent.status, sent.receipt_code, sent.http_status) == ("rejected", "fatal-error", 400)
    assert len(state.requests) == 1
    assert _disclosures(routed) == ["rejected"]


def test_sending_needs_a_known_peer_and_a_destination(routed, paramedic, settings):
    settings.EXCHANGE_PEER_ALLOWED_HOSTS = ["peer-b.example"]
    with pytest.raises(ExchangeError, match="peer"):
        exchange_send_encounter(user=paramedic, encounter_id=routed.pk, peer_name="nobody")
    assert OutboundMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://peer-b.example", "must use https"),
        ("https://elsewhere.example", "not in EXCHANGE_PEER_ALLOWED_HOSTS"),
        ("https://user:pw@peer-b.example", "user name or password"),
        ("ftp://peer-b.example", "https URL"),
        ("http://127.0.0.1:8000", "must use https"),  # loopback only with the setting
    ],
)
def test_a_peer_url_must_be_https_to_an_allowed_host(settings, url, problem):
    settings.EXCHANGE_PEER_ALLOWED_HOSTS = ["peer-b.example", "127.0.0.1"]
    settings.HANDOFF_FHIR_HTTP_LOOPBACK = False
    assert problem in (url_problem(url) or "")
    with pytest.raises(ExchangeError):
        peer_create(name="x", base_url=url)
