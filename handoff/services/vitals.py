"""Vitals sets with their scores (NEWS2 and its change, GCS, shock index, qSOFA): one set, or
many of any encounters set-based (a device batch), idempotent by `client_id`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.context import AuditContext
from config import sql
from handoff import access, selectors
from handoff.clinical import (
    news2,
    qsofa,
    score_change,
    shock_index,
    validate_vitals,
    vitals_trend,
)
from handoff.clinical.vitals import gcs_total_of
from handoff.delivery_jobs import delivery_enqueue
from handoff.models import (
    Encounter,
    TeamActivation,
    VitalsSet,
)
from handoff.services import HandoffError
from handoff.services._common import (
    _audit,
    _client_id,
    _emit_encounter,
    _replay_of,
    _require_open,
    _when,
)
from handoff.services.activations import _activations_evaluate, _Known


def _vitals_differ(stored: VitalsSet, prepared: _Prepared) -> list[str]:
    values = selectors.vitals_values(stored)
    # The SpO2 scale carries over from earlier sets, so only a scale that was sent counts.
    if "spo2_scale" not in prepared.values:
        values.pop("spo2_scale", None)
    keys = sorted(set(values) | set(prepared.values))
    differs = [key for key in keys if values.get(key) != prepared.values.get(key)]
    if stored.ecg_stemi != prepared.ecg_stemi:
        differs.append("ecg_stemi")
    if prepared.request.taken_at is not None and stored.taken_at != prepared.taken:
        differs.append("taken_at")
    return differs


def _altered_mentation(values: Mapping[str, Any]) -> bool | None:
    if values.get("new_confusion") is True or values.get("avpu") in {"V", "P", "U"}:
        return True
    return False if values.get("avpu") == "A" else None


@dataclass
class VitalsRequest:
    """One vitals set to record: who sends it, for which encounter, and what it says."""

    user: Any
    encounter_id: int
    data: Mapping[str, Any]
    client_id: str
    device_id: str = ""
    taken_at: datetime | str | None = None
    context: AuditContext | None = None


@dataclass
class _Prepared:
    request: VitalsRequest
    client_id: str
    values: dict[str, Any]
    flags: list[dict[str, Any]]
    ecg_stemi: bool | None
    taken: datetime


# The board's sparklines show this many of the newest sets; the record has them all.
HISTORY_SETS = selectors.BOARD_TREND_SETS


def _vitals_prepare(request: VitalsRequest, now: datetime) -> _Prepared:
    """Check a set's values (no database): HandoffError naming the field and the range."""
    client_id = _client_id(request.client_id)
    payload = dict(request.data)
    ecg_stemi = payload.pop("ecg_stemi", None)
    if ecg_stemi is not None and not isinstance(ecg_stemi, bool):
        raise HandoffError("ecg_stemi must be true, false or null.", field="ecg_stemi")
    taken = _when(request.taken_at, "taken_at", now=now) or now
    check = validate_vitals(payload)
    if check.errors:
        first = sorted(check.errors)[0]
        raise HandoffError("; ".join(check.errors[k] for k in sorted(check.errors)), field=first)
    values: dict[str, Any] = dict(check.values)
    if not values and ecg_stemi is None:
        raise HandoffError("A vitals set needs at least one measurement.", field="vitals")
    flags = [{"field": f.field, "value": f.value, "message": f.message} for f in check.flags]
    return _Prepared(request, client_id, values, flags, ecg_stemi, taken)


def _vitals_build(
    encounter: Encounter, prepared: _Prepared, previous: VitalsSet | None, now: datetime
) -> VitalsSet:
    """The set with its scores (NEWS2 and its change, GCS, shock index, qSOFA), unsaved."""
    values = prepared.values
    flags = list(prepared.flags)
    # SpO2 scale 2 is chosen per patient: once chosen it holds for later sets.
    scale = values.get("spo2_scale") or (previous.spo2_scale if previous else None)
    score = news2(values, spo2_scale=scale)
    previous_score = None
    if previous is not None:
        previous_score = news2(selectors.vitals_values(previous), spo2_scale=previous.spo2_scale)
    gcs = gcs_total_of(values)
    shock = shock_index(values.get("heart_rate"), values.get("systolic_bp"))
    sofa = qsofa(
        values.get("respiratory_rate"),
        values.get("systolic_bp"),
        gcs=gcs,
        altered_mentation=_altered_mentation(values),
    )
    if shock.red_flag:
        flags.append(
            {"field": "shock_index", "value": shock.value, "message": "shock index >= 1.0"}
        )
    if sofa.positive:
        flags.append({"field": "qsofa", "value": sofa.score, "message": "qSOFA >= 2: sepsis risk"})
    request = prepared.request
    return VitalsSet(
        encounter=encounter,
        client_id=prepared.client_id,
        taken_at=prepared.taken,
        **{
            selectors.MODEL_FIELD.get(key, key): value
            for key, value in values.items()
            if key != "spo2_scale"
        },
        spo2_scale=scale,
        ecg_stemi=prepared.ecg_stemi,
        news2_total=score.total,
        news2_risk=score.risk,
        news2_missing=list(score.missing + score.unscored),
        news2_change=asdict(score_change(previous_score, score)),
        gcs_total=gcs,
        shock_index=shock.value,
        qsofa_score=sofa.score,
        flags=flags,
        trend=vitals_trend(selectors.vitals_values(previous), values) if previous else {},
        recorded_by=request.user,
        recorded_at=now,
        device_id=request.device_id[:64],
    )


def _previous(history: list[VitalsSet], taken: datetime) -> VitalsSet | None:
    """The newest set taken at or before `taken` (history sorted oldest first), whole."""
    for index in range(len(history) - 1, -1, -1):
        vitals = history[index]
        if vitals.taken_at <= taken:
            if vitals.get_deferred_fields():
                # A set older than the newest, read for the trend only: a backfill.
                vitals = history[index] = VitalsSet.objects.get(pk=vitals.pk)
            return vitals
    return None


def vitals_record(
    *,
    user: Any,
    encounter_id: int,
    data: Mapping[str, Any],
    client_id: str,
    device_id: str = "",
    taken_at: datetime | str | None = None,
) -> VitalsSet:
    """Store one vitals set with its scores, then propose the team activations it implies.

    Out-of-range values refuse the whole set, naming the field and the plausible range;
    extreme but plausible values are stored and flagged. A repeated `client_id` returns the
    set stored the first time. `data` may carry `ecg_stemi` (STEMI on a 12-lead) as well as
    the vitals of handoff.clinical.VITALS. See vitals_record_many, which does the work.
    """
    request = VitalsRequest(user, encounter_id, data, client_id, device_id, taken_at)
    [outcome] = vitals_record_many(requests=[request])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def vitals_record_many(
    *, requests: list[VitalsRequest]
) -> list[VitalsSet | HandoffError | PermissionDenied]:
    """Store many vitals sets, of any encounters, set-based: one outcome per request.

    Each outcome is the stored set (also for a repeated `client_id`: the first one), or the
    refusal of that request alone (HandoffError; PermissionDenied for a user who does not
    crew the encounter). The encounters are locked in pk order; the newest sets of each are
    read once; the sets are inserted together; every set is its own board-row event (a set is
    never merged into another), audited with its request's context; activations and
    delivery are evaluated once per encounter.
    """
    now = timezone.now()
    outcomes: list[VitalsSet | HandoffError | PermissionDenied | None] = [None] * len(requests)
    prepared: list[tuple[int, _Prepared]] = []
    for index, request in enumerate(requests):
        try:
            prepared.append((index, _vitals_prepare(request, now)))
        except HandoffError as exc:
            outcomes[index] = exc
    if not prepared:
        return outcomes  # type: ignore[return-value]
    with transaction.atomic():
        ids = sorted({p.request.encounter_id for _, p in prepared})
        encounters = {
            e.pk: e
            for e in (
                # Only the encounter rows (see _lock).
                Encounter.objects.select_for_update(of=("self",))
                .select_related("assignment__unit", "assignment__incident", "destination")
                .filter(pk__in=ids)
                .order_by("pk")
            )
        }
        existing = {
            (v.encounter_id, v.client_id): v
            for v in VitalsSet.objects.filter(
                encounter_id__in=ids, client_id__in={p.client_id for _, p in prepared}
            )
        }
        history = selectors.newest_vitals(ids, HISTORY_SETS)
        created: dict[int, list[tuple[VitalsRequest, VitalsSet]]] = {}
        for index, item in prepared:
            encounter = encounters.get(item.request.encounter_id)
            if encounter is None:
                outcomes[index] = HandoffError(
                    "No such encounter.", field="encounter", code="unknown"
                )
                continue
            try:
                access.check_crew(item.request.user, encounter, open_only=False)
            except PermissionDenied as exc:
                outcomes[index] = exc
                continue
            key = (encounter.pk, item.client_id)
            if key in existing:
                try:
                    _replay_of(item.client_id, _vitals_differ(existing[key], item))
                except HandoffError as exc:
                    outcomes[index] = exc
                    continue
                outcomes[index] = existing[key]
                continue
            try:
                _require_open(encounter)
            except HandoffError as exc:
                outcomes[index] = exc
                continue
            sets = history.setdefault(encounter.pk, [])
            previous = _previous(sets, item.taken)
            if previous is None and len(sets) >= HISTORY_SETS and item.taken < sets[0].taken_at:
                # Older than every set read (a deep backfill): look it up.
                previous = (
                    encounter.vitals.filter(taken_at__lte=item.taken)
                    .order_by("-taken_at", "-pk")
                    .first()
                )
            vitals = _vitals_build(encounter, item, previous, now)
            existing[key] = vitals
            sets.append(vitals)
            sets.sort(key=lambda v: v.taken_at)
            created.setdefault(encounter.pk, []).append((item.request, vitals))
            outcomes[index] = vitals
        new_sets = [vitals for items in created.values() for _, vitals in items]
        sql.insert_objects(new_sets, key=("encounter", "client_id"))
        if created:
            _vitals_followups(encounters, created, history, now)
    return outcomes  # type: ignore[return-value]


def _vitals_followups(
    encounters: dict[int, Encounter],
    created: dict[int, list[tuple[VitalsRequest, VitalsSet]]],
    history: dict[int, list[VitalsSet]],
    now: datetime,
) -> None:
    """After the sets are in: touch, activations, one board row per set, delivery, audit."""
    touched = [encounters[pk] for pk in created]
    touched_ids = [e.pk for e in touched]
    Encounter.objects.filter(pk__in=touched_ids).update(updated_at=now)
    kinds: dict[int, set[str]] = {}
    for encounter_id, kind in TeamActivation.objects.filter(
        encounter_id__in=touched_ids
    ).values_list("encounter_id", "kind"):
        kinds.setdefault(encounter_id, set()).add(kind)
    stemi = set(
        VitalsSet.objects.filter(encounter_id__in=touched_ids, ecg_stemi=True).values_list(
            "encounter_id", flat=True
        )
    )
    for encounter in touched:
        encounter.updated_at = now
        latest = max(history[encounter.pk], key=lambda v: (v.taken_at, v.pk))
        known = _Known(latest, encounter.pk in stemi, frozenset(kinds.get(encounter.pk, ())))
        _activations_evaluate(encounter, now, known)
    selectors.board_prefetch(touched)
    for encounter in touched:
        new = [vitals for _, vitals in created[encounter.pk]]
        new_ids = {vitals.pk for vitals in new}
        before = [v for v in history[encounter.pk] if v.pk not in new_ids]
        for count, (request, vitals) in enumerate(created[encounter.pk], start=1):
            # The row as the board would have read it right after this set was stored.
            sets = sorted(before + new[:count], key=lambda v: (v.taken_at, v.pk))
            _emit_encounter(encounter, selectors.board_row(encounter, sets=sets))
            _audit(
                request.user,
                encounter,
                "vitals_record",
                detail={"vitals_set": vitals.pk},
                context=request.context,
            )
        # The crew member whose newest set this is caused the delivery.
        delivery_enqueue(encounter, "A08", fhir=True, actor=created[encounter.pk][-1][0].user)
