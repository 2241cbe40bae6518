"""Attacks on the exports and the admin pages (issue 22, "Trust").

Exports: the FHIR bundle and HL7 ADT views and the response-time report give an outsider
nothing of the patient and audit nothing for them; the rightful reader's download is an
audited read. The de-identified research export has no HTTP route at all (shell only,
docs/security.md "Research export"); what it writes is attacked in
test_export_deidentified.py, and here once more on the attack world.

Admin: every admin page of a patient-bearing model (those on audit.admin_base's
AuditedReadOnlyAdmin) refuses staff without the model's view permission, with no data and no
audit row, and sends non-staff to the login; staff with only that permission see it, audited.
"""

from __future__ import annotations

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from audit.admin_base import AuditedReadOnlyAdmin
from audit.models import AuditEvent
from tests import factories
from tests.security.attack import (
    OUTSIDERS,
    attack_world,
    client_for,
    leaked,
    patient_marks,
    reads_of_the_world,
)
from tests.security.test_access_matrix import ANON, OD, E, World

pytestmark = pytest.mark.django_db

EXPORTS = ["fhir", "hl7"]


@pytest.fixture
def world() -> World:
    return attack_world()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run a request as a server would: its reads are audited once it commits."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


# --- Exports ---------------------------------------------------------------------------------


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("subject", OUTSIDERS)
def test_an_outsider_downloads_nothing_of_the_patient(world, on_commit, subject, export):
    url = f"/api/v1/encounters/{world.encounter.public_id}/{export}/"
    response = on_commit(lambda: client_for(world, subject).get(url))
    assert response.status_code in {401, 403}, (subject, response.status_code)
    assert leaked(world, response.content.decode(errors="replace")) == []
    assert reads_of_the_world(world, subject) == []


@pytest.mark.parametrize("export", EXPORTS)
def test_the_receiving_eds_download_is_an_audited_read(world, on_commit, export):
    """The control: the same request from the receiving ED carries the patient, audited."""
    url = f"/api/v1/encounters/{world.encounter.public_id}/{export}/"
    response = on_commit(lambda: client_for(world, E).get(url))
    assert response.status_code == 200
    assert "Virtanen" in response.content.decode()
    assert ("read", "encounter", str(world.encounter.public_id)) in reads_of_the_world(world, E)


@pytest.mark.parametrize("subject", OUTSIDERS)
def test_the_report_shows_an_outsider_nothing_of_another_centre(world, subject):
    response = client_for(world, subject).get(reverse("dispatch:report"))
    body = response.content.decode(errors="replace")
    if subject == OD:
        assert response.status_code == 200  # their own centre's report
    elif subject == ANON:
        assert response.status_code == 302
    else:
        assert response.status_code == 403
    assert leaked(world, body) == []
    assert "MARKER-UNIT-4471" not in body


def _views(resolver: URLResolver | None = None):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry)
        elif isinstance(entry, URLPattern):
            yield entry.callback


def test_no_http_route_serves_the_deidentified_export():
    modules = {getattr(view, "__module__", "") for view in _views()}
    assert modules, "the resolver gave no views"
    for view in _views():
        target = getattr(view, "view_class", view)
        source = getattr(target, "__module__", "")
        assert "deidentif" not in source, source
        assert "export_deidentified" not in getattr(target, "__name__", "")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_deidentified_export_of_the_attack_world_has_no_identifier(world, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    call_command("export_deidentified", "--out", str(out), "--format", fmt)
    text = out.read_text()
    assert text.strip(), "the export is empty: nothing was tested"
    identifying = [
        *patient_marks(world),
        "MARKER-UNIT-4471",
        world.hospital.name,
        world.encounter.temp_identifier,
        # Exact times: the call's date and the vitals' timestamps never appear.
        world.incident.call_received_at.date().isoformat(),
        world.incident.call_received_at.isoformat()[:16],
    ]
    assert [mark for mark in identifying if mark in text] == []


# --- Admin -----------------------------------------------------------------------------------

PATIENT_ADMINS = sorted(
    (
        model
        for model, model_admin in django_admin.site._registry.items()
        if isinstance(model_admin, AuditedReadOnlyAdmin)
    ),
    key=lambda model: model._meta.label,
)


def test_the_patient_bearing_admins_are_those_attacked():
    labels = {model._meta.label for model in PATIENT_ADMINS}
    assert {"dispatch.Incident", "dispatch.Call", "handoff.Encounter", "handoff.VitalsSet"} <= (
        labels
    )


def _pages(model) -> list[str]:
    info = (model._meta.app_label, model._meta.model_name)
    pages = [reverse("admin:{}_{}_changelist".format(*info))]
    record = model.objects.order_by("pk").first()
    if record is not None:
        pages.append(reverse("admin:{}_{}_change".format(*info), args=[record.pk]))
    return pages


def _staff(*perms: str):
    user = factories.AdminFactory(is_superuser=False)
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(
                codename=codename.rpartition(".")[2],
                content_type__app_label=codename.rpartition(".")[0],
            )
        )
    return user


@pytest.mark.parametrize("model", PATIENT_ADMINS, ids=lambda m: m._meta.label)
def test_staff_without_the_view_permission_get_no_admin_page(world, on_commit, client, model):
    intruder = _staff()
    client.force_login(intruder)
    for page in _pages(model):
        response = on_commit(lambda page=page: client.get(page))
        assert response.status_code in {302, 403}, (page, response.status_code)
        assert leaked(world, response.content.decode(errors="replace")) == [], page
    assert not AuditEvent.objects.filter(actor_id=intruder.pk).exists()


@pytest.mark.parametrize("subject", [s for s in OUTSIDERS if s != ANON])
def test_non_staff_are_sent_to_the_admin_login(world, subject):
    client = client_for(world, subject)
    for model in PATIENT_ADMINS:
        for page in _pages(model):
            response = client.get(page)
            assert response.status_code == 302, page
            assert "/admin/login/" in response["Location"]
    assert not AuditEvent.objects.filter(actor_id=world.users[subject].pk).exists()


@pytest.mark.parametrize("model", PATIENT_ADMINS, ids=lambda m: m._meta.label)
def test_staff_with_the_view_permission_see_the_page_audited(world, on_commit, client, model):
    reader = _staff(f"{model._meta.app_label}.view_{model._meta.model_name}")
    client.force_login(reader)
    for page in _pages(model):
        before = AuditEvent.objects.filter(actor_id=reader.pk).count()
        response = on_commit(lambda page=page: client.get(page))
        assert response.status_code == 200, page
        rows = AuditEvent.objects.filter(actor_id=reader.pk).order_by("seq")[before:]
        assert [row for row in rows if row.detail.get("via") == "admin"], page
