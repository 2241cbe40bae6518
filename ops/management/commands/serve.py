"""Serve HTTP and WebSockets with daphne, plus the embedded scheduler when there is no broker."""

from __future__ import annotations

import atexit
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from daphne.cli import CommandLineInterface
from django.core.management.base import BaseCommand

from ops.scheduler import start_embedded_scheduler

logger = logging.getLogger(__name__)


def demo_users_present() -> list[str]:
    """The demo usernames that exist (so the hint is only printed for a demo database)."""
    from accounts.models import User
    from demo import data as demo

    names = [row[0] for row in demo.USERS]
    return sorted(User.objects.filter(username__in=names).values_list("username", flat=True))


class Command(BaseCommand):
    help = "Run daphne on the ASGI application (and the periodic jobs in embedded mode)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--simulate",
            action="store_true",
            help="also run `manage.py simulate` against this server so the demo map is alive",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from routing.services import warm_up

        warm_up()
        start_embedded_scheduler()
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(f"Serving on {base}/")
        self._print_demo_logins(base)
        if options["simulate"]:
            self._start_simulator(base)
        CommandLineInterface().run(
            ["-b", options["host"], "-p", str(options["port"]), "config.asgi:application"]
        )

    def _print_demo_logins(self, base: str) -> None:
        from demo import data as demo

        present = set(demo_users_present())
        if not present:
            return
        who = ", ".join(
            f"{name} ({role.replace('_', ' ')})"
            for name, _f, _l, role, _o, _c in demo.USERS
            if name in present
        )
        self.stdout.write(f"Log in at {base}/login/ as {who}; password '{demo.DEMO_PASSWORD}'.")

    def _start_simulator(self, base: str) -> None:
        """One simulator per demo dispatcher (each centre's calls and units), in its own
        process, ended with the server (its clients retry until daphne listens, so starting
        it first is harmless)."""
        from demo import data as demo

        manage = Path(__file__).resolve().parents[3] / "manage.py"
        present = set(demo_users_present())
        dispatchers = [name for name, _f, _l, role, _o, _c in demo.USERS if role == "dispatcher"]
        for dispatcher in [d for d in dispatchers if d in present] or ["dispatcher"]:
            command = [sys.executable, str(manage), "simulate", "--base-url", base]
            command += ["--dispatcher", dispatcher]
            simulator = subprocess.Popen(command)  # noqa: S603 - our interpreter and manage.py
            atexit.register(simulator.terminate)
            self.stdout.write(
                f"Simulator for {dispatcher}'s centre running (pid {simulator.pid}): calls "
                "arrive and units drive, except the demo crews' own units, left to the tablet; "
                "`make run SIMULATE=0` turns it off."
            )
