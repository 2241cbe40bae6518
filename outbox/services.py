"""Must-happen work through a database outbox: enqueue in the transaction, run after commit.

A Celery message sent from a transaction that later rolls back runs work for a change that
never happened; one sent after commit is lost if the broker or the worker dies at the wrong
moment. So the work is a row (`OutboxTask`) written in the caller's transaction, and the
message only says "look at row N":

- `outbox_enqueue` writes the row (its `key` makes a second enqueue a no-op) and sends
  `outbox.tasks.outbox_run` after commit;
- `outbox_task_run` claims the row with a conditional UPDATE, runs the handler registered for
  its kind and marks the row done in the handler's transaction, conditional on still holding
  the claim, so a handler whose side effect is a database write takes effect exactly once;
- a failing handler is retried with capped exponential back-off, up to `max_attempts`;
- `outbox_sweep` (Celery beat, every 10 s) sends again what is due and was lost on the way:
  pending rows nobody claimed within the lease, and claims whose lease ran out (killed
  worker). docs/events.md, "The outbox", has the whole story.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.celery import app as celery_app
from outbox.models import OutboxTask
from realtime.events import event_batch_suspended

logger = logging.getLogger(__name__)

Status = OutboxTask.Status
HandlerFn = Callable[[OutboxTask], dict[str, Any] | None]
FailureFn = Callable[[OutboxTask, BaseException], None]

DEFAULT_LEASE_SECONDS = 60
DEFAULT_MAX_ATTEMPTS = 10
RETRY_BASE_SECONDS = 5.0
RETRY_CAP_SECONDS = 600.0
SWEEP_LIMIT = 500
# The Celery name of outbox.tasks.outbox_run.
OUTBOX_RUN_TASK = "outbox.tasks.outbox_run"
# Back-off only spreads retries; it does not need a cryptographic source.
_jitter = random.SystemRandom()


class OutboxError(Exception):
    """A handler failure whose message is safe to store (no patient data).

    Any other exception is stored by its class name only: messages of library exceptions
    may quote the data that failed, and the outbox table is not a place for patient data.
    """


class _ClaimLost(Exception):  # noqa: N818 - control flow, not an error
    """The claim was taken over while the handler ran."""


@dataclass(frozen=True)
class OutboxHandler:
    kind: str
    fn: HandlerFn
    lease_seconds: int
    max_attempts: int
    on_failure: FailureFn | None = None


_HANDLERS: dict[str, OutboxHandler] = {}


def register_outbox_handler(
    kind: str,
    fn: HandlerFn,
    *,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    on_failure: FailureFn | None = None,
) -> None:
    """Name the function that does the work of `kind`.

    `fn(task)` runs inside a transaction that also marks the task done; it returns a small
    JSON-able result (or None). `lease_seconds` must exceed its longest run: a claim older
    than that counts as lost and the task is run again. Register at import time of the app
    (both the web processes, which read the lease when enqueueing, and the workers).
    `on_failure(task, exc)` runs after a failed attempt is recorded, in its own transaction:
    the place for writes that must survive the rollback of the handler's (an audit row).
    """
    if lease_seconds < 1 or max_attempts < 1:
        raise ValueError("lease_seconds and max_attempts must be at least 1")
    _HANDLERS[kind] = OutboxHandler(kind, fn, lease_seconds, max_attempts, on_failure)


def outbox_handler(kind: str) -> OutboxHandler | None:
    return _HANDLERS.get(kind)


def outbox_enqueue(*, kind: str, key: str, payload: dict[str, Any]) -> OutboxTask:
    """Record work to do after the caller's transaction commits; the same key twice is a no-op.

    Returns the task row (the existing one when `key` was enqueued before).
    """
    if not key or len(key) > 200:
        raise ValueError("key must be 1-200 characters")
    handler = _HANDLERS.get(kind)
    now = timezone.now()
    lease = handler.lease_seconds if handler else DEFAULT_LEASE_SECONDS
    with transaction.atomic():
        task, created = OutboxTask.objects.get_or_create(
            key=key,
            defaults={
                "kind": kind,
                "payload": payload,
                "lease_seconds": lease,
                "max_attempts": handler.max_attempts if handler else DEFAULT_MAX_ATTEMPTS,
                "next_attempt_at": now,
                "resend_after": now + timedelta(seconds=lease),
                "created_at": now,
            },
        )
        if not created and task.kind != kind:
            raise ValueError(f"outbox key {key!r} is already used by kind {task.kind!r}")
        if created:
            task_id = task.pk
            transaction.on_commit(lambda: outbox_publish(task_id))
    return task


def outbox_publish(task_id: int, *, countdown: float | None = None) -> None:
    """Send the Celery message for a task row; a failure only delays it until the sweep."""
    # By name, not by import: outbox/tasks.py imports this module (OutboxConfig.ready
    # registers the task in every process).
    outbox_run = celery_app.tasks[OUTBOX_RUN_TASK]
    try:
        # retry=False: a broker that is down must not hold the request that committed the
        # row; the sweeper sends the message again once the lease has passed.
        outbox_run.apply_async(args=[task_id], countdown=countdown, retry=False)
    except Exception:
        logger.warning("outbox task %s not sent now; the sweeper will send it", task_id)


def _publish_all(task_ids: list[int]) -> None:
    for task_id in task_ids:
        outbox_publish(task_id)


def _claimable(now: Any) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.CLAIMED, lease_expires_at__lte=now
    )


def _backoff_seconds(attempts: int) -> float:
    step = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, min(attempts - 1, 20)))
    return float(step * _jitter.uniform(0.5, 1.0))


def _safe_error(exc: BaseException) -> str:
    if isinstance(exc, OutboxError):
        return f"OutboxError: {exc}"[:200]
    return type(exc).__name__[:200]


def outbox_task_run(task_id: int) -> str:
    """Claim and run one task; returns what happened (done, busy, retry, failed, ...).

    Safe to call any number of times for the same id, concurrently too: only one claim
    succeeds, and the done mark commits with the handler's writes only while the claim holds.
    """
    # Run eagerly from an ingest tick's on_commit, the task is still in the tick's context;
    # its events belong to its own transaction, not to the tick's batch (already written).
    with event_batch_suspended():
        return _outbox_task_run(task_id)


def _outbox_task_run(task_id: int) -> str:
    now = timezone.now()
    lease = OutboxTask.objects.filter(pk=task_id).values_list("lease_seconds", flat=True).first()
    if lease is None:
        return "missing"
    token = uuid.uuid4().hex
    claimed = (
        OutboxTask.objects.filter(pk=task_id)
        .filter(_claimable(now))
        .update(
            status=Status.CLAIMED,
            claimed_at=now,
            claimed_by=token,
            lease_expires_at=now + timedelta(seconds=lease),
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        # Done already, running elsewhere under a live lease, or waiting for its back-off.
        return "busy"
    try:
        with transaction.atomic():
            # The row lock keeps the sweeper (skip_locked) off a task that is running; the
            # token check finds out whether the lease ran out and someone else took over.
            task = (
                OutboxTask.objects.select_for_update()
                .filter(pk=task_id, status=Status.CLAIMED, claimed_by=token)
                .first()
            )
            if task is None:
                return "lost"
            handler = _HANDLERS.get(task.kind)
            if handler is None:
                raise OutboxError(f"no handler registered for kind {task.kind!r}")
            result = handler.fn(task) or {}
            marked = OutboxTask.objects.filter(
                pk=task_id, status=Status.CLAIMED, claimed_by=token
            ).update(status=Status.DONE, result=result, done_at=timezone.now(), last_error="")
            if not marked:
                # Taken over meanwhile (only where rows cannot be locked): roll the handler's
                # writes back, the new owner does them.
                raise _ClaimLost
    except _ClaimLost:
        return "lost"
    except Exception as exc:
        outcome = _after_failure(task_id, token, exc)
        _report_failure(task_id, exc)
        return outcome
    return "done"


def _report_failure(task_id: int, exc: BaseException) -> None:
    task = OutboxTask.objects.filter(pk=task_id).first()
    handler = _HANDLERS.get(task.kind) if task is not None else None
    if task is None or handler is None or handler.on_failure is None:
        return
    try:
        with transaction.atomic():
            handler.on_failure(task, exc)
    except Exception:
        logger.exception("outbox task %s (%s): on_failure failed", task_id, task.kind)


def _after_failure(task_id: int, token: str, exc: BaseException) -> str:
    error = _safe_error(exc)
    task = OutboxTask.objects.filter(pk=task_id, claimed_by=token).first()
    if task is None:
        return "lost"
    now = timezone.now()
    if task.attempts >= task.max_attempts:
        OutboxTask.objects.filter(pk=task_id, claimed_by=token).update(
            status=Status.FAILED, last_error=error, claimed_by=""
        )
        logger.error(
            "outbox task %s (%s) failed for good after %d attempts: %s",
            task_id,
            task.kind,
            task.attempts,
            error,
        )
        return "failed"
    delay = _backoff_seconds(task.attempts)
    next_at = now + timedelta(seconds=delay)
    OutboxTask.objects.filter(pk=task_id, claimed_by=token).update(
        status=Status.PENDING,
        last_error=error,
        claimed_by="",
        lease_expires_at=None,
        next_attempt_at=next_at,
        resend_after=next_at + timedelta(seconds=task.lease_seconds),
    )
    logger.warning(
        "outbox task %s (%s) attempt %d failed (%s); again in %.0f s",
        task_id,
        task.kind,
        task.attempts,
        error,
        delay,
    )
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        # Eager (embedded) mode would run it again right here; the sweep picks it up instead.
        outbox_publish(task_id, countdown=delay)
    return "retry"


def outbox_sweep(*, limit: int = SWEEP_LIMIT) -> int:
    """Send again the tasks whose message was lost; returns how many were sent.

    Due are pending rows past their back-off that nobody claimed within the lease after the
    last send, and claims whose lease ran out (the worker died mid-run): those go back to
    pending, or to failed when their attempts are used up. Each row is taken with a
    conditional UPDATE, so two sweepers running at once send a row once.
    """
    now = timezone.now()
    lost_message = Q(status=Status.PENDING, next_attempt_at__lte=now, resend_after__lte=now)
    lost_claim = Q(status=Status.CLAIMED, lease_expires_at__lte=now)
    sent: list[int] = []
    with transaction.atomic():
        # skip_locked: a row locked by a running handler is not lost, just busy.
        rows = list(
            OutboxTask.objects.select_for_update(skip_locked=True)
            .filter(lost_message | lost_claim)
            .order_by("next_attempt_at")
            .values_list("pk", "lease_seconds", "attempts", "max_attempts", "status")[:limit]
        )
        for pk, lease, attempts, max_attempts, status in rows:
            again = now + timedelta(seconds=lease)
            if status == Status.CLAIMED and attempts >= max_attempts:
                OutboxTask.objects.filter(pk=pk).filter(lost_claim).update(
                    status=Status.FAILED, claimed_by="", last_error="lease expired (worker lost)"
                )
                continue
            taken = (
                OutboxTask.objects.filter(pk=pk)
                .filter(lost_message | lost_claim)
                .update(
                    status=Status.PENDING,
                    claimed_by="",
                    lease_expires_at=None,
                    resend_after=again,
                )
            )
            if taken:
                sent.append(pk)
        if sent:
            transaction.on_commit(lambda: _publish_all(sent))
    if sent:
        logger.info("outbox sweep sent %d lost task(s) again", len(sent))
    return len(sent)
