"""`manage.py simulate`: make the demo map alive (calls arrive, units drive, devices report)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo import data as demo
from dispatch.simulation import SimulationConfig, Simulator, simulation_plan


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


def _not_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Simulate the demo region against a running server: calls through the REST API, "
        "units through the device protocol. Ctrl-C stops."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--calls-per-hour", type=_positive, default=12.0)
        parser.add_argument("--no-calls", action="store_true", help="units only, no new calls")
        parser.add_argument(
            "--ringing-per-hour",
            type=_not_negative,
            default=20.0,
            help="calls rung into the centre's queue (the Ringing panel) through the telephony "
            "route; 0: none",
        )
        parser.add_argument(
            "--auto-dispatch",
            action="store_true",
            default=True,
            help="dispatch the top eligible simulated unit to simulated calls (default)",
        )
        parser.add_argument("--no-auto-dispatch", dest="auto_dispatch", action="store_false")
        parser.add_argument("--dispatcher", default="dispatcher", help="username of the dispatcher")
        parser.add_argument("--units", default="", help="call signs, e.g. HE101,HE102 (all)")
        parser.add_argument(
            "--person-driven",
            default=None,
            metavar="CALL_SIGNS",
            help=(
                "units a person drives from the tablet, left alone (never moved or "
                "auto-dispatched); default: the demo crew users' units, "
                f"{','.join(demo.person_driven_units())}; '' simulates every unit"
            ),
        )
        parser.add_argument("--tick", type=_positive, default=1.0, help="seconds between fixes")
        parser.add_argument("--scene-minutes", type=float, default=2.0)
        parser.add_argument("--speedup", type=_positive, default=1.0, help="time compression")
        parser.add_argument("--duration", type=float, default=0.0, help="seconds; 0 = forever")
        parser.add_argument("--idle-interval", type=_positive, default=10.0)
        parser.add_argument("--seed", type=int, default=None, help="random seed for calls")
        parser.add_argument(
            "--outbox-dir",
            default=None,
            help="where the simulated devices keep their outboxes (default var/simulator)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["scene_minutes"] < 0 or options["duration"] < 0:
            raise CommandError("--scene-minutes and --duration must not be negative.")
        call_signs = [c.strip().upper() for c in options["units"].split(",") if c.strip()]
        if options["person_driven"] is None:
            # Units named in --units are simulated even when a demo crew user belongs to them.
            person_driven = [c for c in demo.person_driven_units() if c not in call_signs]
        else:
            person_driven = [
                c.strip().upper() for c in options["person_driven"].split(",") if c.strip()
            ]
        try:
            plan = simulation_plan(
                dispatcher=options["dispatcher"],
                call_signs=call_signs or None,
                person_driven=person_driven,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not plan.units:
            raise CommandError("No units to simulate.")
        self._person_driven_note(person_driven)
        config = SimulationConfig(
            base_url=options["base_url"],
            calls_per_hour=options["calls_per_hour"],
            calls=not options["no_calls"],
            auto_dispatch=options["auto_dispatch"],
            tick_s=options["tick"],
            scene_minutes=options["scene_minutes"],
            speedup=options["speedup"],
            duration_s=options["duration"],
            idle_interval_s=options["idle_interval"],
            ringing_per_hour=options["ringing_per_hour"],
            outbox_dir=Path(options["outbox_dir"] or Path(settings.VAR_DIR) / "simulator"),
            seed=options["seed"],
        )
        if not logging.getLogger("dispatch.simulation").handlers:
            handler = logging.StreamHandler(self.stdout)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
            for name in ("dispatch.simulation", "device_client"):
                logging.getLogger(name).addHandler(handler)
                logging.getLogger(name).setLevel(logging.INFO)
                logging.getLogger(name).propagate = False
        try:
            asyncio.run(Simulator(config=config, plan=plan).run())
        except KeyboardInterrupt:
            # asyncio.run has already cancelled the simulation and closed every outbox.
            self.stdout.write("stopped")

    def _person_driven_note(self, person_driven: list[str]) -> None:
        if person_driven:
            self.stdout.write(
                f"Left to people (not simulated): {', '.join(person_driven)} "
                "(`--person-driven ''` simulates them too)."
            )
