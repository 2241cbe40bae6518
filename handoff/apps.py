from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "handoff"

    def ready(self) -> None:
        from handoff import delivery_jobs  # noqa: F401  registers the outbox handlers
