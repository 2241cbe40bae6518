"""Break-glass reads: an ED clinician opens a patient outside their normal scope.

The clinician gives a reason; the read is allowed for BREAK_GLASS_MINUTES, every read under
it is audited with `break_glass` set, the grant itself is an audit record ("break_glass"),
and the administrators are mailed (no patient data) and mark it reviewed in the admin.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone

from accounts.access import user_has_role
from accounts.models import Role
from audit.services import audit_record
from config.fields import text_problem
from handoff import access
from handoff.models import BreakGlassGrant, Encounter
from handoff.services import HandoffError
from handoff.services.encounters import TEMP_ID_PATTERN

logger = logging.getLogger(__name__)


def _check_role(user: Any) -> None:
    if not user_has_role(user, Role.ED_STAFF) or getattr(user, "hospital_id", None) is None:
        raise PermissionDenied("Only ED clinicians may open a patient outside their scope.")


def break_glass_active(user: Any, encounter: Encounter) -> BreakGlassGrant | None:
    """The unexpired grant that lets `user` read `encounter` now, or None."""
    if not user_has_role(user, Role.ED_STAFF) or getattr(user, "hospital_id", None) is None:
        return None
    return (
        BreakGlassGrant.objects.filter(
            user_id=user.pk, encounter_id=encounter.pk, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def _reason(reason: Any) -> str:
    minimum = settings.BREAK_GLASS_REASON_MIN_LENGTH
    text = reason.strip() if isinstance(reason, str) else ""
    problem = text_problem(text, multiline=True)
    if problem:
        raise HandoffError(f"reason {problem}", field="reason")
    if len(text) < minimum:
        raise HandoffError(
            f"reason must say why, in at least {minimum} characters.", field="reason"
        )
    return text


def break_glass_open(*, user: Any, public_id: UUID | str, reason: Any) -> BreakGlassGrant:
    """Grant `user` a BREAK_GLASS_MINUTES read of encounter `public_id`, for `reason`.

    Preconditions: `user` is ED staff of a hospital (PermissionDenied); `reason` is text of at
    least BREAK_GLASS_REASON_MIN_LENGTH characters after stripping, without control
    characters (HandoffError "reason"); the encounter exists (DoesNotExist) and is not already
    the user's to read (HandoffError "conflict").
    """
    _check_role(user)
    text = _reason(reason)
    return _grant(user, Encounter.objects.get(public_id=public_id), text, field="public_id")


def break_glass_open_by_temp_identifier(
    *, user: Any, temp_identifier: Any, reason: Any
) -> BreakGlassGrant:
    """break_glass_open for the patient's temporary id (what the crew tells the ED).

    Preconditions as break_glass_open; the reason is checked first, so nobody learns whether
    an identifier exists without giving one; `temp_identifier` is GH-<year>-<6 characters>
    (HandoffError "temp_identifier": malformed, or no such patient).
    """
    _check_role(user)
    text = _reason(reason)
    wanted = temp_identifier.strip().upper() if isinstance(temp_identifier, str) else ""
    if not TEMP_ID_PATTERN.fullmatch(wanted):
        raise HandoffError(
            "temp_identifier must be the patient's temporary id, like GH-2026-ABC234.",
            field="temp_identifier",
        )
    encounter = Encounter.objects.filter(temp_identifier=wanted).first()
    if encounter is None:
        raise HandoffError(
            "temp_identifier: no patient record has this temporary id.",
            field="temp_identifier",
            code="unknown",
        )
    return _grant(user, encounter, text, field="temp_identifier")


def _grant(user: Any, encounter: Encounter, reason: str, *, field: str) -> BreakGlassGrant:
    # A patient already on the user's board needs no break-glass: a grant would only put a
    # false alarm in front of the administrators who review them.
    if access.is_ed_of(user, encounter):
        raise HandoffError(
            f"{field}: this patient is on your hospital's board; open it there, "
            "break-glass is not needed.",
            field=field,
            code="conflict",
        )
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            encounter=encounter,
            user=user,
            reason=reason,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.BREAK_GLASS_MINUTES),
        )
        # The reason is free text that may name the patient: it stays on the grant row,
        # which only administrators see; the chain holds the grant's id.
        audit_record(
            actor=user,
            action="break_glass",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"break_glass": True, "grant": grant.pk},
        )
        transaction.on_commit(lambda: _notify(grant.pk))
    return grant


def _notify(grant_id: int) -> None:
    """Mail the administrators: grant id, user id, hospital; never the patient or reason."""
    grant = BreakGlassGrant.objects.select_related("user").get(pk=grant_id)
    body = (
        f"User {grant.user_id} (hospital {grant.user.hospital_id}) opened a patient record "
        f"outside their scope until {grant.expires_at.isoformat()}.\n"
        f"Review it in the admin: Break-glass grants, #{grant.pk}.\n"
    )
    try:
        mail_admins(f"Break-glass read #{grant.pk}", body)
    except Exception:  # the grant stands; the admin list still reports it
        logger.exception("break-glass notification %s failed", grant_id)


def break_glass_review(*, grant_ids: list[int], reviewed_by: Any) -> int:
    """Mark grants reviewed by an administrator; audited; returns how many were newly marked."""
    with transaction.atomic():
        rows = list(
            BreakGlassGrant.objects.select_for_update()
            .filter(pk__in=grant_ids, reviewed_at__isnull=True)
            .order_by("pk")
        )
        now = timezone.now()
        for grant in rows:
            grant.reviewed_at = now
            grant.reviewed_by = reviewed_by
            grant.save(update_fields=["reviewed_at", "reviewed_by"])
            audit_record(
                actor=reviewed_by,
                action="break_glass_review",
                object_type="encounter",
                object_id=grant.encounter.public_id,
                detail={"grant": grant.pk},
            )
    return len(rows)
