"""Issue 24.2: an administrator tries to send every patient's record to a host of their own.

Through the real admin with the test client: the FHIR endpoint and the MLLP receiver may only
name hosts of the settings' allow-lists (https only), a change waits for a second
administrator, every delivery attempt is a disclosure in the audit chain, and every admin
add, change and delete is in the chain too. HTTP is caught at urllib's opener (what
send_fhir posts through), so no request leaves the machine; MLLP goes to a real receiver on
127.0.0.1.
"""

from __future__ import annotations

import io
import urllib.error
from email.message import Message
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.verify import chain_verify
from dispatch.models import Station, Unit
from handoff.interop import delivery
from handoff.models import EndpointChange, EndpointChangeStatus, Hospital
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_update
from handoff.services.vitals import vitals_record
from outbox.models import OutboxTask
from tests import factories
from tests.handoff.conftest import PATIENT, assignment, encounter
from tests.handoff.interop.test_delivery import mllp_receiver

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["assignment", "encounter", "mllp_receiver"]

OLD = "https://fhir.old-hospital.example/r4"
NEW = "https://fhir.new-hospital.example/r4"
EVIL = "https://evil.example/collect"


@pytest.fixture(autouse=True)
def allow_lists(settings):
    settings.HANDOFF_FHIR_ALLOWED_HOSTS = ["fhir.old-hospital.example", "fhir.new-hospital.example"]
    settings.HANDOFF_HL7_ALLOWED_HOSTS = ["127.0.0.1", "mllp.old-hospital.example:2575"]
    settings.HANDOFF_FHIR_HTTP_LOOPBACK = False


class _Reply:
    status = 201

    def __init__(self) -> None:
        self.headers = {"Location": "Bundle/1"}

    def __enter__(self) -> _Reply:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self, amount: int | None = None) -> bytes:
        return b"{}"


class _Posted(list):  # type: ignore[type-arg]
    """The URLs send_fhir POSTed to (`[base]/Bundle`); `fail` set to an HTTP status makes the
    receiver answer it."""

    fail: int | None = None


@pytest.fixture
def posted(monkeypatch) -> _Posted:
    """Every send_fhir POST, answered 201 (or `posted.fail`) without leaving the machine."""
    urls = _Posted()

    def fake_open(request: Any, timeout: float | None = None) -> _Reply:
        urls.append(request.full_url)
        if urls.fail:
            raise urllib.error.HTTPError(
                request.full_url, urls.fail, "busy", Message(), io.BytesIO()
            )
        return _Reply()

    monkeypatch.setattr(delivery._OPENER, "open", fake_open)
    return urls


@pytest.fixture
def hospital_live(hospital) -> Hospital:
    """The destination, its endpoint set as a deployment's seeding would (not the admin)."""
    hospital.fhir_endpoint = OLD
    hospital.save(update_fields=["fhir_endpoint"])
    return hospital


@pytest.fixture
def second_admin(db):
    return factories.AdminFactory()


def _url(model: Any, view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _form_data(response: Any) -> dict[str, Any]:
    """The admin form's current values as the browser would POST them back."""
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        widget = field.widget
        if isinstance(widget, forms.MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        else:
            data[name] = "" if value is None else str(value)
    for formset in response.context.get("inline_admin_formsets", []):
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


def _edit_hospital(client: Any, hospital: Hospital, **changes: Any) -> Any:
    url = _url(Hospital, "change", hospital.pk)
    data = _form_data(client.get(url)) | {key: str(value) for key, value in changes.items()}
    return client.post(url, data)


def _decide(client: Any, change: EndpointChange, action: str) -> Any:
    return client.post(
        _url(EndpointChange, "changelist"),
        {"action": action, "_selected_action": [str(change.pk)], "index": "0"},
        follow=True,
    )


def _route(paramedic: Any, encounter: Any, hospital: Hospital) -> None:
    destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )


def _chain(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _assert_chain_intact() -> None:
    assert chain_verify().broken is None
    call_command("audit_verify")  # raises CommandError on a broken chain


# --- The allow-list ---------------------------------------------------------------------


def test_admin_cannot_point_the_fhir_endpoint_at_an_unlisted_host(client, admin, hospital_live):
    client.force_login(admin)

    response = _edit_hospital(client, hospital_live, fhir_endpoint=EVIL)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "evil.example is not in HANDOFF_FHIR_ALLOWED_HOSTS" in errors["fhir_endpoint"][0]
    hospital_live.refresh_from_db()
    assert hospital_live.fhir_endpoint == OLD
    assert not EndpointChange.objects.exists()


def test_admin_cannot_use_plain_http_even_to_a_listed_host(client, admin, hospital_live):
    client.force_login(admin)

    response = _edit_hospital(
        client, hospital_live, fhir_endpoint="http://fhir.new-hospital.example/r4/Bundle"
    )

    assert response.status_code == 200
    assert "must use https" in response.context["adminform"].form.errors["fhir_endpoint"][0]
    assert not EndpointChange.objects.exists()


def test_admin_cannot_hide_another_host_behind_credentials(client, admin, hospital_live):
    client.force_login(admin)

    response = _edit_hospital(
        client, hospital_live, fhir_endpoint="https://fhir.new-hospital.example@evil.example/x"
    )

    assert response.status_code == 200
    assert "fhir_endpoint" in response.context["adminform"].form.errors
    assert not EndpointChange.objects.exists()


def test_admin_cannot_point_the_mllp_receiver_at_an_unlisted_host_or_port(
    client, admin, hospital_live
):
    client.force_login(admin)

    unlisted = _edit_hospital(client, hospital_live, hl7_host="evil.example", hl7_port=2575)
    wrong_port = _edit_hospital(
        client, hospital_live, hl7_host="mllp.old-hospital.example", hl7_port=2576
    )

    for response in (unlisted, wrong_port):
        assert response.status_code == 200
        error = response.context["adminform"].form.errors["hl7_host"][0]
        assert "is not in HANDOFF_HL7_ALLOWED_HOSTS" in error
    assert not EndpointChange.objects.exists()


def test_an_unlisted_endpoint_already_stored_is_refused_at_delivery_and_never_sent(
    paramedic, encounter, hospital_live, posted
):
    # Stored some other way (a restored dump, a shrunk allow-list): the send refuses it.
    Hospital.objects.filter(pk=hospital_live.pk).update(fhir_endpoint=EVIL)

    _route(paramedic, encounter, hospital_live)

    assert posted == []
    (task,) = OutboxTask.objects.filter(kind="handoff.fhir")
    assert task.status == OutboxTask.Status.FAILED
    assert "evil.example is not in HANDOFF_FHIR_ALLOWED_HOSTS" in task.last_error
    (row,) = _chain("disclose")
    assert row.detail["outcome"] == "refused"
    assert row.detail["endpoint"] == "https://evil.example:443"
    _assert_chain_intact()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://fhir.old-hospital.example/r4", True),
        ("https://FHIR.Old-Hospital.example:443/r4", True),
        ("https://fhir.old-hospital.example:8443/r4", True),  # a bare host allows any port
        ("https://fhir.old-hospital.example.evil.example/r4", False),
        ("https://evil.example/?to=fhir.old-hospital.example", False),
        ("ftp://fhir.old-hospital.example/r4", False),
        ("http://127.0.0.1:8080/fhir", False),  # loopback http only when switched on
    ],
)
def test_fhir_allow_list_matches_the_host_exactly(url, allowed):
    assert (delivery.fhir_endpoint_problem(url) is None) is allowed


@pytest.mark.parametrize(
    ("host", "port", "allowed"),
    [
        ("mllp.old-hospital.example", 2575, True),
        ("MLLP.old-hospital.example", 2575, True),
        ("mllp.old-hospital.example", 2576, False),  # the entry names its port
        ("127.0.0.1", 40000, True),
        ("evil.example", 2575, False),
    ],
)
def test_mllp_allow_list_matches_host_and_port(host, port, allowed):
    assert (delivery.mllp_endpoint_problem(host, port) is None) is allowed


@pytest.mark.parametrize("role", ["anonymous", "dispatcher", "paramedic", "ed_nurse", "outsider"])
def test_only_administrators_reach_endpoint_changes(request, client, role, admin, hospital_live):
    change = EndpointChange.objects.create(
        hospital=hospital_live,
        old_fhir_endpoint=OLD,
        fhir_endpoint=NEW,
        requested_by=admin,
        requested_at=timezone.now(),
    )
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))

    page = client.get(_url(EndpointChange, "changelist"))
    _decide(client, change, "approve_changes")

    assert page.status_code == 302
    # The site's login (anonymous) or the admin's (logged in, not staff).
    assert page["Location"].split("?")[0] in {reverse("login"), reverse("admin:login")}
    change.refresh_from_db()
    assert change.status == EndpointChangeStatus.PENDING


def test_staff_without_the_decide_permission_cannot_approve(client, admin, hospital_live):
    change = EndpointChange.objects.create(
        hospital=hospital_live,
        old_fhir_endpoint=OLD,
        fhir_endpoint=NEW,
        requested_by=admin,
        requested_at=timezone.now(),
    )
    staff = factories.UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_endpointchange"))
    client.force_login(staff)

    assert client.get(_url(EndpointChange, "changelist")).status_code == 200
    _decide(client, change, "approve_changes")

    change.refresh_from_db()
    hospital_live.refresh_from_db()
    assert change.status == EndpointChangeStatus.PENDING
    assert hospital_live.fhir_endpoint == OLD


# --- The two-person rule ----------------------------------------------------------------


def test_endpoint_change_takes_effect_only_after_another_admin_approves(
    client, admin, second_admin, paramedic, encounter, hospital_live, posted
):
    client.force_login(admin)
    response = _edit_hospital(client, hospital_live, fhir_endpoint=NEW)
    assert response.status_code == 302

    # Pending: the live endpoint is the old one, and so is the next delivery.
    hospital_live.refresh_from_db()
    assert hospital_live.fhir_endpoint == OLD
    (change,) = EndpointChange.objects.all()
    assert (change.status, change.requested_by, change.fhir_endpoint) == (
        EndpointChangeStatus.PENDING,
        admin,
        NEW,
    )
    _route(paramedic, encounter, hospital_live)
    assert posted == [f"{OLD}/Bundle"]

    # The requester cannot approve their own change.
    own = _decide(client, change, "approve_changes")
    assert "another administrator must approve it" in own.content.decode()
    change.refresh_from_db()
    hospital_live.refresh_from_db()
    assert change.status == EndpointChangeStatus.PENDING
    assert hospital_live.fhir_endpoint == OLD

    # A second administrator approves: from now on the new endpoint gets the record.
    client.force_login(second_admin)
    _decide(client, change, "approve_changes")
    change.refresh_from_db()
    hospital_live.refresh_from_db()
    assert (change.status, change.decided_by) == (EndpointChangeStatus.APPROVED, second_admin)
    assert hospital_live.fhir_endpoint == NEW
    encounter_update(user=paramedic, encounter_id=encounter.pk, data={"estimated_age_years": 40})
    assert posted == [f"{OLD}/Bundle", f"{NEW}/Bundle"]

    (requested,) = _chain("endpoint_change_request")
    (approved,) = _chain("endpoint_change_approve")
    assert (requested.actor, requested.object_type, requested.object_id) == (
        admin,
        "hospital",
        str(hospital_live.pk),
    )
    assert requested.detail["fhir_old"] == OLD
    assert requested.detail["fhir_new"] == NEW
    assert requested.detail["fields"] == ["fhir_endpoint"]
    assert approved.actor == second_admin
    assert approved.detail["requested_by"] == admin.pk
    assert [row.detail["endpoint"] for row in _chain("disclose")] == [
        "https://fhir.old-hospital.example:443",
        "https://fhir.new-hospital.example:443",
    ]
    _assert_chain_intact()


def test_rejected_change_never_takes_effect(client, admin, second_admin, hospital_live):
    client.force_login(admin)
    _edit_hospital(client, hospital_live, fhir_endpoint=NEW)
    change = EndpointChange.objects.get()

    client.force_login(second_admin)
    _decide(client, change, "reject_changes")

    change.refresh_from_db()
    hospital_live.refresh_from_db()
    assert change.status == EndpointChangeStatus.REJECTED
    assert hospital_live.fhir_endpoint == OLD
    assert _chain("endpoint_change_reject")[0].actor == second_admin
    # A decided change cannot be approved afterwards.
    _decide(client, change, "approve_changes")
    hospital_live.refresh_from_db()
    assert hospital_live.fhir_endpoint == OLD
    _assert_chain_intact()


def test_a_second_request_waits_for_the_first_to_be_decided(client, admin, hospital_live):
    client.force_login(admin)
    _edit_hospital(client, hospital_live, fhir_endpoint=NEW)

    response = _edit_hospital(client, hospital_live, hl7_host="127.0.0.1", hl7_port=2575)

    assert response.status_code == 200
    assert "waiting for approval" in response.context["adminform"].form.errors["fhir_endpoint"][0]
    assert EndpointChange.objects.count() == 1


def test_a_new_hospital_gets_its_endpoints_only_through_approval(client, admin):
    client.force_login(admin)
    response = client.get(_url(Hospital, "add"))
    data = _form_data(response) | {
        "name": "Harbour Hospital",
        "code": "harbour",
        "lat": "60.17",
        "lon": "24.94",
        "capabilities": ["general"],
        "ed_status": "open",
        "fhir_endpoint": NEW,
    }

    assert client.post(_url(Hospital, "add"), data).status_code == 302

    hospital = Hospital.objects.get(code="harbour")
    assert hospital.fhir_endpoint == ""
    assert EndpointChange.objects.get(hospital=hospital).fhir_endpoint == NEW


def test_the_database_refuses_a_change_approved_by_its_requester(admin, hospital_live):
    change = EndpointChange.objects.create(
        hospital=hospital_live,
        old_fhir_endpoint=OLD,
        fhir_endpoint=NEW,
        requested_by=admin,
        requested_at=timezone.now(),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        EndpointChange.objects.filter(pk=change.pk).update(
            status=EndpointChangeStatus.APPROVED, decided_by=admin, decided_at=timezone.now()
        )


# --- Deliveries are disclosures ---------------------------------------------------------


def test_a_fhir_delivery_is_an_audited_disclosure(paramedic, encounter, hospital_live, posted):
    _route(paramedic, encounter, hospital_live)

    (row,) = _chain("disclose")
    assert (row.actor, row.object_type, row.object_id) == (
        paramedic,
        "encounter",
        str(encounter.public_id),
    )
    assert row.detail["hospital"] == hospital_live.pk
    assert row.detail["endpoint"] == "https://fhir.old-hospital.example:443"
    assert row.detail["outcome"] == "delivered"
    assert row.detail["triggered_by"] == paramedic.pk
    assert PATIENT["family_name"] not in str(row.detail)
    _assert_chain_intact()


def test_a_delivery_caused_by_new_vitals_names_the_crew_member(
    paramedic, encounter, hospital_live, posted
):
    _route(paramedic, encounter, hospital_live)
    other = factories.CrewFactory(unit=paramedic.unit)

    vitals_record(user=other, encounter_id=encounter.pk, client_id="v-1", data={"heart_rate": 96})

    assert [row.actor for row in _chain("disclose")] == [paramedic, other]


def test_a_failed_attempt_is_still_a_disclosure(paramedic, encounter, hospital_live, posted):
    # The receiver answered 503: it got the record, and the attempt is retried later.
    posted.fail = 503

    _route(paramedic, encounter, hospital_live)

    assert posted == [f"{OLD}/Bundle"]
    (task,) = OutboxTask.objects.filter(kind="handoff.fhir")
    assert task.status == OutboxTask.Status.PENDING
    (row,) = _chain("disclose")
    assert (row.actor, row.detail["outcome"], row.detail["status"]) == (paramedic, "failed", 503)
    _assert_chain_intact()


def test_an_hl7_delivery_is_an_audited_disclosure(paramedic, encounter, hospital, mllp_receiver):
    port, state = mllp_receiver
    hospital.hl7_host, hospital.hl7_port = "127.0.0.1", port
    hospital.hl7_receiving_application = "HIS_ADT"
    hospital.save(update_fields=["hl7_host", "hl7_port", "hl7_receiving_application"])

    _route(paramedic, encounter, hospital)

    assert len(state.received) == 1
    (row,) = _chain("disclose")
    assert (row.actor, row.object_id) == (paramedic, str(encounter.public_id))
    assert (row.detail["kind"], row.detail["endpoint"], row.detail["outcome"]) == (
        "handoff.hl7",
        f"127.0.0.1:{port}",
        "delivered",
    )
    _assert_chain_intact()


# --- Every admin write is in the chain --------------------------------------------------


def test_admin_change_of_a_unit_is_in_the_chain_by_field_name(client, admin, unit):
    client.force_login(admin)
    url = _url(Unit, "change", unit.pk)
    data = _form_data(client.get(url)) | {"call_sign": "EVIL-1"}

    assert client.post(url, data).status_code == 302

    (row,) = _chain("admin_change")
    assert (row.actor, row.object_type, row.object_id) == (
        admin,
        "admin",
        f"dispatch.unit:{unit.pk}",
    )
    assert row.detail["fields"] == ["call_sign"]
    assert "EVIL-1" not in str(row.detail)
    _assert_chain_intact()


def test_admin_add_and_edit_of_a_user_are_in_the_chain(client, admin, unit):
    client.force_login(admin)
    add = client.post(
        _url(admin.__class__, "add"),
        {
            "username": "mole",
            "password1": "a-long-enough-passphrase-42",
            "password2": "a-long-enough-passphrase-42",
            "usable_password": "true",
            "role": "admin",
        },
    )
    assert add.status_code == 302, add.context["adminform"].form.errors
    mole = admin.__class__.objects.get(username="mole")
    url = _url(admin.__class__, "change", mole.pk)
    data = _form_data(client.get(url)) | {"is_superuser": "on", "is_staff": "on"}
    assert client.post(url, data).status_code == 302

    (added,) = _chain("admin_add")
    (changed,) = _chain("admin_change")
    assert added.object_id == changed.object_id == f"accounts.user:{mole.pk}"
    assert added.actor == changed.actor == admin
    # (date_joined too: the admin form drops its microseconds, as a browser would post it.)
    assert {"is_superuser", "is_staff"} <= set(changed.detail["fields"])
    _assert_chain_intact()


def test_admin_bulk_delete_is_in_the_chain_for_each_object(client, admin, centre):
    stations = [factories.StationFactory(centre=centre) for _ in range(2)]
    client.force_login(admin)

    response = client.post(
        _url(Station, "changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(station.pk) for station in stations],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Station.objects.filter(pk__in=[s.pk for s in stations]).exists()
    deleted = {row.object_id for row in _chain("admin_delete")}
    assert deleted == {f"dispatch.station:{station.pk}" for station in stations}
    _assert_chain_intact()
