"""How FHIR delivery authenticates to each hospital: SMART Backend Services or mutual TLS.

The configuration lives outside the database, in HANDOFF_FHIR_AUTH_FILE (a JSON file) or
HANDOFF_FHIR_AUTH (the same JSON in the variable), keyed by the endpoint's origin
(`https://fhir.hospital.example` or with a port). Keys and certificates are named by file
path and read from disk, so neither the database, the admin nor a dump holds a secret, and
an administrator who changes a hospital's endpoint cannot give it the credentials of
another (they are per origin, set by the operator). docs/interop.md, "Authentication".

This module parses and checks that configuration (at start-up, from config/settings.py),
loads the keys and TLS contexts, signs SMART client assertions and caches access tokens;
the HTTP exchanges are in handoff.interop.delivery.
"""

from __future__ import annotations

import functools
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SMART_BACKEND: Final = "smart-backend"
MTLS: Final = "mtls"
NONE: Final = "none"
ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# SMART Backend Services: the assertion's exp at most five minutes ahead. Four leave room
# for our clock running ahead of the authorization server's.
ASSERTION_SECONDS: Final = 240
# A cached token is dropped this long (at most; a tenth of a short lifetime) before it
# expires, so it does not run out between the check and the FHIR server reading it.
TOKEN_MARGIN_SECONDS: Final = 60.0
# The two algorithms SMART Backend Services requires servers to support.
ALGORITHMS: Final = ("RS384", "ES384")
MIN_RSA_BITS: Final = 2048


@dataclass(frozen=True, slots=True)
class SmartBackend:
    """OAuth2 client credentials with a signed JWT assertion (SMART Backend Services)."""

    token_url: str
    client_id: str
    private_key_file: str
    kid: str
    alg: str
    scope: str
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class MutualTls:
    """A client certificate on the TLS connection."""

    cert_file: str
    key_file: str
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class NoAuth:
    """Explicitly no authentication (the network is the control: a VPN, a private link)."""

    ca_file: str | None = None


FhirAuth = SmartBackend | MutualTls | NoAuth

_FIELDS: Final[dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    # type: (required, optional)
    SMART_BACKEND: (
        frozenset({"token_url", "client_id", "private_key_file", "kid", "alg", "scope"}),
        frozenset({"ca_file"}),
    ),
    MTLS: (frozenset({"cert_file", "key_file"}), frozenset({"ca_file"})),
    NONE: (frozenset(), frozenset({"ca_file"})),
}


def endpoint_origin(url: str) -> str:
    """`scheme://host:port` of a URL, lower case, the port always written ("" if none)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    if not parts.hostname or scheme not in ("http", "https"):
        return ""
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or (443 if scheme == 'https' else 80)}"


def _private_key_error(key: Any, alg: str) -> str | None:
    if alg == "RS384":
        if not isinstance(key, rsa.RSAPrivateKey):
            return "is not an RSA private key (alg RS384)"
        if key.key_size < MIN_RSA_BITS:
            return f"is an RSA key of {key.key_size} bits, at least {MIN_RSA_BITS} are needed"
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp384r1":
        return "is not an EC P-384 private key (alg ES384)"
    return None


@functools.lru_cache(maxsize=64)
def signing_key(path: str, alg: str) -> Any:
    """The PEM private key at `path`, checked against `alg` (ValueError naming the field)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(
            f"private_key_file {path} cannot be read ({type(error).__name__})"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # The message never quotes the file: it is a secret.
        raise ValueError(f"private_key_file {path} is not an unencrypted PEM private key") from None
    problem = _private_key_error(key, alg)
    if problem is not None:
        raise ValueError(f"private_key_file {path} {problem}")
    return key


@functools.lru_cache(maxsize=64)
def ssl_context(auth: FhirAuth) -> ssl.SSLContext:
    """The client TLS context of `auth`: the server verified (with its ca_file if given, else
    the system's CAs), and the client certificate for mutual TLS (ValueError naming the field)."""
    try:
        context = ssl.create_default_context(cafile=auth.ca_file)
    except (OSError, ssl.SSLError) as error:
        raise ValueError(
            f"ca_file {auth.ca_file} cannot be loaded ({type(error).__name__})"
        ) from None
    if isinstance(auth, MutualTls):
        try:
            context.load_cert_chain(auth.cert_file, auth.key_file)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(
                f"cert_file {auth.cert_file} / key_file {auth.key_file} cannot be loaded as a "
                f"PEM certificate and its unencrypted key ({type(error).__name__})"
            ) from None
    return context


def _entry(origin: str, raw: Any, url_problem: Callable[[str], str | None]) -> FhirAuth:
    if not isinstance(raw, Mapping):
        raise ValueError("must be an object with a type")
    kind = raw.get("type")
    if kind not in _FIELDS:
        raise ValueError(f"type must be one of {', '.join(sorted(_FIELDS))}, got {kind!r}")
    required, optional = _FIELDS[kind]
    given = set(raw) - {"type"}
    missing, unknown = required - given, given - required - optional
    if missing:
        raise ValueError(f"{kind} needs {', '.join(sorted(missing))}")
    if unknown:
        raise ValueError(f"{kind} has unknown fields {', '.join(sorted(unknown))}")
    for name in given:
        value = raw[name]
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            raise ValueError(f"{name} must be a non-empty string without surrounding spaces")
    values = {name: raw[name] for name in given}
    auth: FhirAuth
    if kind == SMART_BACKEND:
        auth = SmartBackend(**values)
        if auth.alg not in ALGORITHMS:
            raise ValueError(f"alg must be one of {', '.join(ALGORITHMS)}, got {auth.alg!r}")
        problem = url_problem(auth.token_url)
        if problem is not None:
            raise ValueError(f"token_url {problem}")
        signing_key(auth.private_key_file, auth.alg)
    elif kind == MTLS:
        auth = MutualTls(**values)
        if not origin.startswith("https://"):
            raise ValueError("mtls needs an https endpoint")
    else:
        auth = NoAuth(**values)
    ssl_context(auth)
    return auth


def parse_fhir_auth(text: str, *, url_problem: Callable[[str], str | None]) -> dict[str, FhirAuth]:
    """The per-origin authentication of a JSON object `{"https://host[:port]": {...}}`.

    `url_problem` is the delivery allow-list rule every token_url must pass. Keys and
    certificates are loaded here, so a wrong path or key stops the start. ValueError
    naming the endpoint and the field otherwise; the message never quotes a file's content.
    """
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise ValueError(f"is not valid JSON (line {getattr(error, 'lineno', '?')})") from None
    if not isinstance(raw, dict):
        raise ValueError('must be a JSON object {"https://host": {"type": ...}}')
    parsed: dict[str, FhirAuth] = {}
    for key, value in raw.items():
        origin = endpoint_origin(key)
        parts = urlsplit(key)
        if not origin or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"endpoint {key!r} must be an origin, scheme://host[:port]")
        if parts.username is not None or parts.password is not None:
            raise ValueError(f"endpoint {key!r} must not contain a user name or password")
        if origin in parsed:
            raise ValueError(f"endpoint {key!r} is configured twice")
        try:
            parsed[origin] = _entry(origin, value, url_problem)
        except ValueError as error:
            raise ValueError(f"endpoint {key}: {error}") from None
    return parsed


def client_assertion(auth: SmartBackend, *, now: float | None = None) -> str:
    """A signed JWT client assertion: iss = sub = client_id, aud = token_url, short exp,
    a unique jti (the server refuses a replayed one), kid naming the key in our JWKS."""
    issued = time.time() if now is None else now
    claims = {
        "iss": auth.client_id,
        "sub": auth.client_id,
        "aud": auth.token_url,
        "exp": int(issued) + ASSERTION_SECONDS,
        "jti": secrets.token_urlsafe(32),
    }
    return jwt.encode(
        claims,
        signing_key(auth.private_key_file, auth.alg),
        algorithm=auth.alg,
        headers={"kid": auth.kid, "typ": "JWT"},
    )


@dataclass
class TokenCache:
    """Access tokens per SMART configuration, until shortly before they expire."""

    _tokens: dict[SmartBackend, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, auth: SmartBackend) -> str | None:
        with self._lock:
            cached = self._tokens.get(auth)
            if cached is None:
                return None
            if time.monotonic() >= cached[1]:
                del self._tokens[auth]
                return None
            return cached[0]

    def put(self, auth: SmartBackend, token: str, expires_in: float | None) -> None:
        # Without a lifetime (SMART requires expires_in; a server may still omit it) the
        # token is used for this delivery only.
        if expires_in is None or expires_in <= 0:
            return
        usable = expires_in - min(TOKEN_MARGIN_SECONDS, expires_in / 10)
        with self._lock:
            self._tokens[auth] = (token, time.monotonic() + usable)

    def drop(self, auth: SmartBackend, token: str) -> None:
        """Forget `token` (the FHIR server refused it); a newer one another thread got stays."""
        with self._lock:
            if self._tokens.get(auth, ("", 0.0))[0] == token:
                del self._tokens[auth]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKENS: Final = TokenCache()
