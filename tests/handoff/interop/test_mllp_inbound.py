"""The hospital's A03 over MLLP: a real listener on 127.0.0.1 (its own event loop in a
thread, its own database connection) and a real socket. The sender is its address; an
allowed one is answered exactly as over HTTP, any other gets AR and nothing is stored."""

import asyncio
import ipaddress
import logging
import socket
import ssl
import threading
import time

import hl7
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from handoff.interop.delivery import MLLP_END, MLLP_START
from handoff.interop.hl7 import validate
from handoff.interop.mllp_inbound import (
    A03Listener,
    sender_hospital,
    senders_resolve,
    server_ssl_context,
)
from handoff.models import HospitalOutcome, InboundMessage
from handoff.services.inbound import MAX_BODY_BYTES
from tests import factories
from tests.handoff.conftest import arrive
from tests.handoff.interop.test_fhir_auth import pki  # noqa: F401  (the test CA fixture)
from tests.handoff.interop.test_inbound_outcome import a03

pytestmark = pytest.mark.django_db(transaction=True)


class Listener:
    """An A03Listener serving on its own loop in a thread, for the length of one test."""

    def __init__(self, senders, *, idle_seconds=5.0, ssl_context=None):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        listener = A03Listener(senders=senders, idle_seconds=idle_seconds, ssl_context=ssl_context)
        start = listener.start("127.0.0.1", 0)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result(5)
        self.port = self.server.sockets[0].getsockname()[1]

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.settimeout(10)
        return sock

    def stop(self):
        async def close():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def listen():
    started = []

    def start(config, **kwargs):
        listener = Listener(senders_resolve(config), **kwargs)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.stop()


@pytest.fixture
def arrived(paramedic, routed):
    # As in test_inbound_outcome: the patient arrived an hour ago, so an outcome may follow.
    return arrive(paramedic, routed, hours_ago=1)


def frame(message: str) -> bytes:
    return MLLP_START + message.encode() + MLLP_END


def read_ack(sock) -> str:
    """One ACK frame from the socket; every answer is a valid v2.5 ACK (hl7apy, strict)."""
    buffer = b""
    while MLLP_END not in buffer:
        chunk = sock.recv(4096)
        assert chunk, "closed before the ACK"
        buffer += chunk
    assert buffer.startswith(MLLP_START)
    assert buffer.endswith(MLLP_END), "one ACK per message"
    text = buffer[1 : -len(MLLP_END)].decode()
    validate(text)
    return text


def msa(text: str):
    message = hl7.parse(text)
    err = message.segment("ERR") if "ERR" in {str(s[0]) for s in message} else None
    return str(message.segment("MSA")[1]), str(message.segment("MSA")[2]), err


def closed(sock) -> bool:
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True


def test_allowed_sender_records_the_outcome_and_gets_aa_for_its_control_id(
    listen, hospital, arrived
):
    server = listen({hospital.code: ["127.0.0.0/8"]})
    with server.connect() as sock:
        sock.sendall(frame(a03(arrived.temp_identifier, control="HIS-MLLP-1")))
        code, control, err = msa(read_ack(sock))
    assert (code, control, err) == ("AA", "HIS-MLLP-1", None)
    outcome = HospitalOutcome.objects.get(encounter=arrived)
    assert outcome.ed_disposition == "09"
    assert outcome.admitted_unit == "Cardiology ward 4"
    assert outcome.diagnosis_icd10 == "I21.0"
    assert outcome.source == "hl7"
    kept = InboundMessage.objects.get()
    assert (kept.hospital, kept.status, kept.control_id) == (hospital, "accepted", "HIS-MLLP-1")


@pytest.mark.parametrize(
    ("kwargs", "ack_code", "location", "answered_id"),
    [
        ({"disposition": "99"}, "AE", "PV1^1^36", "HIS0001"),
        # Refused on MSH-9, before the parser took MSH-10: the ACK still names the message.
        ({"kind": "ADT^A08^ADT_A01"}, "AR", "MSH^1^9", "HIS0001"),
    ],
)
def test_malformed_a03_is_refused_naming_the_field_and_kept(
    listen, hospital, arrived, kwargs, ack_code, location, answered_id
):
    server = listen({hospital.code: ["127.0.0.1"]})
    with server.connect() as sock:
        sock.sendall(frame(a03(arrived.temp_identifier, **kwargs)))
        code, control, err = msa(read_ack(sock))
    assert (code, control) == (ack_code, answered_id)
    assert str(err[2]) == location
    assert not HospitalOutcome.objects.exists()
    kept = InboundMessage.objects.get()
    assert (kept.hospital, kept.status) == (hospital, "rejected")
    assert kept.error_field == location.replace("^1^", "-")


def test_unknown_address_gets_ar_is_closed_and_nothing_is_stored(listen, hospital, arrived, caplog):
    server = listen({hospital.code: ["10.0.0.5", "10.0.1.0/24"]})
    with caplog.at_level(logging.INFO), server.connect() as sock:
        # The second frame is never read: the connection ends after the refusal.
        sock.sendall(frame(a03(arrived.temp_identifier)) + frame(a03(arrived.temp_identifier)))
        code, control, err = msa(read_ack(sock))
        assert closed(sock)
    assert (code, control) == ("AR", "HIS0001")
    assert "sender not allowed" in str(err[8])
    assert not InboundMessage.objects.exists()
    assert not HospitalOutcome.objects.exists()
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "127.0.0.1" in logged
    assert arrived.temp_identifier not in logged
    assert "Cardiology" not in logged


def test_two_frames_on_one_connection_each_get_their_ack(listen, hospital, arrived):
    server = listen({hospital.code: ["127.0.0.1"]})
    first = a03(arrived.temp_identifier, control="ONE", disposition="99")
    second = a03(arrived.temp_identifier, control="TWO")
    with server.connect() as sock:
        # Garbage before a start byte (a keep-alive newline) is skipped.
        sock.sendall(b"\r\n" + frame(first) + frame(second))
        answers = [msa(read_ack(sock))[:2], msa(read_ack(sock))[:2]]
    assert answers == [("AE", "ONE"), ("AA", "TWO")]
    assert InboundMessage.objects.count() == 2
    assert HospitalOutcome.objects.get().ed_disposition == "09"


def test_a_frame_split_across_writes_is_one_message(listen, hospital, arrived):
    server = listen({hospital.code: ["127.0.0.1"]})
    data = frame(a03(arrived.temp_identifier, control="SPLIT"))
    # Cut inside the message and between the two end bytes.
    pieces = [data[:1], data[1:40], data[40:-1], data[-1:]]
    with server.connect() as sock:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.05)
        assert msa(read_ack(sock))[:2] == ("AA", "SPLIT")
    assert InboundMessage.objects.get().control_id == "SPLIT"


def test_oversized_frame_gets_ar_and_the_connection_is_closed(listen, hospital, arrived):
    server = listen({hospital.code: ["127.0.0.1"]})
    message = a03(arrived.temp_identifier, control="BIG") + "NTE|1||" + "x" * MAX_BODY_BYTES
    with server.connect() as sock:
        sock.sendall(frame(message))
        code, control, err = msa(read_ack(sock))
        assert closed(sock)
    # Refused unread, as over HTTP: its MSH-10 is not taken.
    assert (code, control) == ("AR", "UNKNOWN")
    assert "too large" in str(err[8])
    kept = InboundMessage.objects.get()
    assert kept.status == "rejected"
    assert len(kept.body) <= 1000
    assert not HospitalOutcome.objects.exists()


def test_idle_connection_is_closed(listen, hospital):
    server = listen({hospital.code: ["127.0.0.1"]}, idle_seconds=0.3)
    with server.connect() as sock:
        started = time.monotonic()
        assert closed(sock)
        assert time.monotonic() - started < 5


def test_senders_resolve_refuses_a_code_of_no_hospital(hospital):
    with pytest.raises(ValueError, match="no-such-er"):
        senders_resolve({hospital.code: ["127.0.0.1"], "no-such-er": ["10.0.0.1"]})


def test_sender_is_matched_by_address_and_network(hospital):
    other = factories.HospitalFactory()
    senders = senders_resolve({hospital.code: ["10.0.0.5"], other.code: ["10.0.1.0/24"]})
    assert sender_hospital("10.0.0.5", senders) == hospital
    assert sender_hospital("::ffff:10.0.1.77", senders) == other
    assert sender_hospital("10.0.0.6", senders) is None
    assert sender_hospital("not an address", senders) is None
    assert ipaddress.ip_network("10.0.1.0/24") in [network for network, _ in senders]


def test_command_stops_on_an_unknown_hospital_or_no_senders(settings, hospital):
    settings.HL7_INBOUND_MLLP_SENDERS = {"no-such-er": ["10.0.0.1"]}
    with pytest.raises(CommandError, match="no-such-er"):
        call_command("hl7_listen", "--port", "0")
    settings.HL7_INBOUND_MLLP_SENDERS = {}
    with pytest.raises(CommandError, match="empty"):
        call_command("hl7_listen", "--port", "0")


def _tls_client(pki, cert=None, key=None):  # noqa: F811 - pki is the fixture's value
    context = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


def _refused(server, client, arrived) -> bool:
    """The TLS listener refused the client: at the handshake, or (TLS 1.3 reports a refused
    client certificate after it) on the first read, with no ACK."""
    try:
        with server.connect() as raw, client.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(frame(a03(arrived.temp_identifier, control="HIS-TLS-0")))
            read_ack(sock)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, AssertionError):
        return True
    return False


def test_over_tls_a_sender_with_a_certificate_of_the_ca_is_answered(
    listen,
    hospital,
    arrived,
    pki,  # noqa: F811
):
    """With --certfile/--keyfile/--client-ca: TLS 1.2+, and a client certificate signed by
    the configured CA on top of the listed address; without one, or with another CA's,
    the handshake fails and nothing is stored."""
    context = server_ssl_context(
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), client_ca=str(pki.ca)
    )
    server = listen({hospital.code: ["127.0.0.1"]}, ssl_context=context)
    for cert, key in ((None, None), (pki.rogue_cert, pki.rogue_key)):
        assert _refused(server, _tls_client(pki, cert, key), arrived), cert
    assert not InboundMessage.objects.exists()
    client = _tls_client(pki, pki.client_cert, pki.client_key)
    with server.connect() as raw, client.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(frame(a03(arrived.temp_identifier, control="HIS-TLS-1")))
        code, control, _err = msa(read_ack(sock))
    assert (code, control) == ("AA", "HIS-TLS-1")
    assert HospitalOutcome.objects.filter(encounter=arrived).exists()
