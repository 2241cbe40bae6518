"""The keyed hash chain: the canonical form of an audit row and its HMAC (pure functions).

The key (settings.AUDIT_CHAIN_KEY) lives outside the database: whoever can write the audit
table but not read the key cannot recompute a chain that verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

# Every stored field but `hash`, in the order audit_verify reads them from the database.
CHAINED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_username",
    "role",
    "action",
    "object_type",
    "object_id",
    "client_address",
    "request_id",
    "channel",
    "detail",
    "prev_hash",
)


def utc_iso(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds: one spelling per instant, whatever the zone."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_row(fields: dict[str, Any]) -> bytes:
    """Deterministic JSON of a row's chained fields: sorted keys, no spaces, ASCII only."""
    row = {name: fields[name] for name in CHAINED_FIELDS}
    row["at"] = utc_iso(row["at"])
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def row_hash(fields: dict[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256(key, prev_hash || canonical row), hex; the key defaults to the setting."""
    secret = key if key is not None else settings.AUDIT_CHAIN_KEY
    digest = hmac.new(secret, digestmod=hashlib.sha256)
    digest.update(fields["prev_hash"].encode("ascii"))
    digest.update(canonical_row(fields))
    return digest.hexdigest()
