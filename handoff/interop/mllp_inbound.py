"""The hospital's outcome (HL7 v2 ADT^A03) received over MLLP, the transport its systems use.

An asyncio server (`manage.py hl7_listen`): each frame `0x0B <message> 0x1C 0x0D` goes to
`handoff.services.inbound.a03_receive` in a worker thread, exactly as an A03 over HTTP, and
its ACK goes back in a frame on the same connection. MLLP has no credential, so the sender
is its source address: HL7_INBOUND_MLLP_SENDERS gives each hospital its addresses. A
connection from any other address has its first frame answered AR and is closed, with
nothing stored (there is no hospital to keep it under). Logs carry the address, the
hospital, MSH-10 and the ACK code, never message content. docs/interop.md, "Outcome back
to EMS".

The one module of this package that reaches the database, through the inbound service.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import ssl
from collections.abc import Mapping, Sequence
from typing import Final

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone

from handoff.interop import inbound
from handoff.interop.delivery import MLLP_END, MLLP_START, message_control_id
from handoff.models import Hospital
from handoff.services.inbound import MAX_BODY_BYTES, a03_ack, a03_receive

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Senders = Sequence[tuple[Network, Hospital]]

# The same bound as over HTTP: a frame longer than this is refused unread.
MAX_FRAME_BYTES: Final = MAX_BODY_BYTES
IDLE_SECONDS: Final = 60.0
# After a refusal, how long the rest of what the sender still sends is read and dropped:
# closing with unread input resets the connection, and the sender may lose the ACK.
LINGER_SECONDS: Final = 2.0
READ_BYTES: Final = 64 * 1024
# HL7 v2.5 table 0357 has no "not authorised" condition; 207 (application internal error)
# is what receivers commonly answer a sender they do not accept with.
ERR_SENDER: Final = "207"
SENDER_NOT_ALLOWED: Final = "sender not allowed: this address is not an HL7 sender of any hospital"


class FrameTooLargeError(Exception):
    """A frame passed MAX_FRAME_BYTES; `head` holds its first MAX_FRAME_BYTES + 1 bytes."""

    def __init__(self, head: bytes) -> None:
        super().__init__("MLLP frame too large")
        self.head = head


class FrameReader:
    """MLLP frames from a stream: several per connection, each possibly split across reads;
    bytes before a start byte (line noise, a keep-alive newline) are skipped."""

    def __init__(self, reader: asyncio.StreamReader, *, limit: int = MAX_FRAME_BYTES) -> None:
        self._reader = reader
        self._limit = limit
        self._buffer = bytearray()

    async def next(self) -> bytes | None:
        """The next frame's content; None when the sender closed between frames."""
        while True:
            start = self._buffer.find(MLLP_START)
            if start < 0:
                self._buffer.clear()
            else:
                del self._buffer[:start]
                end = self._buffer.find(MLLP_END, 1)
                length = (end if end >= 0 else len(self._buffer)) - 1
                if length > self._limit:
                    raise FrameTooLargeError(bytes(self._buffer[1 : self._limit + 2]))
                if end >= 0:
                    frame = bytes(self._buffer[1:end])
                    del self._buffer[: end + len(MLLP_END)]
                    return frame
            chunk = await self._reader.read(READ_BYTES)
            if not chunk:
                return None
            self._buffer += chunk


def senders_resolve(config: Mapping[str, Sequence[str]]) -> list[tuple[Network, Hospital]]:
    """Each configured address or network with its hospital (HL7_INBOUND_MLLP_SENDERS, as
    config/settings.py parsed it); ValueError naming the codes of no hospital."""
    hospitals = {h.code: h for h in Hospital.objects.filter(code__in=list(config))}
    unknown = sorted(set(config) - set(hospitals))
    if unknown:
        raise ValueError(
            f"HL7_INBOUND_MLLP_SENDERS names no hospital with code {', '.join(unknown)}."
        )
    return [
        (ipaddress.ip_network(address), hospitals[code])
        for code, addresses in config.items()
        for address in addresses
    ]


def sender_hospital(address: str, senders: Senders) -> Hospital | None:
    """The hospital whose listed addresses include `address` (None: no hospital's)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    # A dual-stack listener sees an IPv4 sender as ::ffff:a.b.c.d.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for network, hospital in senders:
        if ip in network:
            return hospital
    return None


def server_ssl_context(
    *, certfile: str, keyfile: str | None = None, client_ca: str | None = None
) -> ssl.SSLContext:
    """TLS for the listener (TLS 1.2 at least); with `client_ca`, every sender must present
    a certificate that CA signed, on top of coming from its listed address."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return context


def _refusal(body: str) -> str:
    error = inbound.InboundError(SENDER_NOT_ALLOWED, where="MSH", code=ERR_SENDER, reject=True)
    return inbound.ack(
        body,
        control_id=message_control_id(body),
        error=error,
        now=timezone.now(),
        ack_control_id=f"GHREJ{secrets.token_hex(6).upper()}",
    )


def _receive(hospital: Hospital, body: str) -> tuple[str, str, str]:
    """(ACK, MSH-10, ACK code) for one A03, on a worker thread with its own connection."""
    # As Django does around a request: a long-lived listener must not keep a connection the
    # database has dropped or one older than CONN_MAX_AGE.
    close_old_connections()
    try:
        received = a03_receive(hospital=hospital, body=body)
        error = received.error
        code = "AA" if error is None else ("AR" if error.reject else "AE")
        return a03_ack(body=body, received=received), received.control_id, code
    finally:
        close_old_connections()


def _frame(message: str) -> bytes:
    return MLLP_START + message.encode("utf-8") + MLLP_END


class A03Listener:
    """Accepts MLLP connections and answers each A03 frame with its ACK."""

    def __init__(
        self,
        *,
        senders: Senders,
        idle_seconds: float = IDLE_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.senders = list(senders)
        self.idle_seconds = idle_seconds
        self.ssl_context = ssl_context
        self._receive = sync_to_async(_receive, thread_sensitive=True)

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen on `host`:`port` (0: any free port; read it from the server's sockets)."""
        return await asyncio.start_server(self._connection, host, port, ssl=self.ssl_context)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        hospital = sender_hospital(address, self.senders)
        frames = FrameReader(reader)
        linger = False
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_seconds):
                        frame = await frames.next()
                except FrameTooLargeError as error:
                    frame, linger = error.head, True
                if frame is None:
                    break
                body = frame.decode("utf-8", errors="replace")
                if hospital is None:
                    logger.warning(
                        "MLLP sender %s is in no hospital's HL7_INBOUND_MLLP_SENDERS: "
                        "answered AR, connection closed",
                        address,
                    )
                    writer.write(_frame(_refusal(body)))
                    await writer.drain()
                    linger = True
                    break
                # An oversized head is refused by a03_receive as too large and kept, cut.
                answer, control_id, code = await self._receive(hospital, body)
                logger.info(
                    "MLLP A03 from %s (hospital %s): control id %r, ACK %s",
                    address,
                    hospital.code,
                    control_id[:64],
                    code,
                )
                writer.write(_frame(answer))
                await writer.drain()
                if linger:
                    logger.warning(
                        "MLLP frame from %s over %d bytes: connection closed",
                        address,
                        MAX_FRAME_BYTES,
                    )
                    break
        except TimeoutError:
            logger.info("MLLP connection from %s idle for %ss: closed", address, self.idle_seconds)
            linger = False
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as error:
            logger.info("MLLP connection from %s ended: %s", address, type(error).__name__)
            linger = False
        finally:
            await _close(reader, writer, linger=linger)


async def _close(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, linger: bool
) -> None:
    with contextlib.suppress(Exception):
        if linger:
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(LINGER_SECONDS):
                while await reader.read(READ_BYTES):
                    pass
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
