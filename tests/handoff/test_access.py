"""Who may see a patient's record: the access matrix, outsiders included, over the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from handoff import access
from handoff.models import Encounter
from handoff.services.handover import patient_arrived, transfer_of_care_confirm

pytestmark = pytest.mark.django_db

ROLES = ["paramedic", "ed_nurse", "other_crew", "other_ed", "dispatcher", "admin", "outsider"]


def status_of(client, user, url):
    client.force_login(user)
    return client.get(url).status_code


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("paramedic", 200),
        ("ed_nurse", 200),
        ("other_crew", 403),
        ("other_ed", 403),
        ("dispatcher", 403),
        ("admin", 403),
        ("outsider", 403),
    ],
)
def test_record_access_matrix(client, request, routed, who, code):
    url = f"/api/v1/encounters/{routed.public_id}/"
    assert status_of(client, request.getfixturevalue(who), url) == code
    for tail in ("vitals/", "messages/"):
        assert status_of(client, request.getfixturevalue(who), url + tail) == code


@pytest.mark.parametrize("who", ROLES)
def test_ed_staff_see_nothing_before_the_crew_chooses_their_hospital(
    client, request, encounter, who
):
    code = status_of(
        client, request.getfixturevalue(who), f"/api/v1/encounters/{encounter.public_id}/"
    )
    assert code == (200 if who == "paramedic" else 403)


def test_crew_lose_access_when_the_encounter_closes_and_ed_keeps_it_for_the_window(
    client, paramedic, ed_nurse, routed, settings
):
    settings.ED_ACCESS_HOURS_AFTER_HANDOFF = 24
    patient_arrived(user=paramedic, encounter_id=routed.pk)
    transfer_of_care_confirm(user=paramedic, encounter_id=routed.pk)
    transfer_of_care_confirm(user=ed_nurse, encounter_id=routed.pk)
    url = f"/api/v1/encounters/{routed.public_id}/"
    assert status_of(client, paramedic, url) == 403
    assert status_of(client, ed_nurse, url) == 200
    past = timezone.now() - timedelta(hours=25)
    Encounter.objects.filter(pk=routed.pk).update(
        arrived_at=past - timedelta(minutes=20), transfer_of_care_at=past, closed_at=past
    )
    assert status_of(client, ed_nurse, url) == 403
    routed.refresh_from_db()
    assert not access.is_ed_of(ed_nurse, routed)


@pytest.mark.parametrize("who", ["other_ed", "paramedic", "dispatcher", "admin", "outsider"])
def test_ed_only_actions_refuse_everyone_else(client, request, routed, who):
    client.force_login(request.getfixturevalue(who))
    base = f"/api/v1/encounters/{routed.public_id}/"
    assert client.post(base + "acknowledge/").status_code == 403
    assert (
        client.post(base + "bay/", {"bay": "1"}, content_type="application/json").status_code == 403
    )
    assert (
        client.post(base + "reconcile/", {"mrn": "1"}, content_type="application/json").status_code
        == 403
    )


@pytest.mark.parametrize("who", ["other_crew", "ed_nurse", "dispatcher", "admin", "outsider"])
def test_crew_only_actions_refuse_everyone_else(client, request, routed, hospital, who):
    client.force_login(request.getfixturevalue(who))
    base = f"/api/v1/encounters/{routed.public_id}/"
    vitals = {"client_id": "v1", "vitals": {"heart_rate": 80}}
    assert client.post(base + "vitals/", vitals, content_type="application/json").status_code == 403
    assert client.get(base + "destinations/").status_code == 403
    assert client.patch(base, {"sex": "male"}, content_type="application/json").status_code == 403


def test_unknown_encounter_is_404(client, paramedic):
    client.force_login(paramedic)
    assert client.get("/api/v1/encounters/7f1c2f1e-0000-4000-8000-000000000000/").status_code == 404
