"""Writes to the system's own operational records."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ops.models import Heartbeat


def heartbeat_record(*, name: str, runner: str) -> Heartbeat:
    """Record that the periodic job `name` ran now on `runner`."""
    now = timezone.now()
    with transaction.atomic():
        updated = Heartbeat.objects.filter(name=name).update(
            last_run_at=now, runner=runner, runs=F("runs") + 1
        )
        if not updated:
            # get_or_create inside the same transaction: a concurrent first run of the same
            # job on another worker loses the unique-name race and simply updates instead.
            beat, created = Heartbeat.objects.get_or_create(
                name=name, defaults={"last_run_at": now, "runner": runner, "runs": 1}
            )
            if not created:
                Heartbeat.objects.filter(pk=beat.pk).update(
                    last_run_at=now, runner=runner, runs=F("runs") + 1
                )
    return Heartbeat.objects.get(name=name)
