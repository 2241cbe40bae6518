"""`manage.py hl7_listen`: receive the hospitals' ADT^A03 outcomes over MLLP.

Each sender is known by its source address (HL7_INBOUND_MLLP_SENDERS); the codes there must
name hospitals, checked before listening. Logs the start and each message's hospital,
control id and ACK code, never its content. docs/interop.md, "Outcome back to EMS".
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from handoff.interop.mllp_inbound import (
    IDLE_SECONDS,
    A03Listener,
    senders_resolve,
    server_ssl_context,
)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Listen for HL7 v2 ADT^A03 outcomes over MLLP and answer each with its ACK."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on")
        parser.add_argument("--port", type=int, default=2575, help="Port (2575: HL7 over MLLP)")
        parser.add_argument(
            "--idle-timeout",
            type=float,
            default=IDLE_SECONDS,
            help="Seconds a connection may wait for its next frame before it is closed",
        )
        parser.add_argument("--certfile", help="TLS: the listener's certificate (PEM)")
        parser.add_argument("--keyfile", help="TLS: its private key (PEM), if not in --certfile")
        parser.add_argument(
            "--client-ca", help="TLS: require client certificates signed by this CA (PEM)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            senders = senders_resolve(settings.HL7_INBOUND_MLLP_SENDERS)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not senders:
            raise CommandError(
                "HL7_INBOUND_MLLP_SENDERS is empty: no address could send; nothing to listen for."
            )
        context = None
        if options["certfile"]:
            try:
                context = server_ssl_context(
                    certfile=options["certfile"],
                    keyfile=options["keyfile"],
                    client_ca=options["client_ca"],
                )
            except (OSError, ssl.SSLError) as error:
                raise CommandError(f"TLS set-up failed: {type(error).__name__}: {error}") from None
        elif options["keyfile"] or options["client_ca"]:
            raise CommandError("--keyfile and --client-ca need --certfile.")
        listener = A03Listener(
            senders=senders, idle_seconds=options["idle_timeout"], ssl_context=context
        )
        try:
            asyncio.run(self._serve(listener, options["host"], options["port"]))
        except KeyboardInterrupt:
            logger.info("hl7_listen stopped")

    async def _serve(self, listener: A03Listener, host: str, port: int) -> None:
        server = await listener.start(host, port)
        bound = ", ".join(str(s.getsockname()[:2]) for s in server.sockets)
        logger.info(
            "hl7_listen: MLLP%s on %s for %d hospital(s)",
            " over TLS" if listener.ssl_context else "",
            bound,
            len({hospital.pk for _, hospital in listener.senders}),
        )
        async with server:
            await server.serve_forever()
