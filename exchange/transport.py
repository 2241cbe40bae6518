"""HTTPS to a peer: the allow-list check and one signed POST that reads the receipt.

https only; plain http only to a loopback address with HANDOFF_FHIR_HTTP_LOOPBACK (tests,
never in production, where settings refuse it). Errors carry status codes and class names,
never the body (a receipt may echo element names, the request carries patient data).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from django.conf import settings

from exchange import signing
from handoff.interop.delivery import NoRedirect, https_url_problem

FHIR_JSON: Final = "application/fhir+json"
MAX_RECEIPT_BYTES: Final = 256 * 1024


def url_problem(url: str) -> str | None:
    """Why a peer may not be reached at `url` (None: it may): the delivery rule
    (`https_url_problem`) against EXCHANGE_PEER_ALLOWED_HOSTS, and a base URL without query
    or fragment."""
    problem = https_url_problem(
        url,
        allowed_hosts=settings.EXCHANGE_PEER_ALLOWED_HOSTS,
        http_loopback=settings.HANDOFF_FHIR_HTTP_LOOPBACK,
        allow_list="EXCHANGE_PEER_ALLOWED_HOSTS",
    )
    if problem is not None:
        return problem
    parts = urlsplit(url.strip())
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    return None


class TransportError(Exception):
    def __init__(self, retryable: bool, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Reply:
    status: int
    receipt: Any


# A redirected POST would be re-sent as a GET without its body: no redirects, as for the
# hospital deliveries.
_OPENER: Final = urllib.request.build_opener(
    NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context())
)


def post_signed(url: str, body: bytes, *, key_id: str, secret: str, timeout: float) -> Reply:
    """POST `body` signed with the key; the reply's status and JSON body (any status)."""
    problem = url_problem(url)
    if problem is not None:
        raise TransportError(False, f"peer endpoint refused: {problem}")
    stamp = str(int(time.time()))
    path = urlsplit(url).path
    headers = {
        "Content-Type": f"{FHIR_JSON}; charset=utf-8",
        "Accept": FHIR_JSON,
        signing.KEY_ID_HEADER: key_id,
        signing.TIMESTAMP_HEADER: stamp,
        signing.SIGNATURE_HEADER: signing.sign(secret, "POST", path, stamp, body),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(MAX_RECEIPT_BYTES)
    except urllib.error.HTTPError as error:
        try:
            status, raw = error.code, error.read(MAX_RECEIPT_BYTES)
        finally:
            error.close()
    except TimeoutError as error:
        raise TransportError(True, "peer timed out") from error
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise TransportError(False, "peer TLS certificate refused") from error
        raise TransportError(True, f"peer unreachable: {type(reason).__name__}") from error
    except OSError as error:
        raise TransportError(True, f"peer connection failed: {type(error).__name__}") from error
    try:
        receipt = json.loads(raw)
    except ValueError:
        receipt = None
    return Reply(status, receipt)
