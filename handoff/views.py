"""The ED incoming-patients board."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts.access import role_required
from accounts.models import Role
from dispatch.selectors import hospital_summary
from handoff import access, selectors
from handoff.models import EDStatus


@role_required(Role.ED_STAFF)
@ensure_csrf_cookie
def board(request: HttpRequest) -> HttpResponse:
    """The board's first paint: the incoming rows as the socket's snapshot would carry them.

    The socket's snapshot replaces them a moment later; embedding them means a wall screen
    shows its patients even before the socket is up.
    """
    hospital = access.access_staff_hospital(request.user)
    return render(
        request,
        "handoff/board.html",
        {
            "hospital": hospital,
            "ed_statuses": EDStatus.choices,
            "initial_board": {
                "hospital": hospital_summary(hospital),
                "incoming": selectors.ed_incoming_list(hospital_id=hospital.pk),
                "recent": selectors.ed_recent_list(hospital_id=hospital.pk),
                "is_charge": bool(getattr(request.user, "is_charge", False)),
                "escalate_after_s": settings.ACTIVATION_ESCALATE_AFTER_SECONDS,
            },
        },
    )
