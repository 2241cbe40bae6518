"""Where the current request came from, for the audit trail: request id, client address,
channel (http, ws, device, system).

A context variable, so that it follows the request through sync_to_async and
database_sync_to_async (both copy the context into the worker thread). HTTP requests get it
from audit.middleware; WebSocket connections from `bind_scope` in the consumer's connect;
each device item from `device_item_context`. Anything else (Celery tasks, management
commands) records channel "system".
"""

from __future__ import annotations

import functools
import ipaddress
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, TypeVar

from django.conf import settings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# Request paths go into the trail only when they are plain identifiers and slashes: a path is
# chosen by the client and must not smuggle free text (a patient's name) into the log.
_SAFE_PATH = re.compile(r"^[A-Za-z0-9/_.:-]{1,200}$")


@dataclass(frozen=True)
class AuditContext:
    request_id: str
    client_address: str
    channel: str
    path: str = ""


SYSTEM = AuditContext(request_id="", client_address="", channel="system")

_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)

P = ParamSpec("P")
R = TypeVar("R")


def current() -> AuditContext:
    """The context of the request being served, or SYSTEM outside any request."""
    return _current.get() or SYSTEM


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_or_new(value: str | None) -> str:
    """The client's request id when well-formed (to correlate with its own logs), else a new one."""
    if value and _REQUEST_ID.match(value):
        return value
    return new_request_id()


def safe_path(path: str) -> str:
    return path if _SAFE_PATH.match(path) else ""


def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(remote_addr: str | None, forwarded_for: str | None) -> str:
    """The client's address: the peer's, or with AUDIT_TRUSTED_PROXY_COUNT proxies in front
    of us, the address the outermost trusted proxy saw in X-Forwarded-For.

    Each proxy appends the address it received from, so with N trusted proxies the client is
    the N-th entry from the right; entries further left are whatever the client wrote and are
    never believed.
    """
    trusted = int(getattr(settings, "AUDIT_TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted > 0 and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= trusted:
            found = _valid_address(hops[-trusted])
            if found:
                return found
    return _valid_address(remote_addr or "") or ""


@contextmanager
def audit_context(context: AuditContext) -> Iterator[AuditContext]:
    """Make `context` current for the block (restored afterwards)."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def bind(context: AuditContext) -> Token[AuditContext | None]:
    """Make `context` current until reset: for a consumer, whose task lives as long as its
    connection, so every message handled on it inherits the context."""
    return _current.set(context)


def scope_context(scope: Mapping[str, Any], channel: str = "ws") -> AuditContext:
    """The audit context of an ASGI connection scope (address from scope["client"])."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    client = scope.get("client") or [None]
    return AuditContext(
        request_id=request_id_or_new(headers.get(b"x-request-id", b"").decode("latin-1")),
        client_address=client_address(
            client[0], headers.get(b"x-forwarded-for", b"").decode("latin-1")
        ),
        channel=channel,
        path=safe_path(str(scope.get("path", ""))),
    )


def bind_scope(scope: Mapping[str, Any], channel: str = "ws") -> Token[AuditContext | None]:
    """Bind the context of an ASGI scope for the rest of the connection."""
    return bind(scope_context(scope, channel))


def device_item_context(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a device item processor: each item gets its own request id and channel
    "device", keeping the connection's client address."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with audit_context(replace(current(), request_id=new_request_id(), channel="device")):
            return func(*args, **kwargs)

    return wrapper
