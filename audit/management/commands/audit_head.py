"""Print the audit chain's head as JSON, and with --export append it to AUDIT_HEAD_FILE (or
--file), to anchor it outside the database (ship the file on to a ticket, a notary service,
another organisation's log). A later `audit_verify --against FILE` finds any export the log
no longer holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.heads import head_current, head_export


class Command(BaseCommand):
    help = "Print the head hash, seq, event count and times of the audit chain as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--export", action="store_true", help="also append it to AUDIT_HEAD_FILE (or --file)"
        )
        parser.add_argument("--file", type=Path, help="the head file to append to")

    def handle(self, *args: Any, **options: Any) -> None:
        export = options["export"] or options["file"] is not None
        record = head_export(options["file"]) if export else head_current()
        self.stdout.write(json.dumps(record, sort_keys=True))
