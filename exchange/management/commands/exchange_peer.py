"""Register a peer deployment and manage its signing keys (the secret is printed once).

    manage.py exchange_peer add NAME BASE_URL [--station CODE] [--key-id ID --secret-stdin]
    manage.py exchange_peer key NAME [--key-id ID --secret-stdin]   (rotate: add a key)
    manage.py exchange_peer retire KEY_ID

Both deployments hold the same key: one creates it (no --secret-stdin) and gives the key id
and secret to the other's operator, who adds it with --key-id and --secret-stdin.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from dispatch.models import Station
from exchange.models import Peer
from exchange.services import ExchangeError, peer_create, peer_key_add, peer_key_retire


class Command(BaseCommand):
    help = "Register a peer deployment, add (rotate) or retire its HMAC keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add")
        add.add_argument("name")
        add.add_argument("base_url")
        add.add_argument("--station", help="code of the station the peer's units are listed under")
        key = sub.add_parser("key")
        key.add_argument("name")
        for p in (add, key):
            p.add_argument("--key-id")
            p.add_argument("--secret-stdin", action="store_true")
        retire = sub.add_parser("retire")
        retire.add_argument("key_id")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        # One transaction: a peer whose key is refused (a short secret) is not left behind.
        if options.get("secret_stdin") and not options.get("key_id"):
            raise CommandError("--secret-stdin needs --key-id (the peer's key id)")
        try:
            if options["action"] == "retire":
                peer_key_retire(key_id=options["key_id"])
                self.stdout.write(f"retired {options['key_id']}")
                return
            if options["action"] == "add":
                station_id = None
                if options["station"]:
                    station = Station.objects.filter(code=options["station"]).first()
                    if station is None:
                        raise CommandError(f"--station: no station {options['station']!r}")
                    station_id = station.pk
                peer = peer_create(
                    name=options["name"], base_url=options["base_url"], station_id=station_id
                )
            else:
                found = Peer.objects.filter(name=options["name"]).first()
                if found is None:
                    raise CommandError(f"name: no peer {options['name']!r}")
                peer = found
            secret = sys.stdin.readline().strip() if options["secret_stdin"] else None
            secret = peer_key_add(peer=peer, key_id=options["key_id"], secret=secret)
        except ExchangeError as error:
            raise CommandError(str(error)) from None
        key = peer.keys.filter(retired_at__isnull=True).first()
        self.stdout.write(f"peer {peer.name}: key {key.key_id if key else '-'}")
        if not options["secret_stdin"]:
            # Shown once: give it to the peer's operator over a secure channel.
            self.stdout.write(f"secret {secret}")
