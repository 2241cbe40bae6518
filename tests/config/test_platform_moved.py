"""The platform models left config/ for realtime, outbox and ops without losing a row.

A database migrated before the move (config 0004) is migrated forward: the rows are still
there under the new apps, on the same tables, and the permissions granted on the old
content types are the new apps' permissions. Then back again (the move is reversible).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from ops.models import Heartbeat
from outbox.models import OutboxTask
from realtime.models import DeviceItem, EventLog, StreamSequence

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("config", "0004_outbox_tasks"),
    ("realtime", None),
    ("outbox", None),
    ("ops", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    # The state of the targets, with the apps the test writes to (users, permissions).
    graph = executor.loader.graph
    nodes = [target for target in targets if target[1] is not None]
    nodes += [leaf for leaf in graph.leaf_nodes() if leaf[0] in {"accounts", "auth"}]
    return executor.loader.project_state(nodes).apps


def _leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_the_move_keeps_every_row_and_permission():
    leaves = _leaves()
    old = _migrate(BEFORE)
    now = timezone.now()
    user = old.get_model("accounts", "User").objects.create(username="medic", role="admin")
    old.get_model("config", "Heartbeat").objects.create(name="scheduler", last_run_at=now, runs=7)
    old.get_model("config", "StreamSequence").objects.create(stream="s.1", last_seq=3)
    old.get_model("config", "EventLog").objects.create(
        stream="s.1", seq=3, type="dispatch.unit.moved", data={"a": 1}, ts=now
    )
    old.get_model("config", "DeviceItem").objects.create(
        device_id="d1",
        client_id="c1",
        seq=1,
        type="vitals",
        user_id=user.pk,
        accepted=True,
        outcome={"ok": True},
        received_at=now,
    )
    old.get_model("config", "OutboxTask").objects.create(
        kind="k", key="key-1", next_attempt_at=now, resend_after=now, created_at=now
    )
    content_type = old.get_model("contenttypes", "ContentType")
    permission = old.get_model("auth", "Permission")
    group = old.get_model("auth", "Group").objects.create(name="operators")
    for model in ("heartbeat", "outboxtask", "deviceitem"):
        # Before the move, content types and permissions were config's.
        content_type.objects.filter(model=model).update(app_label="config")
        ct = content_type.objects.get(model=model)
        group.permissions.add(
            permission.objects.get_or_create(
                content_type=ct, codename=f"view_{model}", defaults={"name": model}
            )[0]
        )

    _migrate(leaves)

    assert Heartbeat.objects.get(name="scheduler").runs == 7
    assert StreamSequence.objects.get(stream="s.1").last_seq == 3
    assert EventLog.objects.get(stream="s.1", seq=3).data == {"a": 1}
    assert DeviceItem.objects.get(device_id="d1", client_id="c1").user.username == "medic"
    first = OutboxTask.objects.get(key="key-1")
    later = OutboxTask.objects.create(
        kind="k", key="key-2", next_attempt_at=now, resend_after=now, created_at=now
    )
    assert later.pk > first.pk
    from django.contrib.auth.models import Group

    granted = sorted(
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name="operators").permissions.all()
    )
    assert granted == [
        "ops.view_heartbeat",
        "outbox.view_outboxtask",
        "realtime.view_deviceitem",
    ]

    # And back: config owns the tables again, the rows still in them.
    back = _migrate(BEFORE)
    assert back.get_model("config", "Heartbeat").objects.get(name="scheduler").runs == 7
    assert (
        back.get_model("contenttypes", "ContentType").objects.get(model="heartbeat").app_label
        == "config"
    )
    _migrate(leaves)
