import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Role, User
from tests import factories


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (Role.DISPATCHER, {}),
        (Role.CREW, {}),
        (Role.ED_STAFF, {}),
        (Role.ADMIN, {"dispatch_centre": "centre"}),
        (Role.CREW, {"unit": "unit", "hospital": "hospital"}),
        (Role.DISPATCHER, {"dispatch_centre": "centre", "unit": "unit"}),
    ],
)
def test_a_role_must_link_exactly_its_own_organisation(db, role, links):
    unit = factories.UnitFactory()
    objects = {"centre": unit.centre, "unit": unit, "hospital": factories.HospitalFactory()}
    user = User(username="x", role=role, **{field: objects[name] for field, name in links.items()})
    with pytest.raises(ValidationError):
        user.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()


def test_only_ed_staff_hold_the_charge_role(db, dispatcher):
    dispatcher.is_charge = True
    with pytest.raises(IntegrityError), transaction.atomic():
        dispatcher.save()


def test_createsuperuser_makes_an_administrator(db):
    user = User.objects.create_superuser("root", "root@example.org", "pw-long-enough-123")
    assert user.role == Role.ADMIN
    assert user.home_url_name == "admin:index"
