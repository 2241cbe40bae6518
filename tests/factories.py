"""factory_boy factories; sub-factories keep organisations consistent."""

from __future__ import annotations

from typing import Any

import factory

from accounts.models import Role, User
from dispatch.models import DispatchCentre, Station, Unit
from handoff.models import Hospital

TEST_PASSWORD = "correct horse battery staple"


class DispatchCentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DispatchCentre

    name = factory.Sequence(lambda n: f"Centre {n}")
    code = factory.Sequence(lambda n: f"centre-{n}")


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    centre = factory.SubFactory(DispatchCentreFactory)
    name = factory.Sequence(lambda n: f"Station {n}")
    code = factory.Sequence(lambda n: f"station-{n}")
    lat = 60.16515
    lon = 24.94516


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    home_station = factory.SubFactory(StationFactory)
    centre = factory.SelfAttribute("home_station.centre")
    call_sign = factory.Sequence(lambda n: f"T{n:03d}")
    unit_type = "ALS"
    capabilities = factory.LazyFunction(list)


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital

    name = factory.Sequence(lambda n: f"Hospital {n}")
    code = factory.Sequence(lambda n: f"hospital-{n}")
    lat = 60.1815
    lon = 24.9234
    capabilities = factory.LazyFunction(lambda: ["general"])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    role = Role.ADMIN
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def persist(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class DispatcherFactory(UserFactory):
    role = Role.DISPATCHER
    dispatch_centre = factory.SubFactory(DispatchCentreFactory)


class CrewFactory(UserFactory):
    role = Role.CREW
    unit = factory.SubFactory(UnitFactory)


class EDStaffFactory(UserFactory):
    role = Role.ED_STAFF
    hospital = factory.SubFactory(HospitalFactory)


class AdminFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


def device_token(
    user: User, *, days: int | None = None, label: str = "test", unit: Any = None
) -> str:
    """Issue a device token for `user` through the service; returns the raw key (shown once)."""
    from accounts.services import device_token_issue

    return device_token_issue(user=user, created_by=None, label=label, days=days, unit=unit).key
