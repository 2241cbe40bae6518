"""The dispatcher console and the crew tablet screens."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse

from accounts.access import role_required
from accounts.models import Role
from audit.services import audit_reads
from dispatch import access, events, hooks, selectors
from dispatch.assets import module_closure
from realtime.events import stream_head

# The patient record's fixed choices, in the order a crew works through them.
RECORD_FORM: dict[str, Any] = {
    "vital_tiles": [
        {"key": "heart_rate", "short": "HR", "unit": "/min"},
        {"key": "respiratory_rate", "short": "RR", "unit": "/min"},
        {"key": "systolic_bp", "short": "SBP", "unit": "mmHg"},
        {"key": "diastolic_bp", "short": "DBP", "unit": "mmHg"},
        {"key": "spo2", "short": "SpO₂", "unit": "%"},
        {"key": "temperature", "short": "Temp", "unit": "°C", "decimal": True},
        {"key": "blood_glucose", "short": "Glucose", "unit": "mmol/L", "decimal": True},
        {"key": "etco2", "short": "EtCO₂", "unit": "mmHg", "decimal": True},
        {"key": "pain_score", "short": "Pain", "unit": "0-10"},
    ],
    "avpu": [("A", "Alert"), ("V", "Voice"), ("P", "Pain"), ("U", "Unresponsive")],
    "gcs_parts": [
        {"key": "gcs_eye", "letter": "E", "scores": range(1, 5)},
        {"key": "gcs_verbal", "letter": "V", "scores": range(1, 6)},
        {"key": "gcs_motor", "letter": "M", "scores": range(1, 7)},
    ],
    # eVitals.03 is free text here; the exporter maps it to the NEMSIS code list.
    "rhythms": [
        (label, label)
        for label in (
            "Sinus rhythm",
            "Sinus tachycardia",
            "Sinus bradycardia",
            "Atrial fibrillation",
            "Atrial flutter",
            "Supraventricular tachycardia",
            "Ventricular tachycardia",
            "Ventricular fibrillation",
            "AV block, 2nd/3rd degree",
            "Paced rhythm",
            "PEA",
            "Asystole",
            "Other",
        )
    ],
    "befast": [
        ("balance", "Balance"),
        ("eyes", "Eyes"),
        ("face", "Face"),
        ("arm", "Arm"),
        ("speech", "Speech"),
    ],
    "sexes": [("male", "Male"), ("female", "Female"), ("other", "Other"), ("unknown", "Unknown")],
}


@role_required(Role.DISPATCHER)
def console(request: HttpRequest) -> HttpResponse:
    centre = access.access_dispatcher_centre(request.user)
    board = selectors.dispatch_board_snapshot(centre_id=centre.pk)
    # The page embeds the open incidents (complaints, callers, addresses): a read of each.
    audit_reads(request.user, "incident", [i["id"] for i in board["incidents"]], via="page")
    audit_reads(request.user, "queued_call", [c["id"] for c in board["call_queue"]], via="page")
    context = {
        "centre": centre,
        "tile_url": settings.MAP_TILE_URL,
        # Failed hospital deliveries (handoff's, through dispatch.hooks): status and reason.
        "delivery_failures": hooks.provided().delivery_failures(centre.pk),
        **board,
    }
    return render(request, "dispatch/console.html", context)


@role_required(Role.CREW)
def tablet(request: HttpRequest) -> HttpResponse:
    unit = access.access_crew_unit(request.user)
    # The head is read before the assignment, as for the socket snapshot: an event committed
    # in between is replayed once more and dropped by the page's sequence check, never lost.
    head = stream_head(events.unit_group(unit.pk))
    current = selectors.crew_current_assignment(unit)
    provided = hooks.provided()
    initial = {
        "seq": head,
        "unit": selectors.unit_summary(unit),
        "assignment": selectors.assignment_for_crew(current) if current else None,
    }
    context = {
        "unit": unit,
        "initial": initial,
        # The patient record is handoff's (dispatch.hooks): its encounters and vocabulary.
        "record": provided.crew_record(request.user, current),
        **RECORD_FORM,
        "hospitals": provided.hospitals(),
        "tile_url": settings.MAP_TILE_URL,
        "position_heartbeat_s": settings.CREW_POSITION_HEARTBEAT_SECONDS,
    }
    return render(request, "dispatch/tablet.html", context)


# What the tablet needs to start with no network (templates/dispatch/tablet.html loads these):
# its styles, Leaflet, and its entry module with every module that one imports.
TABLET_ENTRY = "dispatch/tablet.js"


def tablet_assets() -> tuple[str, ...]:
    """The static names the tablet's service worker precaches.

    Read from the files on every call (a few small files, on the worker's update check), so an
    import added to a module is cached without a restart.
    """
    return (
        "css/app.css",
        "vendor/leaflet/leaflet.css",
        "dispatch/tablet.css",
        "css/roadmap.css",
        "dispatch/record.css",
        "vendor/leaflet/leaflet.js",
        *module_closure(TABLET_ENTRY),
        "dispatch/tablet-icon.svg",
    )


def _tablet_assets_version() -> str:
    """A digest of the cached files' content: a changed file installs a new worker."""
    digest = hashlib.sha256()
    for name in tablet_assets():
        path = finders.find(name)
        digest.update(name.encode())
        if path:
            digest.update(Path(str(path)).read_bytes())
    digest.update(reverse("dispatch:tablet").encode())
    return digest.hexdigest()[:16]


@login_not_required
def tablet_service_worker(request: HttpRequest) -> HttpResponse:
    """The tablet's service worker, at /dispatch/tablet/sw.js so its scope is the tablet page.

    It carries no patient data (only file names), so it is served without a login: the
    browser's update check must not be redirected to the login page.
    """
    context = {
        "version": _tablet_assets_version(),
        "page_url": reverse("dispatch:tablet"),
        "assets": json.dumps([static(name) for name in tablet_assets()]),
        "map_data": json.dumps([reverse("dispatch:map-roads"), reverse("dispatch:map-places")]),
    }
    response = render(
        request, "dispatch/tablet_sw.js", context, content_type="application/javascript"
    )
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("dispatch:tablet")
    return response


@login_not_required
def tablet_manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest that makes the crew screen installable on the tablet."""
    tablet_url = reverse("dispatch:tablet")
    manifest = {
        "name": "Golden Hour crew tablet",
        "short_name": "Golden Hour",
        "start_url": tablet_url,
        "scope": tablet_url,
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#b3261e",
        "icons": [
            {
                "src": static("dispatch/tablet-icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            }
        ],
    }
    response = JsonResponse(manifest, content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response
