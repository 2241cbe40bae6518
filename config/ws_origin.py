"""The WebSocket Origin check: the page that opens a socket must be one of ours, scheme, host
and port alike.

Channels' AllowedHostsOriginValidator compares only the host with ALLOWED_HOSTS, so a page
served from another port of the same host (another local service) or over plain http beside
our https could open a socket riding the user's session cookie. Here the Origin must equal the
socket's own origin (`http(s)://` + the Host header, `https` for a `wss` socket), with that
host in ALLOWED_HOSTS, or be listed exactly in CSRF_TRUSTED_ORIGINS. A missing Origin is
refused, as before (browsers always send one; the device client sends its server's).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _normalise(scheme: str, netloc: str) -> str | None:
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    host, port = split_domain_port(netloc.lower())
    if not host:
        return None
    port = port or _DEFAULT_PORTS[scheme]
    return f"{scheme}://{host}:{port}"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return str(value.decode("latin1"))
            except UnicodeDecodeError:
                return None
    return None


def origin_allowed(scope: dict[str, Any]) -> bool:
    """True when the socket's Origin is its own origin (or a trusted one), as above."""
    origin = _header(scope, b"origin")
    host = _header(scope, b"host")
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    given = _normalise(parts.scheme, parts.netloc)
    if given is None:
        return False
    trusted = {
        _normalise(urlsplit(o).scheme, urlsplit(o).netloc) for o in settings.CSRF_TRUSTED_ORIGINS
    }
    if given in trusted:
        return True
    domain, _ = split_domain_port(host.lower())
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    own_scheme = "https" if scope.get("scheme", "ws") == "wss" else "http"
    return given == _normalise(own_scheme, host)


class SameOriginValidator:
    """ASGI middleware: deny the WebSocket handshake (403) unless origin_allowed(scope)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator is for WebSocket connections only")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
