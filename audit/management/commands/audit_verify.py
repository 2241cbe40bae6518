"""Verify the audit trail's keyed hash chain, and the log against the heads exported outside
the database: exit 0 when intact, 1 naming the first broken link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.heads import HeadFileError, heads_check, heads_read
from audit.verify import chain_verify


class Command(BaseCommand):
    help = (
        "Walk the audit chain; exit 1 naming the first edited, missing or reordered event, or "
        "the first exported head the log no longer holds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--against",
            type=Path,
            help="a head file (audit_head --export); default AUDIT_HEAD_FILE when it exists",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        against: Path | None = options["against"]
        if against is None and Path(settings.AUDIT_HEAD_FILE).exists():
            against = Path(settings.AUDIT_HEAD_FILE)
        heads = []
        if against is not None:
            try:
                heads = heads_read(against)
            except HeadFileError as exc:
                raise CommandError(f"audit head file refused: {exc}") from None
        result = chain_verify()
        if result.broken is not None:
            raise CommandError(
                f"audit chain broken ({result.broken.kind}): {result.broken.message}; "
                f"{result.count} events verified before it"
            )
        mismatch = heads_check(heads)
        if mismatch is not None:
            raise CommandError(
                f"audit chain broken ({mismatch.kind}, against {against}): {mismatch.message}"
            )
        checked = f", matches {len(heads)} exported heads in {against}" if against else ""
        self.stdout.write(f"{result.count} events, chain intact, head {result.head_hash}{checked}")
