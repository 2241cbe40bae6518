"""The WebSocket Origin check over the real ASGI application: only a page of our own origin
(scheme, host and port) or a trusted one may open a socket with the user's session."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HOST = b"127.0.0.1:8000"


async def _connect(origin: bytes | None, *, host: bytes = HOST, scheme: str | None = None):
    headers = [(b"host", host)]
    if origin is not None:
        headers.append((b"origin", origin))
    communicator = WebsocketCommunicator(application, "/ws/dispatch/", headers=headers)
    if scheme is not None:
        communicator.scope["scheme"] = scheme
    connected, code = await communicator.connect()
    await communicator.disconnect()
    return connected, code


async def test_our_own_origin_reaches_the_consumer():
    # Anonymous: the consumer itself closes with 4401, which shows the origin check let it in.
    connected, code = await _connect(b"http://127.0.0.1:8000")
    assert (connected, code) == (False, 4401)


@pytest.mark.parametrize(
    ("origin", "scheme"),
    [
        (b"http://127.0.0.1:9999", None),  # another port of the same host
        (b"https://127.0.0.1:8000", None),  # https page, plain ws socket
        (b"http://127.0.0.1:8000", "wss"),  # plain http page, wss socket
        (b"http://evil.example", None),
        (b"null", None),
        (None, None),
    ],
    ids=["other-port", "other-scheme", "http-page-wss", "foreign-host", "null", "missing"],
)
async def test_another_origin_is_refused_at_the_handshake(origin, scheme):
    connected, code = await _connect(origin, scheme=scheme)
    assert not connected
    assert code != 4401  # refused before any consumer ran


async def test_a_host_outside_allowed_hosts_is_refused_even_from_its_own_origin():
    connected, code = await _connect(b"http://evil.example", host=b"evil.example")
    assert not connected
    assert code != 4401


async def test_default_ports_and_trusted_origins(settings):
    _connected, code = await _connect(b"https://localhost", host=b"localhost:443", scheme="wss")
    assert code == 4401
    settings.CSRF_TRUSTED_ORIGINS = ["https://ems.example.org"]
    _connected, code = await _connect(b"https://ems.example.org")
    assert code == 4401
