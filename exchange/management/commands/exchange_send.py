"""Hand an encounter's record to a peer deployment (sent through the outbox).

manage.py exchange_send PEER ENCOUNTER_PUBLIC_ID
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.services import ExchangeError, exchange_send_encounter
from handoff.models import Encounter


class Command(BaseCommand):
    help = "Send an encounter's record to a peer as a FHIR patient-handoff message."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("peer")
        parser.add_argument("encounter")

    def handle(self, *args: Any, **options: Any) -> None:
        encounter = Encounter.objects.filter(public_id=options["encounter"]).first()
        if encounter is None:
            raise CommandError(f"encounter: no encounter {options['encounter']!r}")
        try:
            outbound = exchange_send_encounter(
                user=None, encounter_id=encounter.pk, peer_name=options["peer"]
            )
        except (ExchangeError, ValueError) as error:
            raise CommandError(str(error)) from None
        outbound.refresh_from_db()
        # pending: not answered yet (the outbox retries); rejected: the peer's receipt says why.
        why = f" ({outbound.last_error})" if outbound.last_error else ""
        self.stdout.write(f"message {outbound.message_id}: {outbound.status}{why}")
