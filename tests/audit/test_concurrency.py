"""Writers appending at once never chain onto the same previous hash."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_appends_form_one_unbroken_chain(ed_nurse, capsys):
    errors = []

    def writer(n):
        try:
            for i in range(10):
                with transaction.atomic():
                    audit_record(
                        actor=ed_nurse, action="update", object_type="encounter", object_id=n * i
                    )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(AuditEvent.objects.order_by("id").values_list("seq", flat=True)) == list(
        range(1, 41)
    )
    call_command("audit_verify")
    assert capsys.readouterr().out.startswith("40 events, chain intact")
