"""Verify the audit trail's hash chain: exit 0 when intact, 1 naming the first broken link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.verify import chain_verify


class Command(BaseCommand):
    help = "Walk the audit chain; exit 1 naming the first edited, missing or reordered event."

    def handle(self, *args: Any, **options: Any) -> None:
        result = chain_verify()
        if result.broken is not None:
            raise CommandError(
                f"audit chain broken ({result.broken.kind}): {result.broken.message}; "
                f"{result.count} events verified before it"
            )
        self.stdout.write(f"{result.count} events, chain intact, head {result.head_hash}")
