"""The chain's head, exported outside the database, and the log checked against the exports.

A head export is one JSON line: the database it belongs to, the last event's seq and hash, the
event count and times, and an HMAC of the line with the chain key. Kept outside the database
(AUDIT_HEAD_FILE, or shipped on to another system), it is the evidence that survives a
rewrite of the database: a flushed log, a truncated tail or a whole table rewritten with a
recomputed chain no longer holds the exported hash at the exported seq.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.chain import utc_iso
from audit.models import GENESIS_HASH, AuditEvent


class HeadFileError(Exception):
    """The head file cannot be read, or one of its lines is not an export of ours."""


def database_identity() -> str:
    """Which database a head belongs to: exports of other databases in one file are ignored."""
    conf = connection.settings_dict
    return f"{connection.vendor}:{conf.get('HOST') or ''}:{conf.get('PORT') or ''}:{conf['NAME']}"


def _mac(record: dict[str, Any]) -> str:
    body = json.dumps(
        {k: v for k, v in record.items() if k != "mac"}, sort_keys=True, separators=(",", ":")
    )
    return hmac.new(settings.AUDIT_CHAIN_KEY, body.encode(), hashlib.sha256).hexdigest()


def head_current() -> dict[str, Any]:
    """The head of the log as it is now, with its HMAC."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash", "at").first()
    record: dict[str, Any] = {
        "database": database_identity(),
        "head": last[1] if last else GENESIS_HASH,
        "seq": last[0] if last else 0,
        "count": AuditEvent.objects.count(),
        "last_event_at": utc_iso(last[2]) if last else None,
        "exported_at": utc_iso(timezone.now()),
    }
    record["mac"] = _mac(record)
    return record


def head_export(path: Path | None = None) -> dict[str, Any]:
    """Append the current head to the head file (AUDIT_HEAD_FILE unless given), on disk."""
    record = head_current()
    target = Path(path or settings.AUDIT_HEAD_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="ascii") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return record


def heads_read(path: Path) -> list[dict[str, Any]]:
    """The exports of this database in a head file (a JSON object or JSON lines), oldest first.

    Raises HeadFileError naming the line when one is not JSON or its HMAC does not match.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise HeadFileError(f"cannot read {path}: {exc.strerror}") from None
    heads: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise HeadFileError(f"{path} line {number} is not JSON") from None
        if not isinstance(record, dict) or not {"seq", "head", "mac"} <= set(record):
            raise HeadFileError(f"{path} line {number} is not a head export")
        if not hmac.compare_digest(str(record["mac"]), _mac(record)):
            raise HeadFileError(
                f"{path} line {number} does not match its HMAC: not exported with this key, "
                "or edited"
            )
        if record.get("database", database_identity()) == database_identity():
            heads.append(record)
    return heads


@dataclass(frozen=True)
class HeadMismatch:
    kind: str  # "missing" (the log ends before the export) or "rewritten"
    seq: int
    message: str


def heads_check(heads: list[dict[str, Any]]) -> HeadMismatch | None:
    """The first export the log no longer holds: its seq gone, or another hash at its seq."""
    last_seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    for record in heads:
        seq, expected = int(record["seq"]), str(record["head"])
        if seq == 0:
            continue
        if seq > last_seq:
            return HeadMismatch(
                "missing",
                seq,
                f"the head exported at {record.get('exported_at')} recorded seq {seq}, "
                f"the log ends at seq {last_seq}: events were removed (a flush or a "
                "truncated tail)",
            )
        found = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if found != expected:
            return HeadMismatch(
                "rewritten",
                seq,
                f"the head exported at {record.get('exported_at')} recorded hash "
                f"{expected[:16]}... at seq {seq}; the log holds {str(found)[:16]}...: "
                "the log was rewritten",
            )
    return None
