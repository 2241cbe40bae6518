from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "handoff"

    def ready(self) -> None:
        from handoff import (
            delivery_jobs,  # noqa: F401  registers the outbox handlers
            hooks,
        )

        # dispatch's hospitals, crew items, ETA signals and the replay filter: before any
        # request, socket, task or command runs (docs/architecture.md, handoff/hooks.py).
        hooks.connect()
