"""System tasks: the scheduler heartbeat and a ping that proves a worker runs tasks."""

from __future__ import annotations

import socket

from celery import shared_task

from ops import services


@shared_task(name="ops.tasks.heartbeat", acks_late=True, reject_on_worker_lost=True)
def heartbeat(name: str = "scheduler") -> int:
    """Record that the scheduler ran; idempotent (it only moves a timestamp forward)."""
    beat = services.heartbeat_record(name=name, runner=socket.gethostname())
    return beat.runs


@shared_task(name="ops.tasks.ping")
def ping() -> str:
    return "pong"


# The names these tasks had in config/tasks.py, for messages queued before the move (an
# old beat still sending "config.tasks.heartbeat"). Nothing sends these names any more.
@shared_task(name="config.tasks.heartbeat", acks_late=True, reject_on_worker_lost=True)
def legacy_heartbeat(name: str = "scheduler") -> int:
    return heartbeat(name)


@shared_task(name="config.tasks.ping")
def legacy_ping() -> str:
    return "pong"
