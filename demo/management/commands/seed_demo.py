"""Load the Helsinki demo region. Idempotent: a second run creates and changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import ProtectedError

from accounts.models import Role, User
from demo import data as demo
from dispatch.models import DispatchCentre, MutualAidAgreement, Station, Unit
from handoff.models import Hospital


class Command(BaseCommand):
    help = "Create the Helsinki demo centre, stations, units, hospitals and one user per role."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo creates accounts with a published password; "
                "it refuses to run with GOLDEN_HOUR_ENV=production."
            )
        created: list[str] = []
        with transaction.atomic():
            centres = {}
            for spec in demo.CENTRES:
                centre, new = DispatchCentre.objects.get_or_create(
                    code=spec["code"], defaults={"name": spec["name"], "area": spec["area"]}
                )
                if centre.area is None:
                    centre.area = spec["area"]
                    centre.save(update_fields=["area"])
                centres[spec["code"]] = centre
                created += [f"centre {centre.code}"] if new else []
            for code_a, code_b, rollover in demo.MUTUAL_AID:
                pair = sorted([centres[code_a], centres[code_b]], key=lambda c: c.pk)
                _, new = MutualAidAgreement.objects.get_or_create(
                    centre_a=pair[0], centre_b=pair[1], defaults={"rollover_seconds": rollover}
                )
                created += [f"mutual aid {code_a}-{code_b}"] if new else []
            stations = {}
            for spec in demo.STATIONS:
                spec = dict(spec)
                centre = centres[spec.pop("centre", demo.CENTRE["code"])]
                station, new = Station.objects.get_or_create(
                    code=spec["code"], defaults={**spec, "centre": centre}
                )
                stations[spec["code"]] = station
                created += [f"station {station.code}"] if new else []
            for call_sign, unit_type, capabilities, station_code in demo.UNITS:
                station = stations[station_code]
                _, new = Unit.objects.get_or_create(
                    call_sign=call_sign,
                    defaults={
                        "centre": station.centre,
                        "unit_type": unit_type,
                        "capabilities": capabilities,
                        "home_station": station,
                    },
                )
                created += [f"unit {call_sign}"] if new else []
            for spec in demo.HOSPITALS:
                _, new = Hospital.objects.get_or_create(code=spec["code"], defaults=spec)
                created += [f"hospital {spec['code']}"] if new else []
            created += self._retire_old_hospitals()
            for username, first, last, role, org, is_charge in demo.USERS:
                if User.objects.filter(username=username).exists():
                    continue
                user = User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    role=role,
                    is_charge=is_charge,
                    is_staff=role == Role.ADMIN,
                    is_superuser=role == Role.ADMIN,
                )
                if role == Role.DISPATCHER:
                    user.dispatch_centre = DispatchCentre.objects.get(code=org)
                elif role == Role.CREW:
                    user.unit = Unit.objects.get(call_sign=org)
                elif role == Role.ED_STAFF:
                    user.hospital = Hospital.objects.get(code=org)
                user.set_password(demo.DEMO_PASSWORD)
                user.full_clean()
                user.save()
                created.append(f"user {username}")
        self.stdout.write(
            f"Demo region: {len(created)} object(s) created or changed"
            + (": " + ", ".join(created) if created else " (already loaded)")
        )
        base = options["base_url"].rstrip("/")
        self.stdout.write(f"Log in at {base}/login/ with password '{demo.DEMO_PASSWORD}' as:")
        for username, _first, _last, role, org, is_charge in demo.USERS:
            label = dict(Role.choices)[role] + (" (charge)" if is_charge else "")
            self.stdout.write(f"  {username:<11} {label}{' of ' + org if org else ''}")

    def _retire_old_hospitals(self) -> list[str]:
        """Move the demo ED users off an earlier demo's hospitals, and delete those hospitals
        where no encounter, assignment or admission refers to them (kept otherwise)."""
        changed: list[str] = []
        retired = Hospital.objects.filter(code__in=demo.RETIRED_HOSPITAL_CODES)
        if not retired.exists():
            return changed
        ed_users = {u: org for u, _f, _l, role, org, _c in demo.USERS if role == Role.ED_STAFF}
        for user in User.objects.filter(username__in=ed_users, hospital__in=retired):
            user.hospital = Hospital.objects.get(code=ed_users[user.username])
            user.save(update_fields=["hospital"])
            changed.append(f"user {user.username} moved to {user.hospital.code}")
        for hospital in retired:
            # Every reference to a hospital is PROTECT: one still in use is simply kept.
            try:
                with transaction.atomic():
                    hospital.delete()
            except ProtectedError:
                continue
            changed.append(f"earlier demo hospital {hospital.code} removed")
        return changed
