"""Positions from tablets and AVL boxes, and the stale-fix check."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import UnitPosition
from realtime.models import EventLog

pytestmark = pytest.mark.django_db


def fix(client_id, seconds_ago=0, lat=60.1700, lon=24.9450, **extra):
    return services.Fix(
        client_id=client_id,
        lat=lat,
        lon=lon,
        recorded_at=timezone.now() - timedelta(seconds=seconds_ago),
        **extra,
    )


def test_a_batch_is_stored_once_and_the_newest_fix_moves_the_unit(unit):
    results = services.unit_positions_record(
        unit_id=unit.pk,
        device_id="avl-1",
        fixes=[fix("a", 20, lat=60.1701), fix("b", 10, lat=60.1702), fix("c", 15)],
    )
    assert [r.status for r in results] == ["stored"] * 3
    unit.refresh_from_db()
    assert unit.last_lat == 60.1702
    again = services.unit_positions_record(
        unit_id=unit.pk, device_id="avl-1", fixes=[fix("b", 10, lat=60.1702)]
    )
    assert [r.status for r in again] == ["duplicate"]
    assert UnitPosition.objects.filter(unit=unit).count() == 3


def test_an_older_fix_is_kept_but_does_not_move_the_unit(unit):
    services.unit_positions_record(
        unit_id=unit.pk, device_id="t", fixes=[fix("new", 5, lat=60.1750)]
    )
    services.unit_positions_record(
        unit_id=unit.pk, device_id="t", fixes=[fix("old", 60, lat=60.1650)]
    )
    unit.refresh_from_db()
    assert unit.last_lat == 60.1750
    assert UnitPosition.objects.filter(unit=unit, client_id="old").exists()


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (services.Fix(client_id="x", lat=91, lon=24.9, recorded_at=timezone.now()), "lat"),
        (services.Fix(client_id="x", lat=60.1, lon=-181, recorded_at=timezone.now()), "lon"),
        (
            services.Fix(
                client_id="x", lat=60.1, lon=24.9, recorded_at=timezone.now() + timedelta(minutes=2)
            ),
            "recorded_at",
        ),
        (
            services.Fix(
                client_id="x", lat=60.1, lon=24.9, recorded_at=timezone.now(), heading=400
            ),
            "heading",
        ),
        (
            services.Fix(
                client_id="x", lat=60.1, lon=24.9, recorded_at=timezone.now(), speed_mps=-3
            ),
            "speed_mps",
        ),
        (services.Fix(client_id="", lat=60.1, lon=24.9, recorded_at=timezone.now()), "id"),
    ],
)
def test_a_bad_fix_is_rejected_alone_naming_the_field(unit, bad, field):
    results = services.unit_positions_record(
        unit_id=unit.pk, device_id="t", fixes=[fix("good"), bad]
    )
    assert results[0].status == "stored"
    assert (results[1].status, results[1].field) == ("rejected", field)
    assert UnitPosition.objects.filter(unit=unit).count() == 1


def test_the_stale_check_flags_once_and_a_fresh_fix_clears_it(unit, settings):
    settings.UNIT_STALE_AFTER_SECONDS = 60
    services.unit_positions_record(unit_id=unit.pk, device_id="t", fixes=[fix("old", 90)])
    assert services.units_flag_stale() == 1
    assert services.units_flag_stale() == 0
    unit.refresh_from_db()
    assert unit.position_stale
    stale_events = EventLog.objects.filter(type="dispatch.unit.updated", data__position_stale=True)
    assert stale_events.count() == 1
    services.unit_positions_record(unit_id=unit.pk, device_id="t", fixes=[fix("fresh", 1)])
    unit.refresh_from_db()
    assert not unit.position_stale


def test_the_stale_check_runs_in_the_embedded_schedule(settings):
    assert "dispatch.tasks.units_flag_stale" in {
        e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()
    }
