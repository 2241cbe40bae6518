"""Print the audit chain's head as JSON, to anchor it somewhere the database's owners cannot
rewrite (a ticket, a notary service, another organisation's log). A later audit_verify whose
chain still contains this hash at this seq proves nothing before it was changed."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from audit.chain import utc_iso
from audit.models import GENESIS_HASH, AuditEvent


class Command(BaseCommand):
    help = "Print the head hash, seq, event count and times of the audit chain as JSON."

    def handle(self, *args: Any, **options: Any) -> None:
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash", "at").first()
        self.stdout.write(
            json.dumps(
                {
                    "head": last[1] if last else GENESIS_HASH,
                    "seq": last[0] if last else 0,
                    "count": AuditEvent.objects.count(),
                    "last_event_at": utc_iso(last[2]) if last else None,
                    "exported_at": utc_iso(timezone.now()),
                },
                sort_keys=True,
            )
        )
