"""System tasks: the scheduler heartbeat and a ping that proves a worker runs tasks."""

from __future__ import annotations

import socket

from celery import shared_task

from config import services


@shared_task(name="config.tasks.heartbeat", acks_late=True, reject_on_worker_lost=True)
def heartbeat(name: str = "scheduler") -> int:
    """Record that the scheduler ran; idempotent (it only moves a timestamp forward)."""
    beat = services.heartbeat_record(name=name, runner=socket.gethostname())
    return beat.runs


@shared_task(name="config.tasks.ping")
def ping() -> str:
    return "pong"
