"""The ED incoming-patients board."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import role_required
from accounts.models import Role
from handoff import access


@role_required(Role.ED_STAFF)
def board(request: HttpRequest) -> HttpResponse:
    hospital = access.access_staff_hospital(request.user)
    return render(request, "handoff/board.html", {"hospital": hospital})
