"""Bedside scores as pure functions: NEWS2, GCS, shock index, qSOFA, stroke screens, trends.

Inputs are plain values or a mapping of vitals keyed as in `vitals.VITALS` (the cleaned
`VitalsCheck.values` fits). Every result is a frozen dataclass. A value of None, or a key
that is absent, means "not measured"; a value of the wrong type raises
`ClinicalInputError` naming the field, because a score silently computed from garbage is
worse than no score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

from handoff.clinical.vitals import (
    VITALS,
    ClinicalInputError,
    gcs_total_of,
    round_half_up,
    to_base_unit,
)

Risk = Literal["low", "low-medium", "medium", "high"]
RISK_ORDER: Final[Mapping[str, int]] = {"low": 0, "low-medium": 1, "medium": 2, "high": 3}

# NEWS2 parameters in chart order, named by the input field a crew would fill in;
# "consciousness" is read from `avpu` and `new_confusion`.
NEWS2_PARAMETERS: Final = (
    "respiratory_rate",
    "spo2",
    "on_oxygen",
    "systolic_bp",
    "heart_rate",
    "consciousness",
    "temperature",
)

# Clinical response wording per RCP NEWS2 (2017) chart 2, as abridged in REFERENCE.md.
NEWS2_RESPONSES: Final[Mapping[str, str]] = {
    "low": "ward-based response",
    "low-medium": "urgent review",
    "medium": "urgent response",
    "high": "emergency response",
}


@dataclass(frozen=True, slots=True)
class News2Result:
    """A NEWS2 score; when `complete` is False the total is a lower bound.

    `missing` lists the parameters with no input. `unscored` lists parameters that were
    given but could not be scored without a missing one (SpO2 >= 93 on scale 2 needs to
    know air or oxygen).
    """

    total: int
    components: Mapping[str, int]
    missing: tuple[str, ...]
    unscored: tuple[str, ...]
    complete: bool
    any_single_3: bool
    risk: Risk
    response: str
    spo2_scale: int


@dataclass(frozen=True, slots=True)
class ShockIndex:
    """HR / SBP rounded to 2 dp; `value` is None with a `reason` when not computable."""

    value: float | None
    red_flag: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class QSofa:
    """qSOFA (Sepsis-3): `criteria` met and `missing` inputs, by name."""

    score: int
    positive: bool
    criteria: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BeFast:
    """BE-FAST stroke screen: positive when any item is abnormal."""

    positive: bool
    findings: tuple[str, ...]
    not_assessed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """How a NEWS2 total moved between two vitals sets."""

    previous_total: int | None
    current_total: int
    delta: int | None
    direction: Literal["first", "up", "down", "same"]
    risk_escalated: bool
    # False when the two scores were computed from different parameters, so a change may
    # only reflect a parameter that was recorded this time and not last time.
    comparable: bool


def _number(values: Mapping[str, object], key: str) -> float | None:
    raw = values.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ClinicalInputError(f"{key} must be a number, got {type(raw).__name__}", field=key)
    try:
        value = float(raw)
    except OverflowError:  # an unbounded JSON integer
        value = math.inf
    if not math.isfinite(value):
        raise ClinicalInputError(f"{key} must be a finite number", field=key)
    return value


def _flag(values: Mapping[str, object], key: str) -> bool | None:
    raw = values.get(key)
    if raw is None or isinstance(raw, bool):
        return raw
    raise ClinicalInputError(f"{key} must be true or false, got {type(raw).__name__}", field=key)


def _whole(value: float) -> float:
    # The NEWS2 chart bands whole numbers (RR, SpO2, SBP, pulse) and tenths of a degree;
    # a decimal input is rounded half-up to the chart's resolution first, so 90.5 bpm
    # scores as 91, and float noise from unit conversion cannot fall into a gap.
    return round_half_up(value, 0)


# Each band table below is (inclusive upper edge, points), read top to bottom; the last
# row catches everything above. Edges are the RCP NEWS2 chart's (2017), via REFERENCE.md.
_RR_BANDS: Final = ((8, 3), (11, 1), (20, 0), (24, 2), (math.inf, 3))
_SPO2_SCALE1_BANDS: Final = ((91, 3), (93, 2), (95, 1), (math.inf, 0))
_SBP_BANDS: Final = ((90, 3), (100, 2), (110, 1), (219, 0), (math.inf, 3))
_PULSE_BANDS: Final = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (math.inf, 3))
_TEMP_BANDS: Final = ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (math.inf, 2))
# Scale 2 below 93 %, the same on air or oxygen: <=83 -> 3, 84-85 -> 2, 86-87 -> 1, 88-92 -> 0.
_SPO2_SCALE2_LOW_BANDS: Final = ((83, 3), (85, 2), (87, 1), (92, 0))
# Scale 2 at 93 % and above on oxygen: 93-94 -> 1, 95-96 -> 2, >=97 -> 3. On air it is 0:
# the chart penalises over-oxygenation of a CO2 retainer, not a good saturation on air.
_SPO2_SCALE2_OXYGEN_BANDS: Final = ((94, 1), (96, 2), (math.inf, 3))


def _band(value: float, bands: tuple[tuple[float, int], ...]) -> int:
    for upper, points in bands:
        if value <= upper:
            return points
    raise AssertionError("band tables end with math.inf")  # pragma: no cover


def _spo2_scale_2(spo2: float, on_oxygen: bool | None) -> int | None:
    if spo2 <= 92:
        return _band(spo2, _SPO2_SCALE2_LOW_BANDS)
    if on_oxygen is None:
        return None
    return _band(spo2, _SPO2_SCALE2_OXYGEN_BANDS) if on_oxygen else 0


def _consciousness(values: Mapping[str, object]) -> int | None:
    raw = values.get("avpu")
    avpu: str | None = None
    if raw is not None:
        if not isinstance(raw, str) or raw.strip().upper() not in ("A", "V", "P", "U"):
            raise ClinicalInputError(f"avpu must be one of A/V/P/U, got {raw!r}", field="avpu")
        avpu = raw.strip().upper()
    new_confusion = _flag(values, "new_confusion")
    # RCP NEWS2 (ACVPU): new confusion, V, P or U all score 3; only "alert" scores 0.
    if new_confusion or avpu in ("V", "P", "U"):
        return 3
    if avpu == "A":
        return 0
    # No AVPU and no new confusion recorded: the level of consciousness is unknown. GCS is
    # deliberately not mapped to AVPU; the chart does not define that mapping.
    return None


def news2_risk(total: int, *, any_single_3: bool = False) -> Risk:
    """The NEWS2 clinical risk band for an aggregate score."""
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    if any_single_3:
        return "low-medium"
    return "low"


def news2(vitals: Mapping[str, object], spo2_scale: int | None = None) -> News2Result:
    """NEWS2 from one vitals set, per the RCP 2017 chart; absent parameters are listed.

    `spo2_scale` overrides `vitals["spo2_scale"]`; both default to scale 1. Scale 2 is a
    clinical decision (confirmed hypercapnic respiratory failure), never inferred here.
    """
    scale = spo2_scale if spo2_scale is not None else vitals.get("spo2_scale", 1)
    if isinstance(scale, bool) or scale not in (1, 2):
        raise ClinicalInputError(f"spo2_scale must be 1 or 2, got {scale!r}", field="spo2_scale")
    scale_number = 1 if scale == 1 else 2

    components: dict[str, int] = {}
    missing: list[str] = []
    unscored: list[str] = []
    on_oxygen = _flag(vitals, "on_oxygen")

    for key, bands in (
        ("respiratory_rate", _RR_BANDS),
        ("systolic_bp", _SBP_BANDS),
        ("heart_rate", _PULSE_BANDS),
    ):
        value = _number(vitals, key)
        if value is not None:
            components[key] = _band(_whole(value), bands)

    spo2 = _number(vitals, "spo2")
    if spo2 is not None:
        points = (
            _band(_whole(spo2), _SPO2_SCALE1_BANDS)
            if scale_number == 1
            else _spo2_scale_2(_whole(spo2), on_oxygen)
        )
        if points is None:
            unscored.append("spo2")
        else:
            components["spo2"] = points

    if on_oxygen is not None:
        components["on_oxygen"] = 2 if on_oxygen else 0

    consciousness = _consciousness(vitals)
    if consciousness is not None:
        components["consciousness"] = consciousness

    temperature = _number(vitals, "temperature")
    if temperature is not None:
        # 35.05 °C rounds to 35.1 (1 point), 35.04 to 35.0 (3 points): see docs/clinical.md.
        components["temperature"] = _band(round_half_up(temperature, 1), _TEMP_BANDS)

    for key in NEWS2_PARAMETERS:
        if key not in components and key not in unscored:
            missing.append(key)

    ordered: dict[str, int] = {
        key: components[key] for key in NEWS2_PARAMETERS if key in components
    }
    total = sum(ordered.values())
    any_single_3 = any(points == 3 for points in ordered.values())
    risk = news2_risk(total, any_single_3=any_single_3)
    return News2Result(
        total=total,
        components=ordered,
        missing=tuple(missing),
        unscored=tuple(unscored),
        complete=not missing and not unscored,
        any_single_3=any_single_3,
        risk=risk,
        response=NEWS2_RESPONSES[risk],
        spo2_scale=scale_number,
    )


def score_change(previous: News2Result | int | None, current: News2Result | int) -> ScoreChange:
    """Compare two NEWS2 scores (results or bare totals); `previous` None is the first set."""
    current_total = current.total if isinstance(current, News2Result) else current
    current_risk = _risk_of(current)
    if previous is None:
        return ScoreChange(None, current_total, None, "first", False, True)
    previous_total = previous.total if isinstance(previous, News2Result) else previous
    delta = current_total - previous_total
    direction: Literal["up", "down", "same"] = (
        "up" if delta > 0 else "down" if delta < 0 else "same"
    )
    comparable = not (
        isinstance(previous, News2Result)
        and isinstance(current, News2Result)
        and (previous.missing, previous.unscored) != (current.missing, current.unscored)
    )
    return ScoreChange(
        previous_total=previous_total,
        current_total=current_total,
        delta=delta,
        direction=direction,
        risk_escalated=RISK_ORDER[current_risk] > RISK_ORDER[_risk_of(previous)],
        comparable=comparable,
    )


def _risk_of(score: News2Result | int) -> Risk:
    return score.risk if isinstance(score, News2Result) else news2_risk(score)


def _whole_in_range(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClinicalInputError(f"{name} must be a whole number, got {value!r}", field=name)
    if not low <= value <= high:
        raise ClinicalInputError(f"{name} {value} is outside {low}-{high}", field=name)
    return value


def gcs(eye: int, verbal: int, motor: int) -> int:
    """Glasgow Coma Scale total E + V + M (3-15); components are range-checked."""
    return (
        _whole_in_range(eye, "gcs_eye", 1, 4)
        + _whole_in_range(verbal, "gcs_verbal", 1, 5)
        + _whole_in_range(motor, "gcs_motor", 1, 6)
    )


def shock_index(heart_rate: float | None, systolic_bp: float | None) -> ShockIndex:
    """Shock index HR / SBP, rounded half-up to 2 dp; >= 1.0 (after rounding) is a red flag.

    The flag is judged on the rounded value so the number shown and the flag never
    disagree (HR 199 / SBP 200 shows 1.00 and is flagged).
    """
    hr = _number({"heart_rate": heart_rate}, "heart_rate")
    sbp = _number({"systolic_bp": systolic_bp}, "systolic_bp")
    for name, value in (("heart_rate", hr), ("systolic_bp", sbp)):
        if value is not None and value < 0:
            raise ClinicalInputError(f"{name} cannot be negative", field=name)
    if hr is None:
        return ShockIndex(None, False, "heart_rate missing")
    if sbp is None:
        return ShockIndex(None, False, "systolic_bp missing")
    if sbp == 0:
        return ShockIndex(None, False, "systolic_bp is 0: shock index is not computable")
    ratio = Decimal(repr(hr)) / Decimal(repr(sbp))
    value = float(ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return ShockIndex(value, value >= 1.0)


def qsofa(
    respiratory_rate: float | None,
    systolic_bp: float | None,
    *,
    gcs: int | None = None,
    altered_mentation: bool | None = None,
) -> QSofa:
    """qSOFA: RR >= 22, altered mentation (GCS < 15), SBP <= 100; >= 2 is positive.

    Mentation counts as altered when GCS < 15 or `altered_mentation` is True; it is missing
    only when neither is given. A score of 2 from incomplete inputs is still positive.
    """
    values: dict[str, object] = {
        "respiratory_rate": respiratory_rate,
        "systolic_bp": systolic_bp,
        "gcs_total": gcs,
        "altered_mentation": altered_mentation,
    }
    criteria: list[str] = []
    missing: list[str] = []
    rr = _number(values, "respiratory_rate")
    if rr is None:
        missing.append("respiratory_rate")
    elif _whole(rr) >= 22:
        criteria.append("respiratory_rate")

    gcs_value = _number(values, "gcs_total")
    altered = _flag(values, "altered_mentation")
    if gcs_value is None and altered is None:
        missing.append("altered_mentation")
    elif altered or (gcs_value is not None and gcs_value < 15):
        criteria.append("altered_mentation")

    sbp = _number(values, "systolic_bp")
    if sbp is None:
        missing.append("systolic_bp")
    elif _whole(sbp) <= 100:
        criteria.append("systolic_bp")
    return QSofa(len(criteria), len(criteria) >= 2, tuple(criteria), tuple(missing))


BEFAST_ITEMS: Final = ("balance", "eyes", "face", "arm", "speech")


def befast(
    *,
    balance: bool | None,
    eyes: bool | None,
    face: bool | None,
    arm: bool | None,
    speech: bool | None,
) -> BeFast:
    """BE-FAST: True means the item is abnormal, None that it was not assessed."""
    given = {"balance": balance, "eyes": eyes, "face": face, "arm": arm, "speech": speech}
    items = {name: _flag(given, name) for name in BEFAST_ITEMS}
    findings = tuple(name for name, abnormal in items.items() if abnormal)
    not_assessed = tuple(name for name, abnormal in items.items() if abnormal is None)
    return BeFast(bool(findings), findings, not_assessed)


def race_lvo(score: int) -> bool:
    """RACE 0-9: >= 5 suggests large-vessel occlusion (thrombectomy-capable centre)."""
    return _whole_in_range(score, "race_score", 0, 9) >= 5


def lams_lvo(score: int) -> bool:
    """LAMS 0-5: >= 4 suggests large-vessel occlusion."""
    return _whole_in_range(score, "lams_score", 0, 5) >= 4


TREND_PARAMETERS: Final = (
    "heart_rate",
    "respiratory_rate",
    "systolic_bp",
    "diastolic_bp",
    "spo2",
    "temperature",
    "gcs_total",
    "blood_glucose",
    "etco2",
    "pain_score",
    "stroke_scale_score",
)


def _trend_value(values: Mapping[str, object], key: str) -> float | None:
    if key == "gcs_total":
        total = gcs_total_of(values)
        return None if total is None else float(total)
    return _number(values, key)


def vitals_trend(
    previous: Mapping[str, object], current: Mapping[str, object]
) -> dict[str, int | float]:
    """Change since the previous set, for each trended parameter present in both.

    Glucose and EtCO2 deltas are in the current reading's unit (the previous one is
    converted); a stroke scale score is trended only against the same scale type. GCS uses
    the recorded total or, failing that, the sum of all three components.
    """
    deltas: dict[str, int | float] = {}
    for key in TREND_PARAMETERS:
        before, after = _trend_value(previous, key), _trend_value(current, key)
        if before is None or after is None:
            continue
        spec = VITALS.get(key)
        if key == "stroke_scale_score":
            if previous.get("stroke_scale_type") != current.get("stroke_scale_type"):
                continue
        elif spec is not None and spec.units and spec.unit_key is not None:
            unit_before = previous.get(spec.unit_key)
            unit_after = current.get(spec.unit_key)
            if not (
                isinstance(unit_before, str)
                and isinstance(unit_after, str)
                and unit_before in spec.units
                and unit_after in spec.units
            ):
                continue
            if unit_before != unit_after:
                before = to_base_unit(spec, before, unit_before) / spec.units[unit_after]
        difference = Decimal(repr(after)) - Decimal(repr(before))
        if difference == difference.to_integral_value():
            deltas[key] = int(difference)
        else:
            deltas[key] = round_half_up(float(difference), 2)
    return deltas
