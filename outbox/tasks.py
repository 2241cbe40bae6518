"""The outbox's Celery tasks: run one task row, sweep the lost ones (outbox/services.py)."""

from __future__ import annotations

from celery import shared_task

from outbox import services


@shared_task(name="outbox.tasks.outbox_run", acks_late=True, reject_on_worker_lost=True)
def outbox_run(task_id: int) -> str:
    """Run one outbox task (outbox/services.py); a repeat or a late duplicate is a no-op."""
    return services.outbox_task_run(task_id)


@shared_task(name="outbox.tasks.outbox_sweep", acks_late=True, reject_on_worker_lost=True)
def outbox_sweep() -> int:
    """Send again outbox tasks whose message or worker was lost; each row claimed once."""
    return services.outbox_sweep()


# The names these tasks had when they lived in config/tasks.py: messages already queued
# under them (a retry's countdown, a message sent just before a deploy, an old beat) still
# run. Nothing sends these names any more.
@shared_task(name="config.tasks.outbox_run", acks_late=True, reject_on_worker_lost=True)
def legacy_outbox_run(task_id: int) -> str:
    return services.outbox_task_run(task_id)


@shared_task(name="config.tasks.outbox_sweep", acks_late=True, reject_on_worker_lost=True)
def legacy_outbox_sweep() -> int:
    return services.outbox_sweep()
