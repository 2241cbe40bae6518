"""Dispatch background jobs."""

from __future__ import annotations

from celery import shared_task

from dispatch import services


@shared_task(name="dispatch.tasks.units_flag_stale", acks_late=True, reject_on_worker_lost=True)
def units_flag_stale() -> int:
    """Flag units whose last fix is too old (idempotent: each unit is claimed once)."""
    return services.units_flag_stale()


@shared_task(
    name="dispatch.tasks.queued_calls_roll_over", acks_late=True, reject_on_worker_lost=True
)
def queued_calls_roll_over() -> int:
    """Offer calls ringing past their rollover time to the partner (idempotent: each call is
    claimed once)."""
    return services.queued_calls_roll_over()
