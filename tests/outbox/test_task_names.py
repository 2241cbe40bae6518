"""The outbox and system tasks under their names, old and new, and no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import app
from ops.models import Heartbeat
from outbox import services as outbox
from outbox.models import OutboxTask

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _mark_heartbeat(task: OutboxTask) -> dict[str, int]:
    beat = Heartbeat.objects.create(name=task.key, last_run_at=timezone.now())
    return {"heartbeat": beat.pk}


def test_every_scheduled_task_is_registered_under_its_name():
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
    assert settings.CELERY_BEAT_SCHEDULE["outbox-sweep"]["task"] == "outbox.tasks.outbox_sweep"
    assert settings.CELERY_BEAT_SCHEDULE["heartbeat"]["task"] == "ops.tasks.heartbeat"


def test_enqueued_work_is_sent_under_the_new_name_and_runs():
    outbox.register_outbox_handler("test.names", _mark_heartbeat)
    with transaction.atomic():
        task = outbox.outbox_enqueue(kind="test.names", key="new-name", payload={})
    # Eager mode: the message sent after commit ran the handler.
    task.refresh_from_db()
    assert task.status == OutboxTask.Status.DONE
    assert Heartbeat.objects.filter(name="new-name").exists()
    assert outbox.OUTBOX_RUN_TASK == "outbox.tasks.outbox_run"


def test_messages_queued_under_the_old_config_names_still_run():
    app.loader.import_default_modules()
    outbox.register_outbox_handler("test.names", _mark_heartbeat)
    now = timezone.now()
    task = OutboxTask.objects.create(
        kind="test.names",
        key="old-name",
        next_attempt_at=now,
        resend_after=now,
        created_at=now,
    )
    assert app.tasks["config.tasks.outbox_run"].apply(args=[task.pk]).get() == "done"
    assert Heartbeat.objects.filter(name="old-name").exists()
    assert app.tasks["config.tasks.outbox_sweep"].apply().get() == 0
    assert app.tasks["config.tasks.heartbeat"].apply(kwargs={"name": "beat"}).get() == 1
    assert Heartbeat.objects.get(name="beat").runs == 1
    assert app.tasks["config.tasks.ping"].apply().get() == "pong"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_outbox_services_do_not_import_its_tasks():
    # outbox/tasks.py imports the services; the services send the run task by name.
    assert "outbox.services" in _imports(ROOT / "outbox" / "tasks.py")
    assert not {"outbox.tasks", "outbox.tasks.outbox_run"} & _imports(
        ROOT / "outbox" / "services.py"
    )
