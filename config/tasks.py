"""System tasks: the scheduler heartbeat, a ping that proves a worker runs tasks, the outbox."""

from __future__ import annotations

import socket

from celery import shared_task

from config import outbox, services


@shared_task(name="config.tasks.heartbeat", acks_late=True, reject_on_worker_lost=True)
def heartbeat(name: str = "scheduler") -> int:
    """Record that the scheduler ran; idempotent (it only moves a timestamp forward)."""
    beat = services.heartbeat_record(name=name, runner=socket.gethostname())
    return beat.runs


@shared_task(name="config.tasks.ping")
def ping() -> str:
    return "pong"


@shared_task(name="config.tasks.outbox_run", acks_late=True, reject_on_worker_lost=True)
def outbox_run(task_id: int) -> str:
    """Run one outbox task (config/outbox.py); a repeat or a late duplicate is a no-op."""
    return outbox.outbox_task_run(task_id)


@shared_task(name="config.tasks.outbox_sweep", acks_late=True, reject_on_worker_lost=True)
def outbox_sweep() -> int:
    """Send again outbox tasks whose message or worker was lost; each row claimed once."""
    return outbox.outbox_sweep()
