"""Hash the DRF tokens of a deployed database into DeviceTokens, then drop their table.

Devices in the field keep their key: the hash of each old key is stored, with a lifetime of
DEVICE_TOKEN_DAYS from now and its first 8 characters as the prefix. The old table (raw keys)
is dropped, and rest_framework.authtoken's migration records with it, so no raw key stays in
the database. rest_framework.authtoken is no longer installed, hence raw SQL.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    DeviceToken = apps.get_model("accounts", "DeviceToken")
    now = timezone.now()
    expires = now + timedelta(days=settings.DEVICE_TOKEN_DAYS)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote('key')}, {quote('user_id')} FROM {quote(OLD_TABLE)}")  # noqa: S608
        rows = cursor.fetchall()
    for key, user_id in rows:
        prefix = key[:8]
        n = 8
        while DeviceToken.objects.filter(prefix=prefix).exists():
            n += 1
            prefix = key[:n]
        DeviceToken.objects.create(
            prefix=prefix,
            key_hash=hashlib.sha256(key.encode("utf-8")).hexdigest(),
            user_id=user_id,
            label="migrated DRF token",
            created_at=now,
            expires_at=expires,
        )
    schema_editor.execute(f"DROP TABLE {quote(OLD_TABLE)}")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_device_token"),
    ]

    # Not reversible: the raw keys are gone by design.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
