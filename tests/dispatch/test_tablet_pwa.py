"""The tablet's web app manifest and service worker are served as a browser needs them."""

from __future__ import annotations

import json
import posixpath
import re

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

TABLET = "/dispatch/tablet/"


def test_the_worker_is_served_fresh_at_the_tablet_scope_without_a_login(client):
    response = client.get("/dispatch/tablet/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert response["Service-Worker-Allowed"] == TABLET
    body = response.content.decode()
    for asset in (
        "/static/dispatch/tablet.js",
        "/static/dispatch/record.js",
        "/static/dispatch/record/vitals_form.js",
        "/static/js/outbox.js",
        "/static/js/socket.js",
        "/static/js/roadmap.js",
        "/static/vendor/leaflet/leaflet.js",
        "/dispatch/map/roads.geojson",
        "/dispatch/map/places.json",
    ):
        assert asset in body
    # Only file names: no API answer (patient data) is ever cached.
    assert "/api/" not in body


def test_the_manifest_makes_the_crew_screen_installable(client):
    response = client.get("/dispatch/tablet/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == TABLET
    assert manifest["scope"] == TABLET
    assert manifest["display"] == "standalone"
    assert manifest["icons"][0]["type"] == "image/svg+xml"


def test_the_tablet_page_links_the_manifest_and_the_worker(client):
    crew = factories.CrewFactory()
    client.force_login(crew)
    html = client.get(TABLET).content.decode()
    assert 'rel="manifest" href="/dispatch/tablet/manifest.webmanifest"' in html
    assert 'data-sw-url="/dispatch/tablet/sw.js"' in html


def test_the_worker_precaches_every_module_the_tablet_page_imports(client):
    """An offline reload fetches nothing: a module missing from the precache breaks the tablet."""
    crew = factories.CrewFactory()
    client.force_login(crew)
    html = client.get(TABLET).content.decode()
    entries = re.findall(r'<script type="module" src="/static/([^"]+)"', html)
    assert entries == ["dispatch/tablet.js"]
    # Walked here on its own (not with dispatch.assets), reading the files as served.
    modules, pending = set(), list(entries)
    while pending:
        name = pending.pop()
        if name in modules:
            continue
        modules.add(name)
        source = b"".join(client.get("/static/" + name).streaming_content).decode()
        for target in re.findall(r"""^import\b[^;]*?["'](\.{1,2}/[^"']+)["']""", source, re.M):
            pending.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), target)))
    assert {"dispatch/record.js", "js/socket.js", "js/outbox.js", "js/dom.js"} <= modules
    body = client.get("/dispatch/tablet/sw.js").content.decode()
    cached = set(json.loads(re.search(r"const ASSETS = (\[.*?\]);", body)[1]))
    assert {"/static/" + name for name in modules} - cached == set()
