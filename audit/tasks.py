"""Audit background jobs."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from audit.heads import head_export


@shared_task(name="audit.tasks.audit_head_export", acks_late=True, reject_on_worker_lost=True)
def audit_head_export() -> dict[str, Any]:
    """Append the chain's head to AUDIT_HEAD_FILE (idempotent enough: a repeat adds a line)."""
    return head_export()
