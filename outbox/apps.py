from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Outbox"

    def ready(self) -> None:
        # The services send the run task by name (outbox.services.outbox_publish); importing
        # the task module here registers it in every process, web and worker alike.
        from outbox import tasks  # noqa: F401
