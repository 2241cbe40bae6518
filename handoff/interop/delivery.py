"""Deliver an export to a hospital's configured endpoint: FHIR over HTTP, HL7 v2 over MLLP.

Both clients raise `DeliveryError`; `retryable` tells the Celery task whether to back off and
try again (the receiver or the network may recover) or to give up and alert a person (the
receiver rejected the content, so sending it again cannot help). Error messages carry
status codes and ACK codes only, never the payload or the receiver's reply text, because
either may contain patient data.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

FHIR_JSON: Final = "application/fhir+json"
MLLP_START: Final = b"\x0b"
MLLP_END: Final = b"\x1c\x0d"
MAX_ACK_BYTES: Final = 64 * 1024
# 408 Request Timeout, 425 Too Early and 429 Too Many Requests are 4xx but transient.
RETRYABLE_4XX: Final = frozenset({408, 425, 429})
# MSA-1: AA/CA accepted; AE/CE errors the receiver may get past; AR/CR rejected.
ACK_OK: Final = frozenset({"AA", "CA"})
ACK_RETRYABLE: Final = frozenset({"AE", "CE"})
ACK_REJECTED: Final = frozenset({"AR", "CR"})


class DeliveryError(Exception):
    """Delivery failed; `retryable` says whether trying again later may succeed."""

    def __init__(self, retryable: bool, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class HttpReceipt:
    """A 2xx reply: the status and the Location of the created resource, if given."""

    status: int
    location: str | None


@dataclass(frozen=True, slots=True)
class MllpReceipt:
    """An accepting ACK: MSA-1 and the control id it acknowledges (MSA-2)."""

    code: str
    control_id: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib follows a 301/302/303 for a POST by switching to GET and dropping the body,
    # which would "succeed" without delivering anything. A redirect is a configuration
    # error here, surfaced as a non-retryable failure.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER: Final = urllib.request.build_opener(_NoRedirect)


def send_fhir(
    url: str,
    bundle: Mapping[str, Any],
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> HttpReceipt:
    """POST a FHIR Bundle as application/fhir+json; 2xx returns, anything else raises.

    5xx, 408/425/429, timeouts and connection errors are retryable; other 4xx and 3xx are
    not. `headers` (e.g. Authorization) override the defaults.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(False, "FHIR endpoint must be an http(s) URL")
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    request_headers = {
        "Content-Type": f"{FHIR_JSON}; charset=utf-8",
        "Accept": FHIR_JSON,
    } | dict(headers or {})
    # The scheme is checked above, so urlopen cannot be steered to file:// or ftp://.
    request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            location = response.headers.get("Location")
            response.read()
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
        retryable = status >= 500 or status in RETRYABLE_4XX
        raise DeliveryError(
            retryable, f"FHIR endpoint answered HTTP {status}", status=status
        ) from None
    except TimeoutError as error:
        raise DeliveryError(True, "FHIR endpoint timed out") from error
    except urllib.error.URLError as error:
        retryable = isinstance(error.reason, OSError)
        raise DeliveryError(
            retryable, f"FHIR endpoint unreachable: {type(error.reason).__name__}"
        ) from error
    except OSError as error:
        raise DeliveryError(
            True, f"FHIR endpoint connection failed: {type(error).__name__}"
        ) from error
    if not 200 <= status < 300:
        raise DeliveryError(False, f"FHIR endpoint answered HTTP {status}", status=status)
    return HttpReceipt(status, location)


def _control_id(message: str) -> str:
    msh = message.split("\r", 1)[0]
    fields = msh.split(msh[3:4] or "|") if msh.startswith("MSH") else []
    return fields[9] if len(fields) > 9 else ""


def _read_frame(sock: socket.socket, deadline: float) -> bytes:
    buffer = b""
    while MLLP_END not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        # The socket timeout bounds each recv; the deadline bounds the whole wait, so a
        # receiver trickling bytes cannot hold the worker longer than `timeout`.
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("closed before the ACK")
        buffer += chunk
        if len(buffer) > MAX_ACK_BYTES:
            raise DeliveryError(True, "MLLP ACK too large")
    start = buffer.find(MLLP_START)
    return buffer[start + 1 if start >= 0 else 0 : buffer.index(MLLP_END)]


def _parse_ack(ack: str) -> tuple[str, str]:
    segments = [segment for segment in ack.replace("\n", "\r").split("\r") if segment]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 4:
        raise DeliveryError(True, "MLLP reply is not an HL7 message")
    separator = segments[0][3]
    for segment in segments:
        fields = segment.split(separator)
        if fields[0] == "MSA" and len(fields) > 1:
            return fields[1].strip(), fields[2].strip() if len(fields) > 2 else ""
    raise DeliveryError(True, "MLLP reply has no MSA segment")


def send_mllp(host: str, port: int, message: str, *, timeout: float) -> MllpReceipt:
    """Send one HL7 v2 message over MLLP and wait for its ACK (at most `timeout` seconds).

    AA (or CA) returns; AE/CE raise retryable, AR/CR non-retryable; no ACK, a garbled
    ACK, an ACK for another message, a timeout or a connection error raise retryable.
    """
    deadline = time.monotonic() + timeout
    frame = MLLP_START + message.encode("utf-8") + MLLP_END
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(frame)
            ack = _read_frame(sock, deadline).decode("utf-8", errors="replace")
    except TimeoutError as error:
        raise DeliveryError(True, "MLLP receiver did not ACK in time") from error
    except OSError as error:
        raise DeliveryError(True, f"MLLP connection failed: {type(error).__name__}") from error

    code, acknowledged = _parse_ack(ack)
    expected = _control_id(message)
    if expected and acknowledged != expected:
        # An ACK for another message says nothing about this one; send again.
        raise DeliveryError(True, "MLLP ACK is for a different message control id")
    if code in ACK_OK:
        return MllpReceipt(code, acknowledged)
    if code in ACK_RETRYABLE:
        raise DeliveryError(True, f"MLLP receiver answered {code}")
    if code in ACK_REJECTED:
        raise DeliveryError(False, f"MLLP receiver answered {code}")
    raise DeliveryError(True, "MLLP ACK has an unknown MSA-1 code")
