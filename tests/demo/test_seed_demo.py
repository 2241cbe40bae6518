from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Role, User
from demo import data as demo
from dispatch import region
from dispatch.models import DispatchCentre, MutualAidAgreement, Station, Unit
from handoff.models import Hospital


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (DispatchCentre, Station, Unit, Hospital, User)
    }


def test_seed_demo_creates_the_region_and_a_second_run_changes_nothing(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = _counts()
    assert first["DispatchCentre"] == 2
    # Neighbours: their areas touch and do not overlap, and they lend each other units.
    south, north = (DispatchCentre.objects.get(code=c["code"]) for c in demo.CENTRES)
    assert region.centre_owning(60.170, 24.945) == south
    assert region.centre_owning(60.178, 24.950) == north
    assert MutualAidAgreement.objects.filter(active=True).count() == 1
    assert Unit.objects.filter(centre=north).exists()
    assert User.objects.filter(role=Role.DISPATCHER, dispatch_centre=north).exists()
    assert first["Station"] >= 4
    assert first["Unit"] >= 12
    assert {u.unit_type for u in Unit.objects.all()} == {"ALS", "BLS"}
    assert first["Hospital"] >= 4
    assert len({tuple(sorted(h.capabilities)) for h in Hospital.objects.all()}) == first["Hospital"]
    assert {u.role for u in User.objects.all()} == set(Role.values)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/login/" in text
    assert demo.DEMO_PASSWORD in text
    snapshot = list(Unit.objects.values().order_by("pk"))
    passwords = list(User.objects.values_list("password", flat=True).order_by("pk"))

    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first
    assert list(Unit.objects.values().order_by("pk")) == snapshot
    assert list(User.objects.values_list("password", flat=True).order_by("pk")) == passwords


def test_demo_users_can_log_in_with_the_printed_password(client, db):
    call_command("seed_demo", stdout=StringIO())
    for username, *_ in demo.USERS:
        response = client.post("/login/", {"username": username, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, username
        client.logout()


def test_demo_stations_lie_on_the_demo_road_map(road_map):
    for station in demo.STATIONS:
        snapped = road_map.snap(station["lat"], station["lon"])
        assert snapped.distance_m < 100, station["name"]


def test_seed_demo_refuses_production(db, settings):
    from django.core.management.base import CommandError

    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo", stdout=StringIO())


def test_seed_demo_replaces_an_earlier_demos_off_map_hospitals(db):
    from tests import factories

    old = factories.HospitalFactory(code="toolo", name="HUS Töölö Hospital")
    kept = factories.HospitalFactory(code="meilahti", name="HUS Meilahti Tower Hospital")
    nurse = factories.EDStaffFactory(username="ednurse", hospital=old)
    # A hospital someone still belongs to (here: a non-demo user) is kept.
    factories.EDStaffFactory(hospital=kept)
    out = StringIO()
    call_command("seed_demo", stdout=out)
    nurse.refresh_from_db()
    assert nurse.hospital.code == "demo-trauma"
    assert not Hospital.objects.filter(code="toolo").exists()
    assert Hospital.objects.filter(code="meilahti").exists()
    assert "earlier demo hospital toolo removed" in out.getvalue()
    codes = set(Hospital.objects.values_list("code", flat=True))
    assert {h["code"] for h in demo.HOSPITALS} <= codes
