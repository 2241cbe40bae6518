"""Walks the audit chain and finds the first broken link (audit_verify)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.chain import CHAINED_FIELDS, row_hash
from audit.models import GENESIS_HASH, AuditEvent, AuditHead


@dataclass(frozen=True)
class Break:
    """The first place the chain is broken.

    kind: "edited" (a row's content no longer matches its hash, or its prev_hash no longer
    matches the row before), "missing" (a gap in seq: rows deleted, at the tail too),
    "reordered" (a row holds another position's seq).
    """

    kind: str
    event_id: int | None
    seq: int | None
    message: str


@dataclass(frozen=True)
class Result:
    count: int
    head_seq: int
    head_hash: str
    broken: Break | None = None


def _fields(values: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(("id", "hash", *CHAINED_FIELDS), values, strict=True))


def _out_of_place(row: dict[str, Any], expected: int) -> Break:
    """Classify a row whose seq is not the one expected at its place."""
    holder = AuditEvent.objects.filter(seq=expected).values_list("id", flat=True).first()
    if holder is not None:
        return Break(
            "reordered",
            row["id"],
            row["seq"],
            f"event id {row['id']} holds seq {row['seq']} where seq {expected} belongs; "
            f"seq {expected} is at event id {holder}",
        )
    if row_hash(row) != row["hash"]:
        return Break(
            "edited",
            row["id"],
            row["seq"],
            f"event id {row['id']} (seq {row['seq']}, expected {expected}) does not match its hash",
        )
    missing = (
        f"seq {expected}" if row["seq"] == expected + 1 else f"seq {expected}-{row['seq'] - 1}"
    )
    return Break(
        "missing",
        row["id"],
        expected,
        f"{missing} missing before event id {row['id']} (seq {row['seq']})",
    )


def chain_verify(*, chunk_size: int = 2000) -> Result:
    """Walk every event in id order, recomputing each hash and checking seq and prev_hash;
    then compare the last event with the head row. Stops at the first break."""
    rows = (
        AuditEvent.objects.order_by("id")
        .values_list("id", "hash", *CHAINED_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    for values in rows:
        row = _fields(values)
        if row["seq"] != expected_seq:
            return Result(count, expected_seq - 1, prev_hash, _out_of_place(row, expected_seq))
        if row["prev_hash"] != prev_hash:
            return Result(
                count,
                expected_seq - 1,
                prev_hash,
                Break(
                    "edited",
                    row["id"],
                    row["seq"],
                    f"event id {row['id']} (seq {row['seq']}) does not chain onto seq "
                    f"{row['seq'] - 1}: that row or this link was rewritten",
                ),
            )
        if row_hash(row) != row["hash"]:
            return Result(
                count,
                expected_seq - 1,
                prev_hash,
                Break(
                    "edited",
                    row["id"],
                    row["seq"],
                    f"event id {row['id']} (seq {row['seq']}) does not match its hash",
                ),
            )
        count += 1
        expected_seq += 1
        prev_hash = row["hash"]
    last_seq = expected_seq - 1
    head = AuditHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first()
    if head is None and count:
        return Result(
            count,
            last_seq,
            prev_hash,
            Break("missing", None, None, "the head row is missing: the log's end is unchecked"),
        )
    if head is not None and head[0] > last_seq:
        return Result(
            count,
            last_seq,
            prev_hash,
            Break(
                "missing",
                None,
                last_seq + 1,
                f"seq {last_seq + 1}-{head[0]} missing at the end of the log "
                f"(the head records {head[0]} events, the log ends at seq {last_seq})",
            ),
        )
    if head is not None and (head[0], head[1]) != (last_seq, prev_hash):
        return Result(
            count,
            last_seq,
            prev_hash,
            Break(
                "edited",
                None,
                last_seq,
                f"the head (seq {head[0]}) does not match the last event (seq {last_seq}): "
                "the end of the log was rewritten",
            ),
        )
    return Result(count, last_seq, prev_hash)
