"""Appending to the audit trail. The only code that writes AuditEvent rows."""

from __future__ import annotations

import atexit
import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.chain import row_hash
from audit.context import AuditContext, current
from audit.models import GENESIS_HASH, AuditEvent, AuditHead
from config import sql

logger = logging.getLogger(__name__)

# Reads are recorded after the surrounding transaction commits (see audit_record).
READ_ACTIONS = frozenset({"read", "list"})

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Detail values are ids, codes and field names: no spaces, so no names or free text.
_TOKEN = re.compile(r"^[A-Za-z0-9_.:/-]{0,128}$")


def audit_token(value: Any) -> str:
    """`value` as a detail value: itself when it is a plain token, else its SHA-256 (so a
    value that could be free text is still identifiable against the row it came from)."""
    text = str(value)
    if _TOKEN.match(text):
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:56]


class AuditDetailError(ValueError):
    """A detail that could carry personal data; the audit call is a programming error."""


def _clean_value(value: Any, key: str) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str) and _TOKEN.match(value):
        return value
    if isinstance(value, list | tuple):
        return [_clean_value(item, key) for item in value if not isinstance(item, list | tuple)]
    raise AuditDetailError(f"audit detail {key!r} must be ids or field names")


def _clean_detail(detail: dict[str, Any] | None, context: AuditContext) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise AuditDetailError(f"audit detail key {key!r} is not a plain name")
        cleaned[key] = _clean_value(value, key)
    if context.path and "path" not in cleaned:
        cleaned["path"] = context.path
    return cleaned


def _locked_head() -> AuditHead:
    """The head row, locked until the caller's transaction ends (created on first use)."""
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    # First append, or after `flush`: start from the log's own end so the chain continues.
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    try:
        with transaction.atomic():
            AuditHead.objects.create(
                pk=1,
                last_seq=last[0] if last else 0,
                last_hash=last[1] if last else GENESIS_HASH,
            )
    except IntegrityError:
        pass  # Another writer created it first; its row is the same start.
    return AuditHead.objects.select_for_update().get(pk=1)


def _append(fields: dict[str, Any]) -> AuditEvent:
    # savepoint=False: the row joins the caller's transaction and commits or rolls back with
    # the change it records. The head lock serialises appenders (PostgreSQL; SQLite already
    # lets one writer in at a time), so seq and prev_hash are taken by exactly one row each.
    with transaction.atomic(savepoint=False):
        head = _locked_head()
        fields = {**fields, "seq": head.last_seq + 1, "prev_hash": head.last_hash}
        event = AuditEvent(**fields)
        event.hash = row_hash(fields)
        event.save(force_insert=True)
        AuditHead.objects.filter(pk=1).update(
            last_seq=event.seq, last_hash=event.hash, updated_at=event.at
        )
    return event


@dataclass
class AuditBatch:
    """Audit rows of an ingest tick, appended together when it ends (realtime.ingest).

    One head lock for the whole tick, taken last, as every writer takes it; `mark()` /
    `rollback_to()` follow the tick's per-item savepoints.
    """

    pending: list[dict[str, Any]] = field(default_factory=list)

    def mark(self) -> int:
        return len(self.pending)

    def rollback_to(self, mark: int) -> None:
        del self.pending[mark:]

    def flush(self) -> int:
        """Chain and insert the collected rows inside the caller's transaction."""
        if not self.pending:
            return 0
        with transaction.atomic(savepoint=False):
            head = _locked_head()
            seq, prev = head.last_seq, head.last_hash
            rows = []
            for fields in self.pending:
                seq += 1
                chained = {**fields, "seq": seq, "prev_hash": prev}
                event = AuditEvent(**chained)
                event.hash = prev = row_hash(chained)
                rows.append(event)
            sql.insert_objects(rows)
            AuditHead.objects.filter(pk=1).update(
                last_seq=seq, last_hash=prev, updated_at=rows[-1].at
            )
        count, self.pending = len(self.pending), []
        return count


_batch: ContextVar[AuditBatch | None] = ContextVar("audit_batch", default=None)


class ReadRecorder:
    """Read rows of a process, appended by one background thread in batches.

    Each read would otherwise cost its own transaction and chain lock (on PostgreSQL about
    1.2 ms, so an ED board of many screens is throttled by its own audit). A read is queued
    and appended with the others of the next AUDIT_READ_BATCH_MS, under one head lock; `at`
    is the time of the read, `seq` the order of appending. Queued rows are appended at process
    exit too; only a hard kill within that window loses them (never a write: writes stay in
    their service's transaction). A failed append keeps the rows and tries again.
    """

    def __init__(self, delay_s: float, max_rows: int = 1000) -> None:
        self.delay_s = delay_s
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.appended = 0

    def add(self, fields: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append(fields)
            full = len(self._pending) >= self.max_rows
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-reads", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Append what is queued now, in one transaction; returns the number appended."""
        with self._lock:
            rows, self._pending = self._pending, []
        if not rows:
            return 0
        try:
            with transaction.atomic():
                AuditBatch(pending=rows).flush()
        except Exception:
            # Kept, in order, before anything queued since; the next round tries again.
            with self._lock:
                self._pending[:0] = rows
            logger.exception("audit reads not appended (%d kept for the next try)", len(rows))
            connection.close_if_unusable_or_obsolete()
            return 0
        self.appended += len(rows)
        return len(rows)

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self.delay_s)
                self._wake.clear()
                self.flush()
                with self._lock:
                    if not self._pending:
                        # Idle: the thread ends (and its connection closes); add() starts one.
                        self._thread = None
                        return
        finally:
            connection.close()


_reads: ReadRecorder | None = None
_reads_lock = threading.Lock()


def read_recorder() -> ReadRecorder | None:
    """The process's ReadRecorder, or None when AUDIT_READ_BATCH_MS is 0 (append at once)."""
    global _reads
    delay_ms = settings.AUDIT_READ_BATCH_MS
    if delay_ms <= 0:
        return None
    with _reads_lock:
        if _reads is None or _reads.delay_s != delay_ms / 1000:
            _reads = ReadRecorder(delay_ms / 1000)
            atexit.register(_reads.flush)
        return _reads


def _record_read(fields: dict[str, Any]) -> None:
    recorder = read_recorder()
    if recorder is None:
        _append(fields)
    else:
        recorder.add(fields)


@contextmanager
def audit_batch() -> Iterator[AuditBatch]:
    """Collect `audit_record` calls for one ingest tick (see AuditBatch)."""
    batch = AuditBatch()
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)


def audit_record(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: Any,
    detail: dict[str, Any] | None = None,
    context: AuditContext | None = None,
) -> None:
    """Record that `actor` did `action` on one object of patient data.

    Preconditions: `detail` holds ids and field names only (AuditDetailError otherwise).
    Writes join the caller's transaction, so a rolled-back change leaves no audit row. Reads
    ("read", "list") inside a transaction are recorded once it commits: the chain lock is then
    always the last lock a transaction takes, which keeps reads in a device item's
    transaction from deadlocking against writers that lock the encounter first. A read whose
    transaction rolls back returned nothing to the user and is not recorded. `context` is the
    request's (audit.context.current()) unless given. Inside an ingest tick the row is
    collected and appended with the tick's others at its end.
    """
    context = context or current()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    fields: dict[str, Any] = {
        "at": timezone.now(),
        "actor_id": actor.pk if is_user else None,
        "actor_username": actor.get_username()[:150] if is_user else "",
        "role": str(getattr(actor, "role", "") or "")[:16] if is_user else "",
        "action": action[:40],
        "object_type": object_type[:40],
        "object_id": str(object_id)[:64],
        "client_address": context.client_address[:64],
        "request_id": context.request_id[:64],
        "channel": context.channel,
        "detail": _clean_detail(detail, context),
    }
    batch = _batch.get()
    if batch is not None:
        batch.pending.append(fields)
        return
    if action in READ_ACTIONS:
        if connection.in_atomic_block:
            transaction.on_commit(lambda: _record_read(fields), robust=True)
        else:
            _record_read(fields)
        return
    _append(fields)


def audit_reads(actor: Any, object_type: str, object_ids: Iterable[Any], *, via: str) -> None:
    """One audited read per object shown to `actor` in a list, snapshot or replay.

    Preconditions: the caller has already checked that `actor` may see each of them; `via`
    names the path (a token: "assignment_list", "ws_snapshot", "ws_replay", "page").
    """
    for object_id in dict.fromkeys(str(value) for value in object_ids):
        audit_record(
            actor=actor,
            action="read",
            object_type=object_type,
            object_id=object_id,
            detail={"via": via},
        )
