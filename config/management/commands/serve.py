"""Serve HTTP and WebSockets with daphne, plus the embedded scheduler when there is no broker."""

from __future__ import annotations

import logging
from typing import Any

from daphne.cli import CommandLineInterface
from django.core.management.base import BaseCommand

from config.scheduler import start_embedded_scheduler

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run daphne on the ASGI application (and the periodic jobs in embedded mode)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        from routing.services import warm_up

        warm_up()
        start_embedded_scheduler()
        self.stdout.write(f"Serving on http://{options['host']}:{options['port']}/")
        CommandLineInterface().run(
            ["-b", options["host"], "-p", str(options["port"]), "config.asgi:application"]
        )
