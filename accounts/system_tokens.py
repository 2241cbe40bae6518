"""Bearer tokens of systems that are not users: a hospital's system sending outcomes in
(handoff.HospitalInboundToken), a centre's telephony system ringing calls in
(dispatch.CentreTelephonyToken). One shape for all: the token is shown once and only its
SHA-256 (accounts.services.key_hash) is stored, in a model with `key_hash`, `label`,
`created_at`, `revoked_at` and a foreign key to its owner; issuing and revoking are audited
on the owner.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models
from django.http import JsonResponse
from django.utils import timezone

from accounts.services import key_hash
from audit.services import audit_record


@dataclass(frozen=True)
class SystemTokenKind:
    """One kind of system token: its model, the owner's field, the key prefix that tells it
    apart, and the audit action prefix and object type of its owner."""

    model: type[models.Model]
    owner: str
    prefix: str
    action: str
    object_type: str
    # For the 401 answer: whose token to send ("the hospital's inbound token") and the realm.
    holder: str = ""
    realm: str = ""


def system_token_unauthenticated(kind: SystemTokenKind) -> JsonResponse:
    """The 401 for a request without a valid token of `kind`: what to send, and the realm."""
    response = JsonResponse(
        {"detail": f"Send {kind.holder} as 'Authorization: Bearer {kind.prefix}...'."},
        status=401,
    )
    response["WWW-Authenticate"] = f'Bearer realm="{kind.realm}"'
    return response


def system_token_issue(kind: SystemTokenKind, *, owner: Any, label: str = "") -> str:
    """A new token for `owner`: returned once, only its hash is stored; audited."""
    token = kind.prefix + secrets.token_urlsafe(32)
    row = kind.model.objects.create(  # type: ignore[attr-defined]
        **{kind.owner: owner},
        key_hash=key_hash(token),
        label=label[:80],
        created_at=timezone.now(),
    )
    audit_record(
        actor=None,
        action=f"{kind.action}_issue",
        object_type=kind.object_type,
        object_id=owner.pk,
        detail={"token": row.pk},
    )
    return token


def system_token_revoke(kind: SystemTokenKind, *, token_id: int) -> Any:
    """Revoke a token at once (the system's next request gets 401); audited."""
    row = kind.model.objects.get(pk=token_id)  # type: ignore[attr-defined]
    if row.revoked_at is None:
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
        audit_record(
            actor=None,
            action=f"{kind.action}_revoke",
            object_type=kind.object_type,
            object_id=getattr(row, f"{kind.owner}_id"),
            detail={"token": row.pk},
        )
    return row


def system_token_owner(kind: SystemTokenKind, header: str | None) -> Any:
    """The owner an `Authorization: Bearer <token>` header authenticates, or None."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(kind.prefix):
        return None
    row = (
        kind.model.objects.select_related(kind.owner)  # type: ignore[attr-defined]
        .filter(key_hash=key_hash(token), revoked_at__isnull=True)
        .first()
    )
    return getattr(row, kind.owner) if row is not None else None


class SystemTokenCommand(BaseCommand):
    """`manage.py <kind>_token CODE [--label TEXT]` issues a token and prints it once;
    `--list` shows the owner's tokens by id, `--revoke ID` ends one at once. Subclasses name
    the kind, its owner model (looked up by `code`) and the words the output uses."""

    kind: SystemTokenKind
    owner_model: type[models.Model]
    owner_word = ""  # "hospital"
    kind_word = ""  # "inbound"
    store_in = ""  # "the hospital's interface engine"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", nargs="?", help=f"The {self.owner_word}'s code")
        parser.add_argument("--label", default="", help="Which system the token is for")
        parser.add_argument("--list", action="store_true", help="List the owner's tokens")
        parser.add_argument("--revoke", type=int, metavar="ID", help="Revoke token ID")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["revoke"] is not None:
            try:
                row = system_token_revoke(self.kind, token_id=options["revoke"])
            except ObjectDoesNotExist:
                raise CommandError(f"No {self.kind_word} token {options['revoke']}.") from None
            self.stdout.write(f"Token {row.pk} revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC.")
            return
        code = options["code"]
        if not code:
            raise CommandError(f"Name the {self.owner_word} by its code (or --revoke ID).")
        owner = self.owner_model.objects.filter(code=code).first()  # type: ignore[attr-defined]
        if owner is None:
            raise CommandError(f"No {self.owner_word} with code {code!r}.")
        if options["list"]:
            rows = self.kind.model.objects.filter(**{self.kind.owner: owner})  # type: ignore[attr-defined]
            for row in rows.order_by("pk"):
                state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                self.stdout.write(f"{row.pk}\t{row.created_at:%Y-%m-%d}\t{state}\t{row.label}")
            return
        token = system_token_issue(self.kind, owner=owner, label=options["label"])
        self.stdout.write(
            f"{self.kind_word.capitalize()} token for {owner.code} "
            f"(shown once, store it in {self.store_in}):\n{token}"
        )
