"""Deliver an export to a hospital's configured endpoint: FHIR over HTTP, HL7 v2 over MLLP.

Both clients raise `DeliveryError`; `retryable` tells the Celery task whether to back off and
try again (the receiver or the network may recover) or to give up and alert a person (the
receiver rejected the content, so sending it again cannot help). Error messages carry
status codes and ACK codes only, never the payload or the receiver's reply text, because
either may contain patient data; the receiver's reason (an ACK's ERR / MSA-3, an
OperationOutcome's diagnostics) travels apart as `DeliveryError.reason`, to be kept on the
delivery and shown to people, never logged.

Both also refuse, before connecting, an endpoint outside the allow-list of the settings
(`fhir_endpoint_problem`, `mllp_endpoint_problem`): whatever is stored on a hospital, the
record goes only to hosts the operator listed (docs/security.md, "Delivery endpoints").

FHIR goes to `[base]/Bundle`, authenticated per origin as the operator configured it outside
the database (handoff.interop.fhir_auth): a SMART Backend Services access token, a client
certificate, or, explicitly, nothing. Token endpoint errors carry status and RFC 6749 error
codes only, never the token, the assertion or the key.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any, Final
from urllib.parse import urlsplit

from django.conf import settings

from handoff.interop.fhir_auth import (
    ASSERTION_TYPE,
    TOKENS,
    FhirAuth,
    SmartBackend,
    client_assertion,
    endpoint_origin,
    ssl_context,
)

FHIR_JSON: Final = "application/fhir+json"
MLLP_START: Final = b"\x0b"
MLLP_END: Final = b"\x1c\x0d"
MAX_ACK_BYTES: Final = 64 * 1024
MAX_TOKEN_BYTES: Final = 64 * 1024
MAX_REPLY_BYTES: Final = 1024 * 1024
# RFC 6750 b64token: what may follow "Bearer " in the Authorization header.
BEARER_TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
OAUTH_ERRORS: Final = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)
# 408 Request Timeout, 425 Too Early and 429 Too Many Requests are 4xx but transient.
RETRYABLE_4XX: Final = frozenset({408, 425, 429})
# A receiver's error text as kept and shown: one line of at most this many characters.
MAX_REASON_CHARS: Final = 300
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# MSA-1: AA/CA accepted. AE (application error: the content is wrong) and AR (rejected:
# MSH-9/11/12 not accepted) say the same message will fail again, so both end the delivery
# as failed; CE/CR (enhanced-mode commit error/reject) likewise. HL7 v2.5 section 2.9.
ACK_OK: Final = frozenset({"AA", "CA"})
ACK_REJECTED: Final = frozenset({"AE", "AR", "CE", "CR"})


def _split_entry(entry: str) -> tuple[str, int | None]:
    """An allow-list entry `host`, `host:port`, `[v6]:port` or a bare IPv6 address."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def _host_allowed(host: str, port: int, allowed: Iterable[str]) -> bool:
    host = host.lower()
    for entry in allowed:
        entry_host, entry_port = _split_entry(entry.strip().lower())
        if entry_host == host and entry_port in (None, port):
            return True
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def https_url_problem(
    url: str, *, allowed_hosts: Iterable[str], http_loopback: bool, allow_list: str
) -> str | None:
    """Why patient data may not go to `url` (None: it may): https only (plain http to a
    loopback address only with `http_loopback`), no credentials in the URL, and the host
    (with its port, if the entry names one) in `allowed_hosts`, the setting `allow_list`.
    The FHIR endpoints, the SMART token URLs and the exchange's peers all pass it."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        return "has an invalid port"
    if not host:
        return "must be an https URL with a host"
    if parts.username is not None or parts.password is not None:
        # https://allowed.example@evil.example goes to evil.example; refuse the confusion.
        return "must not contain a user name or password"
    if scheme == "http" and not (http_loopback and _is_loopback(host)):
        return "must use https, not http"
    if scheme not in ("http", "https"):
        return "must be an https URL"
    default_port = 443 if scheme == "https" else 80
    if not _host_allowed(host, port or default_port, allowed_hosts):
        return f"host {host} is not in {allow_list}"
    return None


def fhir_url_problem(
    url: str,
    *,
    allowed_hosts: Iterable[str] | None = None,
    http_loopback: bool | None = None,
) -> str | None:
    """Why patient records (or the credentials for them) may not go to `url` (None: they may):
    `https_url_problem` against HANDOFF_FHIR_ALLOWED_HOSTS and HANDOFF_FHIR_HTTP_LOOPBACK.
    The settings module passes its values before Django's settings exist.
    """
    return https_url_problem(
        url,
        allowed_hosts=settings.HANDOFF_FHIR_ALLOWED_HOSTS
        if allowed_hosts is None
        else allowed_hosts,
        http_loopback=settings.HANDOFF_FHIR_HTTP_LOOPBACK
        if http_loopback is None
        else http_loopback,
        allow_list="HANDOFF_FHIR_ALLOWED_HOSTS",
    )


def fhir_auth_for(url: str) -> FhirAuth | None:
    """The authentication configured for the origin of `url` (None: no entry)."""
    auth: Mapping[str, FhirAuth] = settings.HANDOFF_FHIR_AUTH
    return auth.get(endpoint_origin(url))


def fhir_endpoint_problem(url: str) -> str | None:
    """Why `url` may not receive patient records (None: it may).

    `fhir_url_problem`, a base URL without query or fragment (`/Bundle` is appended), and,
    where HANDOFF_FHIR_AUTH_REQUIRED (production), an entry for its origin in the
    authentication configuration (`{"type": "none"}` is one, explicitly).
    """
    problem = fhir_url_problem(url)
    if problem is not None:
        return problem
    parts = urlsplit(url.strip())
    if parts.query or parts.fragment:
        return "must be a base URL without a query or fragment"
    if settings.HANDOFF_FHIR_AUTH_REQUIRED and fhir_auth_for(url) is None:
        return (
            f"has no authentication configured for {endpoint_origin(url)} in "
            "HANDOFF_FHIR_AUTH_FILE / HANDOFF_FHIR_AUTH"
        )
    return None


def mllp_endpoint_problem(host: str, port: int | None) -> str | None:
    """Why an MLLP receiver at `host`:`port` may not receive patient records (None: it may).

    The host (with its port, if the entry names one) must be in HANDOFF_HL7_ALLOWED_HOSTS.
    """
    host = host.strip().lower()
    if not host or port is None or not 1 <= port <= 65535:
        return "needs a host and a port from 1 to 65535"
    if not _host_allowed(host, port, settings.HANDOFF_HL7_ALLOWED_HOSTS):
        return f"host {host} is not in HANDOFF_HL7_ALLOWED_HOSTS"
    return None


class DeliveryError(Exception):
    """Delivery failed; `retryable` says whether trying again later may succeed.

    `message` is codes only (safe for logs); `reason` is the receiver's own words (ERR /
    MSA-3 of an ACK, an OperationOutcome's diagnostics), kept on the delivery record and
    shown to the crew and the dispatcher, never logged: a receiver may quote the record.
    """

    def __init__(
        self, retryable: bool, message: str, *, status: int | None = None, reason: str = ""
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.message = message
        self.status = status
        self.reason = reason

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


class NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib follows a 301/302/303 for a POST by switching to GET and dropping the body,
    # which would "succeed" without delivering anything. A redirect is a configuration
    # error here, surfaced as a non-retryable failure. (exchange.transport uses it too.)
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER: Final = urllib.request.build_opener(NoRedirect)


def fhir_bundle_url(base: str) -> str:
    """`[base]/Bundle`: where a FHIR server creates a Bundle (RESTful create on the type)."""
    return base.strip().rstrip("/") + "/Bundle"


@functools.lru_cache(maxsize=64)
def _opener_for(auth: FhirAuth | None) -> urllib.request.OpenerDirector:
    if auth is None:
        return _OPENER
    https = urllib.request.HTTPSHandler(context=ssl_context(auth))
    return urllib.request.build_opener(NoRedirect, https)


def _remaining(deadline: float, what: str) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeliveryError(True, f"{what} timed out")
    return remaining


def _status_error(what: str, status: int, detail: str = "") -> DeliveryError:
    retryable = status >= 500 or status in RETRYABLE_4XX
    return DeliveryError(retryable, f"{what} answered HTTP {status}{detail}", status=status)


def _exchange(
    opener: urllib.request.OpenerDirector,
    request: urllib.request.Request,
    *,
    deadline: float,
    what: str,
    read_limit: int,
) -> tuple[int, Message, bytes]:
    """One request: (status, headers, at most `read_limit` bytes of the body), any status;
    a timeout, a TLS failure or a connection error raises, with class names only."""
    try:
        # The callers check the scheme (http(s) only), so urlopen cannot reach file:// or ftp://.
        with opener.open(request, timeout=_remaining(deadline, what)) as response:
            return response.status, response.headers, response.read(read_limit)
    except urllib.error.HTTPError as error:
        try:
            body = error.read(read_limit)
        except OSError:
            body = b""
        finally:
            error.close()
        return error.code, error.headers, body
    except TimeoutError as error:
        raise DeliveryError(True, f"{what} timed out") from error
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            raise DeliveryError(True, f"{what} timed out") from error
        if isinstance(reason, ssl.SSLError):
            raise _tls_error(what, reason) from error
        retryable = isinstance(reason, OSError)
        raise DeliveryError(retryable, f"{what} unreachable: {type(reason).__name__}") from error
    except ssl.SSLError as error:
        raise _tls_error(what, error) from error
    except OSError as error:
        raise DeliveryError(True, f"{what} connection failed: {type(error).__name__}") from error


def _tls_error(what: str, error: ssl.SSLError) -> DeliveryError:
    if isinstance(error, ssl.SSLCertVerificationError):
        # Our check of the server's certificate (CA, name, dates): the same on every try,
        # and possibly someone in the middle, so a person looks at it now.
        message = error.verify_message or "verification failed"
        return DeliveryError(False, f"{what} TLS certificate refused: {message}")
    # A refused client certificate is not told apart from a dropped connection: in TLS 1.3
    # the server refuses it after the handshake, racing its close (an alert, an EOF or a
    # reset, in the handshake or at the first read), so all of these are retried. The
    # OpenSSL reason (TLSV13_ALERT_CERTIFICATE_REQUIRED, ...) is a fixed code, safe to show.
    reason = error.reason if isinstance(error.reason, str) else type(error).__name__
    return DeliveryError(True, f"{what} TLS connection failed: {reason}")


def _oauth_error(body: bytes) -> str:
    """The RFC 6749 error code of a token endpoint's reply, if it is one of the standard
    ones (a fixed vocabulary, safe to log; the description may not be)."""
    try:
        code = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return ""
    return f" ({code})" if code in OAUTH_ERRORS else ""


def _request_token(
    auth: SmartBackend, opener: urllib.request.OpenerDirector, deadline: float
) -> str:
    """A new access token from the SMART token endpoint (client_credentials grant with a
    signed JWT assertion), cached for its lifetime. 4xx: the client is misconfigured or
    not authorised, not retryable; 5xx, timeouts: retryable. Never logs the token."""
    what = "FHIR token endpoint"
    problem = fhir_url_problem(auth.token_url)
    if problem is not None:
        raise DeliveryError(False, f"{what} refused: {problem}")
    try:
        assertion = client_assertion(auth)
    except ValueError:
        raise DeliveryError(False, "FHIR client assertion could not be signed") from None
    form = urllib.parse.urlencode(
        {
            "scope": auth.scope,
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
    ).encode("ascii")
    request = urllib.request.Request(  # noqa: S310 - scheme checked by fhir_url_problem
        auth.token_url,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        method="POST",
    )
    status, _, body = _exchange(
        opener, request, deadline=deadline, what=what, read_limit=MAX_TOKEN_BYTES
    )
    if not 200 <= status < 300:
        raise _status_error(what, status, _oauth_error(body))
    try:
        reply = json.loads(body)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise DeliveryError(False, f"{what} reply is not a JSON object")
    token = reply.get("access_token")
    if (
        not isinstance(token, str)
        or not BEARER_TOKEN.fullmatch(token)
        or str(reply.get("token_type", "")).lower() != "bearer"
    ):
        raise DeliveryError(False, f"{what} reply has no bearer access_token")
    expires_in = reply.get("expires_in")
    lifetime = (
        float(expires_in)
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
        else None
    )
    TOKENS.put(auth, token, lifetime)
    return token


def _post_bundle(
    opener: urllib.request.OpenerDirector,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    deadline: float,
) -> HttpReceipt:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    status, reply_headers, reply = _exchange(
        opener, request, deadline=deadline, what="FHIR endpoint", read_limit=MAX_REPLY_BYTES
    )
    if not 200 <= status < 300:
        error = _status_error("FHIR endpoint", status)
        error.reason = operation_outcome_reason(reply)
        raise error
    return HttpReceipt(status, reply_headers.get("Location"))


def send_fhir(
    base: str,
    bundle: Mapping[str, Any],
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> HttpReceipt:
    """POST a FHIR Bundle as application/fhir+json to `[base]/Bundle`, authenticated as
    configured for the origin of `base` (SMART Backend Services, mutual TLS or none);
    2xx returns, anything else raises.

    5xx, 408/425/429, timeouts and connection errors are retryable; other 4xx, 3xx, a token
    endpoint's 4xx and a server certificate we refuse are not; an endpoint (or token URL)
    outside the allow-list raises non-retryable before anything is sent. A 401 with a
    cached token gets one retry with a new token. `timeout` bounds the whole exchange.
    `headers` add to (or override) the defaults; the Authorization of SMART wins.
    """
    problem = fhir_endpoint_problem(base)
    if problem is not None:
        raise DeliveryError(False, f"FHIR endpoint refused: {problem}")
    deadline = time.monotonic() + timeout
    auth = fhir_auth_for(base)
    opener = _opener_for(auth)
    url = fhir_bundle_url(base)
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    request_headers = {
        "Content-Type": f"{FHIR_JSON}; charset=utf-8",
        "Accept": FHIR_JSON,
    } | dict(headers or {})
    if not isinstance(auth, SmartBackend):
        return _post_bundle(opener, url, body, request_headers, deadline)
    token = TOKENS.get(auth) or _request_token(auth, opener, deadline)
    try:
        return _post_bundle(
            opener, url, body, request_headers | {"Authorization": f"Bearer {token}"}, deadline
        )
    except DeliveryError as error:
        if error.status != 401:
            raise
    # Revoked or expired early (a restart or key rotation at the hospital): once more with
    # a new token; a second 401 is a real refusal.
    TOKENS.drop(auth, token)
    token = _request_token(auth, opener, deadline)
    return _post_bundle(
        opener, url, body, request_headers | {"Authorization": f"Bearer {token}"}, deadline
    )


def reason_text(text: str) -> str:
    """A receiver's error text fit to show: one line, no control characters, bounded."""
    return " ".join(_CONTROL_CHARS.sub(" ", text).split())[:MAX_REASON_CHARS]


def operation_outcome_reason(body: bytes) -> str:
    """The diagnostics (else details.text) of a FHIR OperationOutcome's issues, "; "-joined;
    "" when the body is not an OperationOutcome."""
    try:
        outcome = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return ""
    texts: list[str] = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        details = issue.get("details")
        text = issue.get("diagnostics") or (
            details.get("text") if isinstance(details, dict) else None
        )
        if isinstance(text, str) and text.strip():
            texts.append(text)
    return reason_text("; ".join(texts))


def message_control_id(message: str) -> str:
    """MSH-10 of an ER7 message as written (empty when there is none)."""
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


@dataclass(frozen=True, slots=True)
class _Ack:
    code: str
    control_id: str
    reason: str


def _unescape(text: str, delimiters: str, escape_char: str) -> str:
    """The text of an ACK field: the escapes of v2.5 section 2.7 undone, \\Xhh\\ read as
    bytes, formatting and unknown escapes dropped (we only show this text)."""
    if not escape_char:
        return text
    named = dict(zip("FSRT", delimiters, strict=False)) | {"E": escape_char}
    out: list[str] = []
    parts = text.split(escape_char)
    # Odd parts are escape sequences; an unterminated last one is kept as written.
    for index, part in enumerate(parts):
        if index % 2 == 0 or index == len(parts) - 1:
            out.append(part if index % 2 == 0 else escape_char + part)
        elif part in named:
            out.append(named[part])
        elif part.startswith("X") and re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", part):
            out.append(bytes.fromhex(part[1:]).decode("utf-8", errors="replace"))
        elif part in (".br", ".sp"):
            out.append(" ")
    return "".join(out)


def _ack_reason(fields_of: dict[str, list[list[str]]], encoding: str) -> str:
    """The receiver's reason: ERR-8 (user message), ERR-7 (diagnostic information), ERR-3
    (HL7 error code, its text), v2.3's ERR-1 (its code's text), else MSA-3 (text message)."""
    separator, components = encoding[:1], encoding[1:2]
    delimiters = separator + components + encoding[2:3] + encoding[4:5]
    escape_char = encoding[3:4]

    def part(fields: list[str], number: int, component: int | None = None) -> str:
        value = fields[number] if len(fields) > number else ""
        # The first repetition only; components are split before the text is unescaped.
        value = value.split(encoding[2:3])[0] if encoding[2:3] else value
        if component is not None:
            pieces = value.split(components) if components else [value]
            value = pieces[component] if len(pieces) > component else ""
        return _unescape(value, delimiters, escape_char).strip()

    reasons: list[str] = []
    for fields in fields_of.get("ERR", []):
        text = (
            part(fields, 8)
            or part(fields, 7)
            or part(fields, 3, 1)
            or part(fields, 3, 0)
            or part(fields, 1, 3)
        )
        if text:
            reasons.append(text)
    if not reasons:
        reasons.append(part(fields_of["MSA"][0], 3))
    return "; ".join(reason for reason in reasons if reason)


def _parse_ack(ack: str) -> _Ack:
    segments = [segment for segment in ack.replace("\n", "\r").split("\r") if segment]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise DeliveryError(True, "MLLP reply is not an HL7 message")
    separator = segments[0][3]
    # MSH-1 and MSH-2: field, component, repetition, escape, subcomponent.
    encoding = separator + segments[0][4:].split(separator, 1)[0]
    fields_of: dict[str, list[list[str]]] = {}
    for segment in segments:
        fields = segment.split(separator)
        fields_of.setdefault(fields[0], []).append(fields)
    msa = fields_of.get("MSA", [[]])[0]
    if len(msa) < 2:
        raise DeliveryError(True, "MLLP reply has no MSA segment")
    control_id = msa[2].strip() if len(msa) > 2 else ""
    return _Ack(msa[1].strip(), control_id, reason_text(_ack_reason(fields_of, encoding)))


def send_mllp(host: str, port: int, message: str, *, timeout: float) -> MllpReceipt:
    """Send one HL7 v2 message over MLLP and wait for its ACK (at most `timeout` seconds).

    AA (or CA) returns; AE/AR/CE/CR raise non-retryable; no ACK, a garbled
    ACK, an ACK for another message, a timeout or a connection error raise retryable; a
    receiver outside the allow-list raises non-retryable before connecting.
    """
    problem = mllp_endpoint_problem(host, port)
    if problem is not None:
        raise DeliveryError(False, f"MLLP receiver refused: {problem}")
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

    parsed = _parse_ack(ack)
    expected = message_control_id(message)
    if expected and parsed.control_id != expected:
        # An ACK for another message says nothing about this one; send again.
        raise DeliveryError(True, "MLLP ACK is for a different message control id")
    if parsed.code in ACK_OK:
        return MllpReceipt(parsed.code, parsed.control_id)
    if parsed.code in ACK_REJECTED:
        raise DeliveryError(False, f"MLLP receiver answered {parsed.code}", reason=parsed.reason)
    raise DeliveryError(True, "MLLP ACK has an unknown MSA-1 code")
