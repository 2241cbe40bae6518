"""Team activations: proposed once per kind, escalated once after the delay, acknowledged."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from handoff import tasks
from handoff.models import TeamActivation
from handoff.services.activations import activation_acknowledge, activations_escalate
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_update
from handoff.services.vitals import vitals_record
from realtime.models import EventLog

pytestmark = pytest.mark.django_db

HIGH_NEWS2 = {
    "heart_rate": 135,
    "respiratory_rate": 28,
    "systolic_bp": 88,
    "spo2": 90,
    "on_oxygen": True,
    "avpu": "V",
    "temperature": 39.5,
}


def record(user, encounter, client_id, data):
    return vitals_record(user=user, encounter_id=encounter.pk, data=data, client_id=client_id)


def age(activation_id, seconds):
    """Move an activation's 'sent to the ED' time into the past (no sleeping)."""
    TeamActivation.objects.filter(pk=activation_id).update(
        sent_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_kind_is_proposed_once_however_many_sets_call_for_it(paramedic, routed, hospital):
    record(paramedic, routed, "v1", HIGH_NEWS2)
    record(paramedic, routed, "v2", {**HIGH_NEWS2, "heart_rate": 140})
    [activation] = TeamActivation.objects.filter(encounter=routed)
    assert activation.kind == "deterioration"
    assert "NEWS2" in activation.reason
    proposed = EventLog.objects.filter(
        stream=f"handoff.ed.{hospital.pk}", type="handoff.activation.proposed"
    )
    assert proposed.count() == 1


def test_findings_propose_their_kinds(paramedic, routed):
    encounter_update(
        user=paramedic,
        encounter_id=routed.pk,
        data={"findings": {"cardiac_arrest": True, "befast": {"face": True, "arm": True}}},
    )
    record(paramedic, routed, "v1", {"heart_rate": 90, "ecg_stemi": True})
    kinds = set(TeamActivation.objects.filter(encounter=routed).values_list("kind", flat=True))
    assert kinds == {"cardiac_arrest", "stroke", "stemi"}
    stroke = TeamActivation.objects.get(encounter=routed, kind="stroke")
    assert "last known well" in stroke.reason


def test_proposals_made_before_a_destination_are_sent_when_it_is_chosen(
    paramedic, encounter, hospital
):
    record(paramedic, encounter, "v1", HIGH_NEWS2)
    activation = TeamActivation.objects.get(encounter=encounter)
    assert activation.sent_at is None
    destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )
    activation.refresh_from_db()
    assert activation.sent_at is not None
    assert EventLog.objects.filter(
        stream=f"handoff.ed.{hospital.pk}", type="handoff.activation.proposed"
    ).exists()


def test_unacknowledged_activation_escalates_once_after_the_delay(
    paramedic, routed, hospital, settings
):
    settings.ACTIVATION_ESCALATE_AFTER_SECONDS = 120
    record(paramedic, routed, "v1", HIGH_NEWS2)
    activation = TeamActivation.objects.get(encounter=routed)
    age(activation.pk, 100)
    assert activations_escalate() == 0
    age(activation.pk, 121)
    assert tasks.activations_escalate.apply().get() == 1
    assert activations_escalate() == 0
    activation.refresh_from_db()
    assert activation.escalated_at is not None
    assert activation.resent_count == 1
    stream = f"handoff.ed.{hospital.pk}"
    [escalated] = EventLog.objects.filter(stream=stream, type="handoff.activation.escalated")
    assert escalated.data["charge"] is True
    assert escalated.data["kind"] == "deterioration"
    resent = EventLog.objects.filter(stream=stream, type="handoff.activation.proposed")
    assert [e.data.get("resent", False) for e in resent.order_by("seq")] == [False, True]


def test_an_acknowledged_activation_never_escalates(paramedic, routed, ed_nurse, other_ed):
    record(paramedic, routed, "v1", HIGH_NEWS2)
    activation = TeamActivation.objects.get(encounter=routed)
    with pytest.raises(PermissionDenied):
        activation_acknowledge(user=other_ed, activation_id=activation.pk)
    with pytest.raises(PermissionDenied):
        activation_acknowledge(user=paramedic, activation_id=activation.pk)
    activation_acknowledge(user=ed_nurse, activation_id=activation.pk)
    activation_acknowledge(user=ed_nurse, activation_id=activation.pk)
    age(activation.pk, 10_000)
    assert activations_escalate() == 0
    assert EventLog.objects.filter(type="handoff.activation.acknowledged").count() == 1


def test_escalation_claim_is_conditional(paramedic, routed):
    """A second scheduler that read the same candidate finds it claimed and does nothing."""
    record(paramedic, routed, "v1", HIGH_NEWS2)
    activation = TeamActivation.objects.get(encounter=routed)
    age(activation.pk, 10_000)
    TeamActivation.objects.filter(pk=activation.pk).update(escalated_at=timezone.now())
    assert activations_escalate() == 0
    assert not EventLog.objects.filter(type="handoff.activation.escalated").exists()


def test_the_beat_schedule_runs_the_escalation(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["activations-escalate"]
    assert entry["task"] == tasks.activations_escalate.name
