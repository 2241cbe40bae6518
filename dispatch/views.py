"""The dispatcher console and the crew tablet screens."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import role_required
from accounts.models import Role
from dispatch import access, selectors


@role_required(Role.DISPATCHER)
def console(request: HttpRequest) -> HttpResponse:
    centre = access.access_dispatcher_centre(request.user)
    board = selectors.dispatch_board_snapshot(centre_id=centre.pk)
    context = {"centre": centre, "tile_url": settings.MAP_TILE_URL, **board}
    return render(request, "dispatch/console.html", context)


@role_required(Role.CREW)
def tablet(request: HttpRequest) -> HttpResponse:
    unit = access.access_crew_unit(request.user)
    return render(request, "dispatch/tablet.html", {"unit": unit})
