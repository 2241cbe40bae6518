import pytest

from ops.models import Heartbeat
from ops.scheduler import EmbeddedScheduler


@pytest.mark.django_db(transaction=True)
def test_embedded_scheduler_runs_periodic_jobs_without_a_broker(settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    scheduler = EmbeddedScheduler({"beat": {"task": "ops.tasks.heartbeat", "schedule": 10.0}})
    next_run: dict[str, float] = {}
    scheduler.run_due(next_run, now=100.0)
    scheduler.run_due(next_run, now=105.0)  # not due yet
    assert Heartbeat.objects.get(name="scheduler").runs == 1
    scheduler.run_due(next_run, now=110.0)
    assert Heartbeat.objects.get(name="scheduler").runs == 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_does_not_stop_the_others(caplog):
    scheduler = EmbeddedScheduler(
        {
            "broken": {"task": "ops.tasks.heartbeat", "schedule": 1.0, "kwargs": {"name": None}},
            "beat": {"task": "ops.tasks.heartbeat", "schedule": 1.0},
        }
    )
    scheduler.run_due({}, now=0.0)
    assert Heartbeat.objects.get(name="scheduler").runs == 1
    assert "periodic job broken failed" in caplog.text


def test_embedded_scheduler_thread_starts_and_stops(db):
    scheduler = EmbeddedScheduler({}, tick=0.01)
    scheduler.start()
    scheduler.stop()
    assert scheduler._thread is not None
    assert not scheduler._thread.is_alive()


def test_crontab_schedules_are_refused_with_the_entry_named():
    from celery.schedules import crontab

    with pytest.raises(ValueError, match="nightly"):
        EmbeddedScheduler({"nightly": {"task": "x", "schedule": crontab(hour=3)}})
