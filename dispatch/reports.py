"""Response-time intervals per incident and the centre report against published standards.

The database is read in one selector (`response_report`); everything else works on plain
dataclasses so it can be tested with hand-made times. Definitions and the percentile method
are in docs/reports.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from django.db.models import Prefetch

from dispatch import hooks
from dispatch.models import (
    Assignment,
    AssignmentStatus,
    Determinant,
    DispatchCentre,
    Incident,
    QueuedCall,
    QueuedCallStatus,
    UnitType,
)
from dispatch.region import area_contains

# How many incidents the per-incident table lists (most recent first); statistics use all.
INCIDENT_ROWS_LIMIT = 200


# --- Input: the times of one incident ------------------------------------------------------


@dataclass(frozen=True)
class AssignmentTimes:
    """The eTimes of one unit on one incident."""

    unit_type: str
    notified_at: datetime  # eTimes.03
    en_route_at: datetime | None = None  # eTimes.05
    on_scene_at: datetime | None = None  # eTimes.06
    left_scene_at: datetime | None = None  # eTimes.09
    at_destination_at: datetime | None = None  # eTimes.11
    cleared_at: datetime | None = None  # eTimes.13
    cancelled: bool = False

    @classmethod
    def from_assignment(cls, assignment: Assignment) -> AssignmentTimes:
        return cls(
            unit_type=assignment.unit.unit_type,
            notified_at=assignment.notified_at,
            en_route_at=assignment.en_route_at,
            on_scene_at=assignment.on_scene_at,
            left_scene_at=assignment.left_scene_at,
            at_destination_at=assignment.at_destination_at,
            cleared_at=assignment.cleared_at,
            cancelled=(
                assignment.status == AssignmentStatus.CANCELLED
                or assignment.cancelled_at is not None
            ),
        )


@dataclass(frozen=True)
class IncidentTimes:
    """The call time (eTimes.01) of one incident and the times of every unit sent to it."""

    id: int
    determinant: str
    call_received_at: datetime
    assignments: tuple[AssignmentTimes, ...] = ()
    # APOT of each patient handed over (eTimes.11 -> .12, handoff's Encounter.offload_seconds).
    offloads_s: tuple[float, ...] = ()
    # Inside the centre's urban area (True), outside it (False); None when it has none.
    urban: bool | None = None

    @classmethod
    def from_incident(
        cls, incident: Incident, offloads_s: Iterable[float] = (), urban: bool | None = None
    ) -> IncidentTimes:
        """Uses the prefetched assignments (with their units) when the caller prefetched them."""
        return cls(
            id=incident.pk,
            determinant=incident.determinant,
            call_received_at=incident.call_received_at,
            assignments=tuple(
                AssignmentTimes.from_assignment(a) for a in incident.assignments.all()
            ),
            offloads_s=tuple(offloads_s),
            urban=urban,
        )


# --- Per-incident intervals ----------------------------------------------------------------


@dataclass(frozen=True)
class Intervals:
    """Seconds between eTimes of one incident; None when a time is missing."""

    call_to_dispatch_s: float | None = None  # .01 -> first .03
    dispatch_to_en_route_s: float | None = None  # .03 -> .05 of the first unit en route
    travel_s: float | None = None  # .05 -> .06 of the first unit on scene
    on_scene_s: float | None = None  # .06 -> .09 of the transporting unit, else -> .13
    transport_s: float | None = None  # .09 -> .11 of the transporting unit
    at_hospital_s: float | None = None  # .11 -> .13 of the transporting unit
    response_s: float | None = None  # .01 -> first .06
    als_travel_s: float | None = None  # .05 -> .06 of the first ALS unit on scene


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    # An end before its start is a corrected or back-entered time; counting it would make a
    # response look faster than possible and inflate compliance, so it counts as missing.
    return seconds if seconds >= 0 else None


def _first(
    assignments: Iterable[AssignmentTimes], key: Callable[[AssignmentTimes], datetime | None]
) -> AssignmentTimes | None:
    timed = [(t, a) for a in assignments if (t := key(a)) is not None]
    return min(timed, key=lambda pair: pair[0])[1] if timed else None


def _span(unit: AssignmentTimes | None, start: str, end: str) -> float | None:
    """Seconds between two eTimes of one unit; None without the unit or either time."""
    if unit is None:
        return None
    return _seconds(getattr(unit, start), getattr(unit, end))


def incident_intervals(incident: Incident | IncidentTimes) -> Intervals:
    """The intervals of one incident; cancelled assignments are ignored.

    Takes a model instance (prefetch `assignments__unit` first when calling it in a loop) or
    hand-made `IncidentTimes`.
    """
    times = (
        incident if isinstance(incident, IncidentTimes) else IncidentTimes.from_incident(incident)
    )
    active = [a for a in times.assignments if not a.cancelled]
    first_notified = _first(active, lambda a: a.notified_at)
    first_en_route = _first(active, lambda a: a.en_route_at)
    first_on_scene = _first(active, lambda a: a.on_scene_at)
    first_als_on_scene = _first(
        (a for a in active if a.unit_type == UnitType.ALS), lambda a: a.on_scene_at
    )
    # With more than one patient taken, the first unit to leave the scene stands for the
    # incident: the intervals describe the incident, not every patient (docs/reports.md).
    transporting = _first(active, lambda a: a.left_scene_at)
    if transporting is not None:
        on_scene = _span(transporting, "on_scene_at", "left_scene_at")
    else:
        on_scene = _span(first_on_scene, "on_scene_at", "cleared_at")
    first_on_scene_at = first_on_scene.on_scene_at if first_on_scene else None
    return Intervals(
        call_to_dispatch_s=_seconds(
            times.call_received_at, first_notified.notified_at if first_notified else None
        ),
        dispatch_to_en_route_s=_span(first_en_route, "notified_at", "en_route_at"),
        travel_s=_span(first_on_scene, "en_route_at", "on_scene_at"),
        on_scene_s=on_scene,
        transport_s=_span(transporting, "left_scene_at", "at_destination_at"),
        at_hospital_s=_span(transporting, "at_destination_at", "cleared_at"),
        response_s=_seconds(times.call_received_at, first_on_scene_at),
        als_travel_s=_span(first_als_on_scene, "en_route_at", "on_scene_at"),
    )


def unit_turnout_seconds(incident: IncidentTimes) -> list[float]:
    """Dispatch (.03) to en route (.05) of every unit that went, cancelled ones excluded.

    China 120 counts ambulances, not incidents: a second unit slow to leave is a miss too.
    """
    values = (
        _seconds(a.notified_at, a.en_route_at) for a in incident.assignments if not a.cancelled
    )
    return [v for v in values if v is not None]


# --- Statistics ----------------------------------------------------------------------------


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `percent`% of values at
    or below it, i.e. the ceil(percent/100 * n)-th smallest. None for no values."""
    if not values:
        return None
    if not 0 < percent <= 100:
        raise ValueError("percent must be in 1..100")
    ordered = sorted(values)
    # Integer arithmetic: 0.9 * n in floating point can land just above a whole number.
    rank = -(-percent * len(ordered) // 100)
    return ordered[rank - 1]


def format_m_ss(seconds: float | None) -> str:
    """Seconds as m:ss (minutes may pass 59), rounded half up; an em dash when missing."""
    if seconds is None:
        return "\u2014"
    whole = int(seconds + 0.5)
    return f"{whole // 60}:{whole % 60:02d}"


@dataclass(frozen=True)
class IntervalStats:
    key: str
    label: str
    span: str
    n: int
    mean_s: float | None
    median_s: float | None
    p90_s: float | None
    note: str = ""
    codes: str = ""  # the NEMSIS eTimes span, for exports only

    @property
    def mean(self) -> str:
        return format_m_ss(self.mean_s)

    @property
    def median(self) -> str:
        return format_m_ss(self.median_s)

    @property
    def p90(self) -> str:
        return format_m_ss(self.p90_s)


def interval_stats(
    key: str, label: str, span: str, values: Sequence[float], note: str = "", *, codes: str = ""
) -> IntervalStats:
    return IntervalStats(
        key=key,
        label=label,
        span=span,
        n=len(values),
        mean_s=sum(values) / len(values) if values else None,
        median_s=nearest_rank(values, 50),
        p90_s=nearest_rank(values, 90),
        note=note,
        codes=codes,
    )


@dataclass(frozen=True)
class Compliance:
    """One standard: what it asks, what the period achieved, whether that meets it."""

    standard: str
    measure: str
    target: str
    achieved: str
    met: bool | None  # None when there is nothing to judge (n = 0)
    n: int
    note: str = ""


def share_within(
    standard: str, measure: str, values: Sequence[float], limit_s: int, target_percent: int
) -> Compliance:
    """The share of values at or under `limit_s` (exactly at the limit is within), against
    `target_percent`."""
    n = len(values)
    within = sum(1 for v in values if v <= limit_s)
    target = f"\u2264 {format_m_ss(limit_s)} for \u2265 {target_percent}%"
    if n == 0:
        return Compliance(standard, measure, target, "no data", None, 0)
    # Compared in integers so that exactly the target share (9 of 10) is met.
    met = within * 100 >= target_percent * n
    return Compliance(standard, measure, target, share_text(within, n), met, n)


def share_text(hits: int, n: int) -> str:
    """A share as the report shows it ("66.7% (2/3)"), or "no data" with nothing to count."""
    return f"{100 * hits / n:.1f}% ({hits}/{n})" if n else "no data"


def at_most(standard: str, measure: str, value_s: float | None, limit_s: int, n: int) -> Compliance:
    target = f"\u2264 {format_m_ss(limit_s)}"
    if value_s is None:
        return Compliance(standard, measure, target, "no data", None, 0)
    return Compliance(standard, measure, target, format_m_ss(value_s), value_s <= limit_s, n)


# --- The report ----------------------------------------------------------------------------

# (key, label, span as people read it, NEMSIS eTimes span). The report screen shows only the
# words: standards codes mean nothing to a dispatcher and belong in exports (`codes`).
INTERVALS: list[tuple[str, str, str, str]] = [
    (
        "call_to_dispatch_s",
        "Call to dispatch",
        "call received \u2192 first unit alerted",
        "eTimes.01 \u2192 first .03",
    ),
    (
        "dispatch_to_en_route_s",
        "Dispatch to en route",
        "unit alerted \u2192 en route, first unit en route",
        ".03 \u2192 .05, first unit en route",
    ),
    (
        "travel_s",
        "En route to on scene (travel)",
        "en route \u2192 on scene, first unit on scene",
        ".05 \u2192 .06, first unit on scene",
    ),
    (
        "on_scene_s",
        "On scene",
        "on scene \u2192 left scene of the transporting unit, else \u2192 back in service",
        ".06 \u2192 .09 of the transporting unit, else \u2192 .13",
    ),
    ("transport_s", "Transport", "left scene \u2192 at hospital", ".09 \u2192 .11"),
    ("at_hospital_s", "At hospital", "at hospital \u2192 back in service", ".11 \u2192 .13"),
    (
        "response_s",
        "Response (call to first on scene)",
        "call received \u2192 first unit on scene",
        ".01 \u2192 first .06",
    ),
    (
        "als_travel_s",
        "ALS travel",
        "en route \u2192 on scene, first ALS unit on scene",
        ".05 \u2192 .06, first ALS unit on scene",
    ),
]

APOT_NOTE = "arrival at the ED to transfer of care confirmed by crew and ED, one value per patient"
# California EMSA: 90% of offloads within 30 minutes is read as a 90th percentile <= 30 min.
APOT_LIMIT_S = 30 * 60

# NHS England Ambulance Response Programme category 1 is a call-taker classification; MPDS
# Echo is the closest determinant we hold, so Echo incidents stand in for category 1.
CATEGORY_1_DETERMINANTS = frozenset({Determinant.ECHO})


@dataclass(frozen=True)
class IncidentRow:
    id: int
    determinant: str
    call_received_at: datetime
    intervals: Intervals

    @property
    def formatted(self) -> list[str]:
        return [format_m_ss(getattr(self.intervals, key)) for key, *_ in INTERVALS]


@dataclass(frozen=True)
class PathwayTimes:
    label: str
    n: int
    median_s: float | None

    @property
    def median(self) -> str:
        return format_m_ss(self.median_s)


@dataclass(frozen=True)
class OutcomeSummary:
    """The hospitals' outcomes back to EMS (issue 19): how many patients brought to an ED
    have one, and the door-to-treatment times of the time-critical pathways. No target is
    checked: ../shared/REFERENCE.md lists none for them."""

    handed_over: int
    with_outcome: int
    pathways: list[PathwayTimes]

    @property
    def share(self) -> str:
        if not self.handed_over:
            return "\u2014"
        return f"{100 * self.with_outcome / self.handed_over:.0f}%"


PATHWAY_LABELS = (("stemi", "STEMI door-to-balloon"), ("stroke", "Stroke door-to-needle"))


def outcome_summary(raw: dict[str, Any]) -> OutcomeSummary:
    """The report's outcome section from handoff's aggregate (dispatch.hooks `outcomes`)."""
    pathways = []
    for key, label in PATHWAY_LABELS:
        values = raw["door_to_treatment_s"].get(key, [])
        pathways.append(PathwayTimes(label, len(values), nearest_rank(values, 50)))
    return OutcomeSummary(raw["handed_over"], raw["with_outcome"], pathways)


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    incident_count: int
    intervals: list[IntervalStats]
    compliance: list[Compliance]
    incidents: list[IncidentRow] = field(default_factory=list)
    outcomes: OutcomeSummary | None = None

    @property
    def interval_labels(self) -> list[str]:
        return [label for _, label, *_ in INTERVALS]


# China 120: an emergency call is answered within 10 s, for 95% of calls.
CALL_ANSWER_LIMIT_S = 10
CALL_ANSWER_NOTE = (
    "from the first ring (the telephony queue) to a call-taker's answer; a call that rang and "
    "was never answered is a miss; calls typed in without the queue have no ring time"
)
AREA_SPLIT_NOTE = "the centre has no urban area set (administration: dispatch centre)"
SATISFACTION_NOTE = "incidents with at least one unit alerted, of all incidents of the period"


def call_answer_seconds(
    calls: Iterable[tuple[datetime, datetime | None]],
) -> list[float]:
    """Ring-to-answer seconds of ended queued calls, given as (rang, answered); a call never
    answered (the caller hung up) counts as infinitely late."""
    return [
        math.inf if answered is None else max(0.0, (answered - rang).total_seconds())
        for rang, answered in calls
    ]


def share_of(standard: str, measure: str, hits: int, n: int, note: str) -> Compliance:
    """A share reported with no target to judge it by (none is set for this measure)."""
    return Compliance(standard, measure, "no target set", share_text(hits, n), None, n, note)


def build_report(
    incidents: Sequence[IncidentTimes],
    *,
    since: datetime,
    until: datetime,
    call_answers_s: Sequence[float] = (),
) -> Report:
    """The report over `incidents` (already chosen for the period), computed without the DB.

    `call_answers_s`: ring-to-answer seconds of the period's queued calls
    (`call_answer_seconds`)."""
    computed = [(i, incident_intervals(i)) for i in incidents]
    columns: dict[str, list[float]] = {f.name: [] for f in fields(Intervals)}
    for _, intervals in computed:
        for name, values in columns.items():
            value = getattr(intervals, name)
            if value is not None:
                values.append(value)
    stats = [
        interval_stats(key, label, span, columns[key], codes=codes)
        for key, label, span, codes in INTERVALS
    ]
    offloads = [v for i in incidents for v in i.offloads_s]
    apot = interval_stats(
        "apot_s",
        "Offload (APOT)",
        "at hospital \u2192 transfer of care",
        offloads,
        APOT_NOTE,
        codes=".11 \u2192 .12",
    )
    stats.append(apot)

    for urban, key, label, where in (
        (True, "response_urban_s", "Response, urban area", "inside"),
        (False, "response_rural_s", "Response, rural area", "outside"),
    ):
        stats.append(
            interval_stats(
                key,
                label,
                f"call received \u2192 first unit on scene, {where} the centre's urban area",
                [
                    iv.response_s
                    for i, iv in computed
                    if i.urban is urban and iv.response_s is not None
                ],
                "" if any(i.urban is not None for i in incidents) else AREA_SPLIT_NOTE,
                codes=".01 \u2192 first .06",
            )
        )

    category_1 = [
        iv.response_s
        for i, iv in computed
        if i.determinant in CATEGORY_1_DETERMINANTS and iv.response_s is not None
    ]
    cat1 = interval_stats("cat1", "", "", category_1)
    turnouts = [s for i in incidents for s in unit_turnout_seconds(i)]
    compliance = [
        share_within(
            "NFPA 1225",
            "Call processing (call received \u2192 first unit alerted)",
            columns["call_to_dispatch_s"],
            60,
            90,
        ),
        share_within(
            "NFPA 1710",
            "First-unit travel (en route \u2192 on scene)",
            columns["travel_s"],
            240,
            90,
        ),
        share_within(
            "NFPA 1710",
            "First ALS unit travel (en route \u2192 on scene)",
            columns["als_travel_s"],
            480,
            90,
        ),
        at_most("NHS England", "Category 1 (Echo) response, mean", cat1.mean_s, 7 * 60, cat1.n),
        at_most(
            "NHS England", "Category 1 (Echo) response, 90th centile", cat1.p90_s, 15 * 60, cat1.n
        ),
        replace(
            share_within(
                "China 120",
                "Call answered (first ring \u2192 answered)",
                call_answers_s,
                CALL_ANSWER_LIMIT_S,
                95,
            ),
            note=CALL_ANSWER_NOTE,
        ),
        share_within(
            "China 120", "Ambulance leaves (alerted \u2192 en route), per unit", turnouts, 180, 95
        ),
        share_of(
            "China 120",
            "Call satisfaction (calls that got a unit)",
            sum(1 for i in incidents if i.assignments),
            len(incidents),
            SATISFACTION_NOTE,
        ),
        at_most(
            "California EMSA",
            "Ambulance patient offload (APOT), 90th percentile",
            apot.p90_s,
            APOT_LIMIT_S,
            apot.n,
        ),
    ]
    ordered = sorted(
        computed, key=lambda pair: (pair[0].call_received_at, pair[0].id), reverse=True
    )
    rows = [
        IncidentRow(i.id, i.determinant, i.call_received_at, iv)
        for i, iv in ordered[:INCIDENT_ROWS_LIMIT]
    ]
    return Report(since, until, len(computed), stats, compliance, rows)


def response_report(*, centre_id: int, since: datetime, until: datetime) -> Report:
    """The response report of one centre for incidents whose call came in [since, until).

    `since` and `until` must be timezone-aware.
    """
    assignments = Assignment.objects.select_related("unit").only(
        "incident_id",
        "status",
        "notified_at",
        "en_route_at",
        "on_scene_at",
        "left_scene_at",
        "at_destination_at",
        "cleared_at",
        "cancelled_at",
        "unit__unit_type",
    )
    incidents = (
        Incident.objects.filter(
            centre_id=centre_id, call_received_at__gte=since, call_received_at__lt=until
        )
        .only("id", "determinant", "call_received_at", "lat", "lon")
        .order_by()
        .prefetch_related(Prefetch("assignments", queryset=assignments))
    )
    # The offload times are handoff's records (dispatch.hooks).
    offloads = hooks.provided().offloads(centre_id, since, until)
    urban_area = (
        DispatchCentre.objects.filter(pk=centre_id).values_list("urban_area", flat=True).first()
    )
    times = [
        IncidentTimes.from_incident(
            incident,
            offloads.get(incident.pk, ()),
            urban=area_contains(urban_area, incident.lat, incident.lon) if urban_area else None,
        )
        for incident in incidents
    ]
    rang = QueuedCall.objects.filter(
        centre_id=centre_id,
        received_at__gte=since,
        received_at__lt=until,
        status__in=[QueuedCallStatus.ANSWERED, QueuedCallStatus.ABANDONED],
    ).values_list("received_at", "answered_at")
    report = build_report(times, since=since, until=until, call_answers_s=call_answer_seconds(rang))
    outcomes = hooks.provided().outcomes
    if outcomes is None:
        return report
    return replace(report, outcomes=outcome_summary(outcomes(centre_id, since, until)))
