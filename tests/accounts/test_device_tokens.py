"""Device tokens from the shell, their lifetime, and the migration of the old DRF tokens."""

from __future__ import annotations

import importlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import DeviceToken

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("device_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_the_key_once_and_list_and_revoke_use_the_prefix(client, paramedic):
    out, err = _run("issue", "--user", paramedic.username, "--days", "7", "--label", "avl-3")
    key = out.strip()
    token = DeviceToken.objects.get(user=paramedic)
    assert key.startswith(token.prefix + "_")
    assert key not in err
    assert token.label == "avl-3"
    assert token.expires_at - token.created_at == timedelta(days=7)
    listed, _ = _run("list")
    assert token.prefix in listed
    assert "active" in listed
    assert key not in listed
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    revoked, _ = _run("revoke", token.prefix)
    assert token.prefix in revoked
    assert "revoked" in _run("list", "--user", paramedic.username)[0]
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_the_command_names_the_bad_argument(paramedic):
    with pytest.raises(CommandError, match="--user"):
        _run("issue", "--user", "nobody")
    with pytest.raises(CommandError, match="--days"):
        _run("issue", "--user", paramedic.username, "--days", "0")
    with pytest.raises(CommandError, match="prefix"):
        _run("revoke", "gh_00000000")


def test_a_new_token_lasts_device_token_days(settings, paramedic):
    settings.DEVICE_TOKEN_DAYS = 12
    token = services.device_token_issue(user=paramedic, created_by=None).token
    assert token.expires_at - token.created_at == timedelta(days=12)


def test_an_inactive_user_gets_no_token(paramedic):
    paramedic.is_active = False
    paramedic.save()
    with pytest.raises(services.DeviceTokenError) as raised:
        services.device_token_issue(user=paramedic, created_by=None)
    assert raised.value.field == "user"


def test_use_is_recorded_at_most_once_a_minute(client, paramedic):
    key = services.device_token_issue(user=paramedic, created_by=None).key
    token = DeviceToken.objects.get(user=paramedic)
    assert token.last_used_at is None
    client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    token.refresh_from_db()
    assert token.last_used_at == first
    DeviceToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(minutes=1)


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_deployed_drf_keys_working_and_drops_the_raw_keys(
    client, paramedic, settings
):
    settings.DEVICE_TOKEN_DAYS = 30
    old_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, "
            "user_id integer)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            [old_key, timezone.now().isoformat(), paramedic.pk],
        )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
            ["authtoken", "0001_initial", timezone.now().isoformat()],
        )
    migration = importlib.import_module("accounts.migrations.0003_device_tokens_from_drf_tokens")
    from django.apps import apps

    with connection.schema_editor() as editor:
        migration.forwards(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone()[0] == 0
    token = DeviceToken.objects.get(user=paramedic)
    assert token.prefix == old_key[:8]
    assert token.key_hash == services.key_hash(old_key)
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {old_key}")
    assert me.status_code == 200
    assert me.json()["username"] == paramedic.username
