"""Fixtures of the audit tests: a short chain of events, and a way past the triggers."""

from contextlib import contextmanager

import pytest
from django.db import connection

from audit import triggers
from audit.models import AuditEvent
from audit.services import audit_record
from tests.handoff.conftest import assignment, encounter, routed

# The handoff fixtures, re-exported: an assignment, an open encounter, one bound for `hospital`.
__all__ = ["assignment", "encounter", "routed"]


@contextmanager
def unguarded():
    """The append-only triggers dropped for the block: how an attacker with DDL rights, or a
    restore from a doctored dump, could rewrite the log."""
    triggers.remove(connection)
    try:
        yield connection
    finally:
        triggers.install(connection)


@pytest.fixture
def chain(ed_nurse):
    """Five events, seq 1-5, in id order."""
    for n in range(5):
        audit_record(actor=ed_nurse, action="update", object_type="encounter", object_id=n)
    return list(AuditEvent.objects.order_by("id"))
