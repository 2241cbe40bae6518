"""The emergency-call queue: calls ringing at a centre, answered by one dispatcher, and
offered to a partner centre when not answered in time (rollover, as 112/120/999 centres do).

The telephony system (CTI) authenticates with its centre's telephony token
(`CentreTelephonyToken`, only the SHA-256 kept; issued by `manage.py centre_telephony_token`,
shown once). docs/centres.md.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Final

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.system_tokens import (
    SystemTokenKind,
    system_token_issue,
    system_token_owner,
    system_token_revoke,
)
from audit.services import audit_record
from dispatch import events, selectors
from dispatch.models import (
    Call,
    CentreTelephonyToken,
    DispatchCentre,
    MutualAidAgreement,
    QueuedCall,
    QueuedCallStatus,
)
from dispatch.services import DispatchError
from realtime.events import event_record

TOKEN_PREFIX: Final = "ghtel_"  # noqa: S105 - the prefix that tells the token apart, no secret
CALL_QUEUE_UPDATED: Final = "dispatch.call_queue.updated"

# What a CTI sends as the calling number: digits with an optional leading +, and the spaces,
# dots, dashes and brackets of a written number. E.164 allows at most 15 digits; fewer than 3
# is no number (an emergency line's own short codes are 3).
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().-]+$")
_LINE = re.compile(r"^[A-Za-z0-9 ._:/#-]*$")
MAX_PHONE_DIGITS: Final = 15
MIN_PHONE_DIGITS: Final = 3


# --- The telephony credential -------------------------------------------------------------


TELEPHONY_TOKEN = SystemTokenKind(
    model=CentreTelephonyToken,
    owner="centre",
    prefix=TOKEN_PREFIX,
    action="telephony_token",
    object_type="dispatch_centre",
    holder="the centre's telephony token",
    realm="centre-telephony",
)


def telephony_token_issue(*, centre: DispatchCentre, label: str = "") -> str:
    """A new telephony token for `centre`: returned once, only its hash is stored; audited."""
    return str(system_token_issue(TELEPHONY_TOKEN, owner=centre, label=label))


def telephony_token_revoke(*, token_id: int) -> CentreTelephonyToken:
    """Revoke a telephony token at once (the CTI's next request gets 401); audited."""
    return system_token_revoke(TELEPHONY_TOKEN, token_id=token_id)  # type: ignore[no-any-return]


def telephony_token_centre(header: str | None) -> DispatchCentre | None:
    """The centre an `Authorization: Bearer <token>` header authenticates, or None."""
    return system_token_owner(TELEPHONY_TOKEN, header)  # type: ignore[no-any-return]


# --- Events -------------------------------------------------------------------------------


def _loaded(call_id: int) -> QueuedCall:
    return QueuedCall.objects.select_related(
        "centre", "offered_to", "answered_by__dispatch_centre"
    ).get(pk=call_id)


def _emit(call: QueuedCall) -> None:
    """The call's new state to its centre and to the partner it was offered to. The caller's
    number goes only with a ringing call, which both of them may answer; once answered or
    ended nobody else needs it (the answering dispatcher has it from the answer)."""
    with_phone = call.status == QueuedCallStatus.RINGING
    for centre_id in dict.fromkeys(c for c in (call.centre_id, call.offered_to_id) if c):
        event_record(
            stream=events.centre_group(centre_id),
            event_type=CALL_QUEUE_UPDATED,
            data=selectors.queued_call_summary(call, with_phone=with_phone),
        )


# --- The queue ------------------------------------------------------------------------------


def _phone(value: str) -> str:
    phone = value.strip()
    if not phone:
        return ""
    if not _PHONE_CHARS.match(phone) or "+" in phone[1:]:
        raise DispatchError(
            "caller_phone may hold digits, a leading +, spaces, dots, dashes and brackets "
            "only (leave it empty for a withheld number).",
            field="caller_phone",
        )
    digits = sum(ch.isdigit() for ch in phone)
    if not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        raise DispatchError(
            f"caller_phone must have {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} digits "
            f"(E.164); it has {digits}.",
            field="caller_phone",
        )
    return phone


def queued_call_ring(
    *,
    centre: DispatchCentre,
    caller_phone: str,
    line: str = "",
    received_at: datetime | None = None,
) -> QueuedCall:
    """A call ringing now at `centre` (from its telephony system); announced to the centre.

    An empty `caller_phone` is a withheld number. DispatchError names a malformed field.
    """
    phone = _phone(caller_phone)
    line = line.strip()
    if not _LINE.match(line):
        raise DispatchError(
            "line may hold letters, digits, spaces and . _ : / # - only.", field="line"
        )
    with transaction.atomic():
        call = QueuedCall.objects.create(
            centre=centre,
            caller_phone=phone,
            line=line,
            status=QueuedCallStatus.RINGING,
            received_at=received_at or timezone.now(),
        )
        _emit(_loaded(call.pk))
    return call


def queued_call_end(*, centre: DispatchCentre, call_id: int) -> QueuedCall:
    """The caller hung up (the telephony system says so): a call still ringing is abandoned;
    one answered keeps its answer and gets its end time. Repeating it changes nothing.

    Preconditions: `centre` is the telephony token's; a call of another centre is not found.
    """
    now = timezone.now()
    with transaction.atomic():
        call = QueuedCall.objects.select_for_update().get(pk=call_id, centre=centre)
        if call.ended_at is not None:
            return call
        call.ended_at = now
        if call.status == QueuedCallStatus.RINGING:
            call.status = QueuedCallStatus.ABANDONED
        call.save(update_fields=["ended_at", "status"])
        _emit(_loaded(call.pk))
    return call


def _clock(value: datetime) -> str:
    return timezone.localtime(value).strftime("%H:%M:%S")


def queued_call_answer(*, user: Any, call_id: int) -> QueuedCall:
    """The dispatcher takes a ringing call: the first answer wins, any later one is refused
    (409) saying who answered and when. Audited: the answer shows the caller's number.

    Preconditions: access.access_queued_call(user, call_id) passed.
    """
    now = timezone.now()
    centre_id = user.dispatch_centre_id
    with transaction.atomic():
        # Dispatchers of two centres may press Answer on a rolled-over call at the same
        # moment: the row lock queues the second, who then finds it answered.
        call = QueuedCall.objects.select_for_update().get(pk=call_id)
        if centre_id not in (call.centre_id, call.offered_to_id):
            raise PermissionDenied("This call is not offered to your centre.")
        if call.status == QueuedCallStatus.ANSWERED:
            answered = _loaded(call.pk)
            by = answered.answered_by
            centre = by.dispatch_centre if by is not None else None
            where = centre.name if centre is not None else "another centre"
            when = _clock(answered.answered_at) if answered.answered_at else "an earlier time"
            raise DispatchError(
                f"This call was answered by {where} at {when}.",
                field="status",
                code="already_answered",
            )
        if call.status == QueuedCallStatus.ABANDONED:
            when = _clock(call.ended_at) if call.ended_at else "an earlier time"
            raise DispatchError(
                f"The caller hung up at {when}, before the call was answered.",
                field="status",
                code="call_ended",
            )
        # The conditional update is the guard where a backend takes no row lock.
        taken = QueuedCall.objects.filter(pk=call.pk, status=QueuedCallStatus.RINGING).update(
            status=QueuedCallStatus.ANSWERED, answered_at=now, answered_by=user
        )
        if not taken:
            raise DispatchError(
                "This call was answered by another dispatcher a moment ago.",
                field="status",
                code="already_answered",
            )
        audit_record(
            actor=user,
            action="queued_call_answer",
            object_type="queued_call",
            object_id=call.pk,
            detail={"centre": centre_id, "rolled_over": centre_id != call.centre_id},
        )
        answered = _loaded(call.pk)
        _emit(answered)
    return answered


def queued_call_for_intake(*, user: Any, call_id: int) -> QueuedCall:
    """The queued call `user` answered and is now recording as an incident's call; refused
    (naming `queued_call`) when it is not theirs to record or is recorded already."""
    call = QueuedCall.objects.filter(pk=call_id, answered_by=user).first()
    if call is None:
        raise DispatchError(f"No call {call_id} answered by you in the queue.", field="queued_call")
    if call.call is not None:
        raise DispatchError(
            f"Queued call {call_id} is already recorded on incident #{call.call.incident_id}.",
            field="queued_call",
        )
    return call


def queued_call_link(*, user: Any, queued_call_id: int, call: Call) -> bool:
    """Link the queued call `user` answered to the incident call recorded from it; False
    when another request linked it first (the first link stands).

    Preconditions: queued_call_for_intake passed for the same user and id.
    """
    return bool(
        QueuedCall.objects.filter(pk=queued_call_id, answered_by=user, call__isnull=True).update(
            call=call
        )
    )


def queued_calls_roll_over(*, now: datetime | None = None) -> int:
    """Offer every call ringing past its centre's rollover time, and not yet offered, to the
    partner of that agreement; announced to both centres. Returns how many were offered.

    A centre with several agreements offers to the partner with the shortest rollover time
    (ties: the older agreement). Idempotent: a call is offered once, whoever runs this.
    """
    now = now or timezone.now()
    agreements = MutualAidAgreement.objects.filter(
        active=True, rollover_seconds__isnull=False
    ).order_by("rollover_seconds", "pk")
    offered = 0
    for agreement in agreements:
        assert agreement.rollover_seconds is not None  # noqa: S101 - filtered above
        cutoff = now - timedelta(seconds=agreement.rollover_seconds)
        for from_id, to_id in (
            (agreement.centre_a_id, agreement.centre_b_id),
            (agreement.centre_b_id, agreement.centre_a_id),
        ):
            with transaction.atomic():
                # Two schedulers at once: the other's rows are skipped while it holds them and
                # no longer unoffered once it commits, so each call is offered (and announced)
                # once. The shortest agreement runs first and claims before longer ones.
                ids = list(
                    QueuedCall.objects.select_for_update(skip_locked=True)
                    .filter(
                        centre_id=from_id,
                        status=QueuedCallStatus.RINGING,
                        offered_to__isnull=True,
                        received_at__lte=cutoff,
                    )
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                if not ids:
                    continue
                claimed = QueuedCall.objects.filter(
                    pk__in=ids, status=QueuedCallStatus.RINGING, offered_to__isnull=True
                ).update(offered_to_id=to_id, offered_at=now)
                offered += claimed
                for call in QueuedCall.objects.filter(
                    pk__in=ids, offered_to_id=to_id, offered_at=now
                ).select_related("centre", "offered_to", "answered_by__dispatch_centre"):
                    _emit(call)
    return offered
