"""The embedded periodic-job runner used when there is no Celery broker.

Celery beat needs a broker and a worker; a dispatcher's stale-unit warning must not depend on
Redis being installed, so in embedded mode this thread runs the same CELERY_BEAT_SCHEDULE
entries in-process (tasks are eager there). Only interval schedules are supported, which the
settings guarantee.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


def _interval_seconds(name: str, schedule: Any) -> float:
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float):
        return float(schedule)
    raise ValueError(f"CELERY_BEAT_SCHEDULE[{name!r}]: the embedded scheduler runs intervals only")


class EmbeddedScheduler:
    """Runs each scheduled task at its interval in one daemon thread."""

    def __init__(self, schedule: dict[str, dict[str, Any]], tick: float = 1.0) -> None:
        self.entries = [
            (name, entry["task"], _interval_seconds(name, entry["schedule"]), entry)
            for name, entry in schedule.items()
        ]
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due(self, next_run: dict[str, float], now: float) -> None:
        from config.celery import app

        for name, task_name, interval, entry in self.entries:
            if now < next_run.get(name, 0.0):
                continue
            next_run[name] = now + interval
            if task_name not in app.tasks:
                # Not imported yet (start() imports the task modules; run_due may come first).
                app.loader.import_default_modules()
            try:
                app.tasks[task_name].apply(
                    args=entry.get("args", ()), kwargs=entry.get("kwargs", {})
                ).get(disable_sync_subtasks=False)
            except Exception:
                # One failing job must not stop the others (the stale-unit check keeps running
                # even if, say, a delivery sweep is failing).
                logger.exception("periodic job %s failed", name)
            finally:
                close_old_connections()

    def _loop(self) -> None:
        next_run: dict[str, float] = {}
        while not self._stop.is_set():
            self.run_due(next_run, time.monotonic())
            self._stop.wait(self.tick)

    def start(self) -> None:
        from config.celery import app

        # Celery registers tasks when their modules are imported; a worker does that at boot,
        # this thread must do it itself or the first run finds no task by that name.
        app.loader.import_default_modules()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="embedded-beat", daemon=True)
            self._thread.start()
            logger.info("embedded scheduler started with %d job(s)", len(self.entries))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_embedded_scheduler() -> EmbeddedScheduler | None:
    """Start the in-process scheduler when the settings ask for it."""
    if not settings.EMBEDDED_SCHEDULER:
        return None
    scheduler = EmbeddedScheduler(settings.CELERY_BEAT_SCHEDULE)
    scheduler.start()
    return scheduler
