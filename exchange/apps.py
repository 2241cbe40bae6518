from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = "Exchange between deployments"

    def ready(self) -> None:
        from exchange import services  # noqa: F401  registers the outbox handler
