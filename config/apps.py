from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Configuration only; it has no models.

    It stays installed for its migrations: 0001-0004 created the tables that realtime, outbox
    and ops now own (under their old names), and 0005 hands them over, so a database from
    before the move and a fresh one reach the same state.
    """

    name = "config"
    verbose_name = "System"
