"""The dispatcher console and the crew tablet screens."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import role_required
from accounts.models import Role
from config.events import stream_head
from dispatch import access, events, selectors
from handoff.models import Hospital


@role_required(Role.DISPATCHER)
def console(request: HttpRequest) -> HttpResponse:
    centre = access.access_dispatcher_centre(request.user)
    board = selectors.dispatch_board_snapshot(centre_id=centre.pk)
    context = {"centre": centre, "tile_url": settings.MAP_TILE_URL, **board}
    return render(request, "dispatch/console.html", context)


@role_required(Role.CREW)
def tablet(request: HttpRequest) -> HttpResponse:
    unit = access.access_crew_unit(request.user)
    # The head is read before the assignment, as for the socket snapshot: an event committed
    # in between is replayed once more and dropped by the page's sequence check, never lost.
    head = stream_head(events.unit_group(unit.pk))
    current = selectors.crew_current_assignment(unit)
    initial = {
        "seq": head,
        "unit": selectors.unit_summary(unit),
        "assignment": selectors.assignment_for_crew(current) if current else None,
    }
    context = {
        "unit": unit,
        "initial": initial,
        "hospitals": Hospital.objects.order_by("name"),
        "tile_url": settings.MAP_TILE_URL,
    }
    return render(request, "dispatch/tablet.html", context)
