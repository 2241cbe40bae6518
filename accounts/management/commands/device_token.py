"""`manage.py device_token issue|list|revoke`: device tokens from the shell.

The key is printed once by `issue` and can never be shown again (only its hash is kept).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts import services
from accounts.models import DeviceToken, User


class Command(BaseCommand):
    help = "Issue (key printed once), list or revoke device tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="issue a token; prints its key once")
        issue.add_argument("--user", required=True, help="user name the device acts as")
        issue.add_argument("--days", type=int, default=None, help="lifetime in days")
        issue.add_argument("--label", default="", help="what the token is for (device name)")
        issue.add_argument(
            "--unit", default=None, help="call sign of the unit the token may act as (only)"
        )
        listing = sub.add_parser("list", help="list tokens (prefix, user, state, expiry)")
        listing.add_argument("--user", default=None, help="only this user's tokens")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix", help="the token's prefix, e.g. gh_1a2b3c4d")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _issue(self, options: dict[str, Any]) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"--user: no user {options['user']!r}.")
        unit = None
        if options["unit"]:
            # The unit model through the token's own relation: accounts does not import
            # dispatch (docs/architecture.md), the relation names it as "dispatch.Unit".
            unit_model = DeviceToken._meta.get_field("unit").related_model
            unit = unit_model._default_manager.filter(call_sign=options["unit"]).first()
            if unit is None:
                raise CommandError(f"--unit: no unit {options['unit']!r}.")
        try:
            issued = services.device_token_issue(
                user=user,
                created_by=None,
                label=options["label"],
                days=options["days"],
                unit=unit,
            )
        except services.DeviceTokenError as exc:
            raise CommandError(f"--{exc.field}: {exc}") from exc
        bound = f" bound to unit {options['unit']}" if unit is not None else ""
        self.stderr.write(
            f"Token {issued.token.prefix} for {user.get_username()}"
            f"{bound}, expires "
            f"{issued.token.expires_at.isoformat()}. The key below is shown this once:"
        )
        self.stdout.write(issued.key)

    def _list(self, options: dict[str, Any]) -> None:
        tokens = DeviceToken.objects.select_related("user", "unit").order_by("created_at")
        if options["user"]:
            tokens = tokens.filter(user__username=options["user"])
        now = timezone.now()
        for token in tokens:
            self.stdout.write(
                f"{token.prefix}\t{token.user.get_username()}\t{token.state_at(now)}\t"
                f"expires {token.expires_at.isoformat()}\t"
                f"{token.unit.call_sign if token.unit else '-'}\t{token.label}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        token = DeviceToken.objects.filter(prefix=options["prefix"]).first()
        if token is None:
            raise CommandError(f"prefix: no token {options['prefix']!r}.")
        services.device_token_revoke(token_id=token.pk, revoked_by=None)
        self.stdout.write(f"Token {token.prefix} revoked.")
