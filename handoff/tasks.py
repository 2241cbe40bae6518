"""Handoff background jobs."""

from __future__ import annotations

from celery import shared_task

from handoff.services import activations


@shared_task(name="handoff.tasks.activations_escalate", acks_late=True, reject_on_worker_lost=True)
def activations_escalate() -> int:
    """Escalate unacknowledged team activations (idempotent: each is claimed once)."""
    return activations.activations_escalate()
