"""FHIR delivery authentication against real fake servers on 127.0.0.1.

A token server that verifies the SMART client assertion with the client's public key
(signature, iss, sub, aud, exp, jti) and a FHIR server that checks the path `/Bundle` and
the Bearer token, over http (loopback allowed); an https FHIR server that requires a client
certificate from a CA made in the test (with `cryptography`, in tmp_path).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from handoff.interop.delivery import (
    DeliveryError,
    fhir_endpoint_problem,
    fhir_url_problem,
    send_fhir,
)
from handoff.interop.fhir import encounter_bundle
from handoff.interop.fhir_auth import (
    ASSERTION_TYPE,
    TOKENS,
    FhirAuth,
    NoAuth,
    client_assertion,
    endpoint_origin,
    parse_fhir_auth,
)
from tests.handoff.interop.documents import encounter

HANG_SECONDS = 5.0
CLIENT_ID = "golden-hour-ems"
SCOPE = "system/Bundle.write"


# --- keys and certificates -------------------------------------------------------------


def _pem_key(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_key(path: Path, alg: str) -> Any:
    """A fresh private key for `alg` written to `path`; returns its public key."""
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS384"
        else ec.generate_private_key(ec.SECP384R1())
    )
    path.write_bytes(_pem_key(key))
    return key.public_key()


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path  # a client certificate from another CA
    rogue_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca: tuple[Any, x509.Certificate], cn: str, san: list[x509.GeneralName] | None
) -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return key, builder.sign(ca[0], hashes.SHA256())


def _write(directory: Path, stem: str, key: Any, cert: x509.Certificate) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_pem_key(key))
    return cert_path, key_path


@pytest.fixture
def pki(tmp_path) -> Pki:
    ca = _ca("Golden Hour test CA")
    rogue_ca = _ca("Somebody else's CA")
    server_san: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    ca_path = tmp_path / "ca.crt"
    ca_path.write_bytes(ca[1].public_bytes(serialization.Encoding.PEM))
    server_cert, server_key = _write(tmp_path, "server", *_leaf(ca, "localhost", server_san))
    client_cert, client_key = _write(tmp_path, "client", *_leaf(ca, CLIENT_ID, None))
    rogue_cert, rogue_key = _write(tmp_path, "rogue", *_leaf(rogue_ca, CLIENT_ID, None))
    return Pki(ca_path, server_cert, server_key, client_cert, client_key, rogue_cert, rogue_key)


# --- fake servers ----------------------------------------------------------------------


@dataclass
class Fake:
    """What the fake token and FHIR servers answer, and what they saw."""

    token_url: str = ""
    public_keys: dict[str, tuple[Any, str]] = field(default_factory=dict)  # kid -> key, alg
    expires_in: Any = 300
    token_answer: Any = None  # an HTTP status instead of a token, or "hang"
    fhir_answer: Any = None  # 401: refuse every token
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    jtis: set[str] = field(default_factory=set)
    claims: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _reply(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any] | None) -> None:
    data = json.dumps(body).encode() if body is not None else b""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _verify_assertion(state: Fake, form: dict[str, str]) -> str | None:
    """The token server's checks, as SMART Backend Services prescribes (None: accepted)."""
    if form.get("grant_type") != "client_credentials":
        return "grant_type"
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        return "client_assertion_type"
    if not form.get("scope"):
        return "scope"
    assertion = form.get("client_assertion", "")
    try:
        header = jwt.get_unverified_header(assertion)
        key, alg = state.public_keys[header["kid"]]
        claims = jwt.decode(
            assertion,
            key,
            algorithms=[alg],
            audience=state.token_url,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except (jwt.PyJWTError, KeyError):
        return "signature"
    if claims["iss"] != CLIENT_ID or claims["sub"] != CLIENT_ID:
        return "iss/sub"
    if claims["exp"] > time.time() + 300:
        return "exp more than five minutes ahead"
    if claims["jti"] in state.jtis:
        return "jti replayed"
    state.jtis.add(claims["jti"])
    state.claims.append({"header": header, **claims})
    return None


def _serve(server: ThreadingHTTPServer, state: Fake) -> Iterator[ThreadingHTTPServer]:
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=HANG_SECONDS)


def _handler(state: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/token":
                self._token(body)
            else:
                self._fhir(body)

        def _token(self, body: bytes) -> None:
            form = dict(urllib.parse.parse_qsl(body.decode()))
            state.token_requests.append(form)
            if state.token_answer == "hang":
                state.release.wait(HANG_SECONDS)
                return
            if state.token_answer is not None:
                _reply(self, state.token_answer, {"error": "temporarily_unavailable"})
                return
            refused = _verify_assertion(state, form)
            if refused is not None:
                state.refusals.append(refused)
                _reply(self, 401, {"error": "invalid_client", "error_description": refused})
                return
            token = secrets.token_urlsafe(24)
            state.issued.append(token)
            reply = {"access_token": token, "token_type": "bearer", "scope": form["scope"]}
            if state.expires_in is not None:
                reply["expires_in"] = state.expires_in
            _reply(self, 200, reply)

        def _fhir(self, body: bytes) -> None:
            state.received.append((self.path, dict(self.headers), body))
            if self.path != "/fhir/Bundle":
                _reply(self, 404, None)
                return
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if state.fhir_answer == 401 or token not in state.issued or token in state.revoked:
                _reply(self, 401, None)
                return
            self.send_response(201)
            self.send_header("Location", "/fhir/Bundle/7/_history/1")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def smart_server() -> Iterator[tuple[str, Fake]]:
    """Token server at /token and FHIR server at /fhir (one http server on 127.0.0.1)."""
    state = Fake()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    for running in _serve(server, state):
        origin = f"http://127.0.0.1:{running.server_address[1]}"
        state.token_url = f"{origin}/token"
        yield f"{origin}/fhir", state


@pytest.fixture
def mtls_server(pki) -> Iterator[tuple[str, Fake]]:
    """An https FHIR server on 127.0.0.1 that requires a client certificate of the test CA."""
    state = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((self.path, dict(self.headers), body))
            state.peers.append(self.connection.getpeercert())  # type: ignore[attr-defined]
            status = 201 if self.path == "/fhir/Bundle" else 404
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for running in _serve(server, state):
        yield f"https://127.0.0.1:{running.server_address[1]}/fhir", state


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    TOKENS.clear()
    yield
    TOKENS.clear()


def configure(settings, url: str, entry: dict[str, Any]) -> FhirAuth:
    """Set the authentication of `url`'s origin as an operator would: the JSON, parsed."""
    text = json.dumps({endpoint_origin(url): entry})
    settings.HANDOFF_FHIR_AUTH = parse_fhir_auth(text, url_problem=fhir_url_problem)
    return settings.HANDOFF_FHIR_AUTH[endpoint_origin(url)]


def smart_entry(state: Fake, key_file: Path, alg: str = "RS384") -> dict[str, Any]:
    return {
        "type": "smart-backend",
        "token_url": state.token_url,
        "client_id": CLIENT_ID,
        "private_key_file": str(key_file),
        "kid": "ems-2026",
        "alg": alg,
        "scope": SCOPE,
    }


def smart_setup(settings, tmp_path, url: str, state: Fake, alg: str = "RS384") -> FhirAuth:
    """A client key registered at the token server and configured for `url`."""
    key_file = tmp_path / f"client-{alg}.pem"
    state.public_keys["ems-2026"] = (write_key(key_file, alg), alg)
    return configure(settings, url, smart_entry(state, key_file, alg))


def bundle() -> dict[str, Any]:
    return encounter_bundle(encounter())


# --- SMART Backend Services ------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_smart_backend_posts_to_bundle_with_a_token_for_a_verified_assertion(
    settings, tmp_path, smart_server, alg
):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state, alg)

    receipt = send_fhir(url, bundle(), timeout=5)

    assert receipt.status == 201
    assert state.refusals == []
    (claims,) = state.claims
    assert claims["header"]["alg"] == alg
    assert claims["header"]["kid"] == "ems-2026"
    assert claims["aud"] == state.token_url
    (form,) = state.token_requests
    assert form["scope"] == SCOPE
    ((path, headers, body),) = state.received
    assert path == "/fhir/Bundle"
    assert headers["Authorization"] == f"Bearer {state.issued[0]}"
    assert headers["Content-Type"].startswith("application/fhir+json")
    assert headers["Accept"] == "application/fhir+json"
    assert json.loads(body)["type"] == "document"


def test_assertion_is_short_lived_and_never_reused(settings, tmp_path, smart_server):
    url, state = smart_server
    auth = smart_setup(settings, tmp_path, url, state)
    public_key, _ = state.public_keys["ems-2026"]

    first, second = client_assertion(auth), client_assertion(auth)  # type: ignore[arg-type]

    decoded = [
        jwt.decode(a, public_key, algorithms=["RS384"], audience=state.token_url)
        for a in (first, second)
    ]
    assert decoded[0]["jti"] != decoded[1]["jti"]
    for claims in decoded:
        assert claims["iss"] == claims["sub"] == CLIENT_ID
        assert 0 < claims["exp"] - time.time() <= 300


def test_token_is_cached_across_two_deliveries(settings, tmp_path, smart_server):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state)

    send_fhir(url, bundle(), timeout=5)
    send_fhir(url, bundle(), timeout=5)

    assert len(state.token_requests) == 1
    assert [h["Authorization"] for _, h, _ in state.received] == [f"Bearer {state.issued[0]}"] * 2


def test_token_is_renewed_before_it_expires(settings, tmp_path, smart_server):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state)
    state.expires_in = 1  # kept 0.9 s

    send_fhir(url, bundle(), timeout=5)
    time.sleep(1.0)
    send_fhir(url, bundle(), timeout=5)

    assert len(state.issued) == 2
    assert state.received[1][1]["Authorization"] == f"Bearer {state.issued[1]}"


def test_token_without_expires_in_is_used_once(settings, tmp_path, smart_server):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state)
    state.expires_in = None

    send_fhir(url, bundle(), timeout=5)
    send_fhir(url, bundle(), timeout=5)

    assert len(state.issued) == 2


def test_a_401_gets_one_new_token_and_the_bundle_again(settings, tmp_path, smart_server):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state)
    send_fhir(url, bundle(), timeout=5)
    state.revoked.add(state.issued[0])  # the hospital restarted: the cached token is gone

    receipt = send_fhir(url, bundle(), timeout=5)

    assert receipt.status == 201
    assert len(state.issued) == 2
    assert [h["Authorization"] for _, h, _ in state.received[1:]] == [
        f"Bearer {state.issued[0]}",
        f"Bearer {state.issued[1]}",
    ]


def test_a_second_401_is_a_refusal_not_retried(settings, tmp_path, smart_server):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state)
    state.fhir_answer = 401

    with pytest.raises(DeliveryError) as excinfo:
        send_fhir(url, bundle(), timeout=5)

    assert (excinfo.value.retryable, excinfo.value.status) == (False, 401)
    assert len(state.issued) == 2
    assert len(state.received) == 2


def test_a_wrong_key_is_refused_by_the_token_server_and_not_retryable(
    settings, tmp_path, smart_server
):
    url, state = smart_server
    state.public_keys["ems-2026"] = (write_key(tmp_path / "registered.pem", "RS384"), "RS384")
    write_key(tmp_path / "other.pem", "RS384")  # not the key the hospital registered
    configure(settings, url, smart_entry(state, tmp_path / "other.pem"))

    with pytest.raises(DeliveryError) as excinfo:
        send_fhir(url, bundle(), timeout=5)

    error = excinfo.value
    assert error.retryable is False
    assert str(error) == "FHIR token endpoint answered HTTP 401 (invalid_client)"
    assert state.refusals == ["signature"]
    assert state.received == []  # no Bundle without a token
    assert state.token_requests[0]["client_assertion"] not in str(error)


@pytest.mark.parametrize(("answer", "retryable"), [(503, True), (500, True), (400, False)])
def test_token_endpoint_status_decides_retryable(
    settings, tmp_path, smart_server, answer, retryable
):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state)
    state.token_answer = answer

    with pytest.raises(DeliveryError) as excinfo:
        send_fhir(url, bundle(), timeout=5)

    assert (excinfo.value.retryable, excinfo.value.status) == (retryable, answer)
    assert state.received == []


def test_token_endpoint_timeout_is_retryable(settings, tmp_path, smart_server):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state)
    state.token_answer = "hang"

    with pytest.raises(DeliveryError) as excinfo:
        send_fhir(url, bundle(), timeout=0.5)

    assert excinfo.value.retryable is True
    assert "timed out" in str(excinfo.value)


def test_token_url_outside_the_allow_list_is_refused_before_anything_is_sent(
    settings, tmp_path, smart_server
):
    url, state = smart_server
    smart_setup(settings, tmp_path, url, state)
    # Allow-listed when configured; the list shrank since (or the token URL moved).
    settings.HANDOFF_FHIR_ALLOWED_HOSTS = ["localhost"]
    fhir_url = url.replace("127.0.0.1", "localhost")
    settings.HANDOFF_FHIR_AUTH = {
        endpoint_origin(fhir_url): settings.HANDOFF_FHIR_AUTH.popitem()[1]
    }

    with pytest.raises(DeliveryError) as excinfo:
        send_fhir(fhir_url, bundle(), timeout=5)

    assert excinfo.value.retryable is False
    assert str(excinfo.value).startswith("FHIR token endpoint refused: host 127.0.0.1")
    assert state.token_requests == []
    assert state.received == []


# --- mutual TLS ------------------------------------------------------------------------


def test_mtls_presents_the_client_certificate_and_delivers(settings, pki, mtls_server):
    url, state = mtls_server
    configure(
        settings,
        url,
        {
            "type": "mtls",
            "cert_file": str(pki.client_cert),
            "key_file": str(pki.client_key),
            "ca_file": str(pki.ca),
        },
    )

    receipt = send_fhir(url, bundle(), timeout=5)

    assert receipt.status == 201
    ((path, _, _),) = state.received
    assert path == "/fhir/Bundle"
    (peer,) = state.peers
    assert peer["subject"] == ((("commonName", CLIENT_ID),),)


@pytest.mark.parametrize("client", ["none", "rogue"])
def test_mtls_server_refuses_a_connection_without_our_certificate(
    settings, pki, mtls_server, client
):
    url, state = mtls_server
    if client == "none":
        configure(settings, url, {"type": "none", "ca_file": str(pki.ca)})
    else:
        entry = {"cert_file": str(pki.rogue_cert), "key_file": str(pki.rogue_key)}
        configure(settings, url, {"type": "mtls", **entry, "ca_file": str(pki.ca)})

    with pytest.raises(DeliveryError) as excinfo:
        send_fhir(url, bundle(), timeout=5)

    # A refused client certificate looks like a dropped connection (TLS 1.3 refuses it
    # after the handshake): retried, and the task says why.
    assert excinfo.value.retryable is True
    assert str(excinfo.value).startswith("FHIR endpoint TLS connection failed: ")
    assert state.received == []


def test_a_server_certificate_we_do_not_trust_is_not_retryable(settings, pki, mtls_server):
    url, state = mtls_server
    # The client certificate, but no ca_file: the system CAs do not know the test CA.
    configure(
        settings,
        url,
        {"type": "mtls", "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)},
    )

    with pytest.raises(DeliveryError) as excinfo:
        send_fhir(url, bundle(), timeout=5)

    assert excinfo.value.retryable is False
    assert "TLS certificate refused" in str(excinfo.value)
    assert state.received == []


# --- configuration ---------------------------------------------------------------------


def test_production_refuses_an_endpoint_without_an_authentication_entry(settings):
    settings.HANDOFF_FHIR_ALLOWED_HOSTS = ["fhir.hospital.example"]
    settings.HANDOFF_FHIR_AUTH = {}
    url = "https://fhir.hospital.example/r4"
    settings.HANDOFF_FHIR_AUTH_REQUIRED = False
    assert fhir_endpoint_problem(url) is None  # development: sent without authentication

    settings.HANDOFF_FHIR_AUTH_REQUIRED = True
    problem = fhir_endpoint_problem(url)
    assert problem is not None
    assert "no authentication configured for https://fhir.hospital.example:443" in problem
    with pytest.raises(DeliveryError, match="no authentication configured"):
        send_fhir(url, bundle(), timeout=1)

    settings.HANDOFF_FHIR_AUTH = {"https://fhir.hospital.example:443": NoAuth()}
    assert fhir_endpoint_problem(url) is None  # "none", said explicitly


def test_a_base_url_with_a_query_is_refused(settings):
    settings.HANDOFF_FHIR_ALLOWED_HOSTS = ["fhir.hospital.example"]
    assert fhir_endpoint_problem("https://fhir.hospital.example/r4?x=1") == (
        "must be a base URL without a query or fragment"
    )


@pytest.fixture
def key_files(tmp_path) -> dict[str, str]:
    write_key(tmp_path / "rsa.pem", "RS384")
    write_key(tmp_path / "ec.pem", "ES384")
    # Deliberately weak: the configuration must refuse it.
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    (tmp_path / "small.pem").write_bytes(_pem_key(small))
    (tmp_path / "garbage.pem").write_text("-----BEGIN PRIVATE KEY-----\nnope\n")
    return {name: str(tmp_path / f"{name}.pem") for name in ("rsa", "ec", "small", "garbage")}


def _smart(key: str, **overrides: Any) -> dict[str, Any]:
    entry = {
        "type": "smart-backend",
        "token_url": "https://auth.hospital.example/token",
        "client_id": CLIENT_ID,
        "private_key_file": key,
        "kid": "k1",
        "alg": "RS384",
        "scope": SCOPE,
    }
    return {name: value for name, value in (entry | overrides).items() if value is not None}


@pytest.mark.parametrize(
    ("key", "entry", "message"),
    [
        ("https://fhir.hospital.example", {"type": "oauth"}, "type must be one of"),
        ("https://fhir.hospital.example", {"type": "mtls"}, "mtls needs cert_file, key_file"),
        ("https://fhir.hospital.example/r4", {"type": "none"}, "must be an origin"),
        ("fhir.hospital.example", {"type": "none"}, "must be an origin"),
        ("https://fhir.hospital.example", {"type": "none", "secret": "x"}, "unknown fields"),
        ("https://fhir.hospital.example", "smart", "must be an object"),
        ("https://fhir.hospital.example", ("rsa", {"alg": "HS256"}), "alg must be one of"),
        ("https://fhir.hospital.example", ("rsa", {"kid": None}), "needs kid"),
        ("https://fhir.hospital.example", ("rsa", {"scope": ""}), "scope must be a non-empty"),
        (
            "https://fhir.hospital.example",
            ("rsa", {"token_url": "http://auth.hospital.example/token"}),
            "token_url must use https",
        ),
        (
            "https://fhir.hospital.example",
            ("rsa", {"token_url": "https://evil.example/token"}),
            "token_url host evil.example is not in HANDOFF_FHIR_ALLOWED_HOSTS",
        ),
        ("https://fhir.hospital.example", ("ec", {}), "is not an RSA private key"),
        ("https://fhir.hospital.example", ("rsa", {"alg": "ES384"}), "is not an EC P-384"),
        ("https://fhir.hospital.example", ("small", {}), "1024 bits"),
        ("https://fhir.hospital.example", ("garbage", {}), "not an unencrypted PEM"),
        ("https://fhir.hospital.example", ("missing", {}), "cannot be read"),
    ],
)
def test_configuration_errors_name_the_endpoint_and_the_field(key_files, key, entry, message):
    if isinstance(entry, tuple):
        name, overrides = entry
        entry = _smart(key_files.get(name, "/nonexistent/key.pem"), **overrides)

    def allowed(url: str) -> str | None:
        return fhir_url_problem(
            url,
            allowed_hosts=["auth.hospital.example", "fhir.hospital.example"],
            http_loopback=False,
        )

    with pytest.raises(ValueError, match="endpoint ") as excinfo:
        parse_fhir_auth(json.dumps({key: entry}), url_problem=allowed)

    assert key in str(excinfo.value)
    assert message in str(excinfo.value)
    assert "nope" not in str(excinfo.value)  # never a file's content


def test_mtls_key_that_does_not_match_its_certificate_stops_the_start(pki):
    entry = {"type": "mtls", "cert_file": str(pki.client_cert), "key_file": str(pki.rogue_key)}

    with pytest.raises(ValueError, match=r"cert_file .* cannot be loaded"):
        parse_fhir_auth(
            json.dumps({"https://fhir.hospital.example": entry}), url_problem=fhir_url_problem
        )


def test_origins_are_normalised_and_duplicates_refused(key_files):
    text = json.dumps(
        {
            "https://FHIR.hospital.example": {"type": "none"},
            "https://fhir.hospital.example:443": {"type": "none"},
        }
    )
    with pytest.raises(ValueError, match="configured twice"):
        parse_fhir_auth(text, url_problem=fhir_url_problem)
    parsed = parse_fhir_auth(
        '{"https://fhir.hospital.example:8443/": {"type": "none"}}', url_problem=fhir_url_problem
    )
    assert list(parsed) == ["https://fhir.hospital.example:8443"]
