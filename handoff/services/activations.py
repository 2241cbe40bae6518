"""Team activations: proposed from the findings and the newest vitals (handoff.clinical),
acknowledged by the ED, escalated to the charge role when nobody does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from handoff import access, events, selectors
from handoff.clinical import (
    ActivationContext,
    befast,
    team_activation_proposals,
)
from handoff.clinical import (
    ActivationKind as ClinicalKind,
)
from handoff.clinical.activation import TRAUMA_INJURY_PATTERNS
from handoff.models import (
    ActivationKind,
    Encounter,
    EncounterStatus,
    TeamActivation,
    VitalsSet,
)
from handoff.services._common import _audit, _emit_encounter, _lock, _touch
from realtime.events import event_record

CLINICAL_KIND = {
    ClinicalKind.CARDIAC_ARREST: ActivationKind.CARDIAC_ARREST,
    ClinicalKind.STEMI: ActivationKind.STEMI,
    ClinicalKind.STROKE: ActivationKind.STROKE,
    ClinicalKind.TRAUMA: ActivationKind.TRAUMA,
    ClinicalKind.SEPSIS: ActivationKind.SEPSIS,
    ClinicalKind.OBSTETRICS: ActivationKind.OBSTETRICS,
    ClinicalKind.DETERIORATION: ActivationKind.DETERIORATION,
}


# Crew findings (Encounter.findings) that are booleans of the activation context.
BOOLEAN_FINDINGS = (
    "cardiac_arrest",
    "suspected_infection",
    "obstetric_emergency",
    "injured",
    "unable_to_follow_commands",
    "respiratory_distress_or_support",
    *TRAUMA_INJURY_PATTERNS,
)


BEFAST_ITEMS = ("balance", "eyes", "face", "arm", "speech")


@dataclass(frozen=True)
class _Known:
    """What a set-based write already knows of an encounter, so evaluating it costs no query."""

    latest: VitalsSet | None
    ecg_stemi: bool
    kinds: frozenset[str]


def _activation_context(encounter: Encounter, known: _Known | None = None) -> ActivationContext:
    if known is not None:
        latest, ecg_stemi = known.latest, known.ecg_stemi
    else:
        latest = encounter.vitals.order_by("-taken_at", "-pk").first()
        ecg_stemi = encounter.vitals.filter(ecg_stemi=True).exists()
    findings = encounter.findings or {}
    raw_befast = findings.get("befast")
    return ActivationContext(
        vitals=selectors.vitals_values(latest) if latest else {},
        age_years=selectors.patient_age_years(encounter),
        ecg_stemi=ecg_stemi,
        befast=befast(**{item: raw_befast.get(item) for item in BEFAST_ITEMS})
        if raw_befast
        else None,
        last_known_well=encounter.last_known_well,
        **{key: bool(findings.get(key)) for key in BOOLEAN_FINDINGS},
    )


def _activations_evaluate(
    encounter: Encounter, now: datetime, known: _Known | None = None
) -> list[TeamActivation]:
    """Create the team activations the findings now call for, once per kind."""
    existing = (
        set(known.kinds)
        if known is not None
        else set(encounter.activations.values_list("kind", flat=True))
    )
    created = []
    for proposal in team_activation_proposals(_activation_context(encounter, known)):
        kind = CLINICAL_KIND[proposal.kind]
        if kind in existing:
            continue
        # Raised at the destination only if it has the team (else the crew is warned).
        capable = encounter.destination is not None and selectors.hospital_can_activate(
            encounter.destination, kind
        )
        activation = TeamActivation.objects.create(
            encounter=encounter,
            kind=kind,
            reason=proposal.reason,
            capability=proposal.capability or "",
            proposed_at=now,
            sent_at=now if capable else None,
        )
        created.append(activation)
        if capable:
            event_record(
                stream=events.ed_group(encounter.destination_id),  # type: ignore[arg-type]
                event_type=events.ACTIVATION_PROPOSED,
                data=selectors.activation_summary(activation),
            )
    return created


def activation_acknowledge(*, user: Any, activation_id: int) -> TeamActivation:
    """An ED clinician confirms a proposed team activation (idempotent)."""
    now = timezone.now()
    with transaction.atomic():
        activation = TeamActivation.objects.select_for_update().get(pk=activation_id)
        encounter = _lock(activation.encounter_id)
        access.check_ed(user, encounter)
        if activation.acknowledged_at is not None:
            return activation
        activation.acknowledged_at = now
        activation.acknowledged_by = user
        activation.save(update_fields=["acknowledged_at", "acknowledged_by"])
        event_record(
            stream=events.ed_group(encounter.destination_id),  # type: ignore[arg-type]
            event_type=events.ACTIVATION_ACKNOWLEDGED,
            data=selectors.activation_summary(activation),
        )
        _touch(encounter, now)
        _emit_encounter(encounter)
        _audit(user, encounter, "activation_acknowledge", detail={"team_activation": activation.pk})
    return activation


def activations_escalate() -> int:
    """Re-send and escalate to the charge role every activation unacknowledged for
    ACTIVATION_ESCALATE_AFTER_SECONDS since its ED was told; returns how many.

    Each activation escalates once: it is claimed with a conditional UPDATE, so two
    schedulers running at once cannot both escalate it, and running again does nothing.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ACTIVATION_ESCALATE_AFTER_SECONDS)
    due = TeamActivation.objects.filter(
        acknowledged_at__isnull=True,
        escalated_at__isnull=True,
        sent_at__lte=cutoff,
        encounter__status=EncounterStatus.OPEN,
        encounter__destination__isnull=False,
    ).order_by("pk")
    escalated = 0
    for activation_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            # Conditional claim: an acknowledgement that landed since the query wins, and a
            # second scheduler finds the row already claimed (row count 0).
            claimed = TeamActivation.objects.filter(
                pk=activation_id,
                acknowledged_at__isnull=True,
                escalated_at__isnull=True,
                sent_at__lte=cutoff,
            ).update(escalated_at=now, resent_count=F("resent_count") + 1)
            if not claimed:
                continue
            activation = TeamActivation.objects.select_related("encounter").get(pk=activation_id)
            stream = events.ed_group(activation.encounter.destination_id)  # type: ignore[arg-type]
            summary = selectors.activation_summary(activation)
            event_record(
                stream=stream,
                event_type=events.ACTIVATION_PROPOSED,
                data={**summary, "resent": True},
            )
            event_record(
                stream=stream,
                event_type=events.ACTIVATION_ESCALATED,
                data={**summary, "charge": True},
            )
            _audit(
                None,
                activation.encounter,
                "activation_escalate",
                detail={"team_activation": activation.pk},
            )
            escalated += 1
    return escalated
