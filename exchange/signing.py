"""Request signatures between peers: HMAC-SHA256 over method, path, timestamp and body digest.

The string signed is `METHOD\\nPATH\\nTIMESTAMP\\nSHA256HEX(BODY)`; the headers are
X-GH-Key-Id, X-GH-Timestamp (Unix seconds) and X-GH-Signature (hex). A timestamp outside the
window is refused, so a captured request replays only within it, and within it the message
id check (exchange.services) catches the replay. Secrets are stored encrypted (Fernet, key
derived from SECRET_KEY) because the receiver needs them to compute the same HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

KEY_ID_HEADER: Final = "X-GH-Key-Id"
TIMESTAMP_HEADER: Final = "X-GH-Timestamp"
SIGNATURE_HEADER: Final = "X-GH-Signature"


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def signed_string(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp}\n{body_digest(body)}".encode()


def sign(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    return hmac.new(
        secret.encode(), signed_string(method, path, timestamp, body), hashlib.sha256
    ).hexdigest()


def signature_matches(
    secret: str, method: str, path: str, timestamp: str, body: bytes, signature: str
) -> bool:
    return hmac.compare_digest(sign(secret, method, path, timestamp, body), signature.lower())


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "k_" + secrets.token_hex(8)


def _fernet() -> Fernet:
    derived = hashlib.sha256(b"golden-hour exchange keys\x00" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(derived.digest()))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode("ascii")


def decrypt_secret(stored: str) -> str | None:
    """The secret, or None when it was encrypted under another SECRET_KEY."""
    try:
        return _fernet().decrypt(stored.encode("ascii")).decode()
    except InvalidToken:
        return None
