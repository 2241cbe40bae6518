"""Validation of one pre-hospital vitals set against the vocabulary in `vocabulary.py`.

Pure Python: no Django imports, so services, serializers, WebSocket validators and the
FHIR/HL7 exporters all share one definition of what a valid vitals set is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from handoff.clinical.vocabulary import (
    ALLOWED_FIELDS,
    AVPU_CODES,
    GLUCOSE_MMOL_TO_MG_DL,
    KPA_TO_MMHG,
    MAX_CODE_LENGTH,
    MODIFIERS,
    PERCENT_TO_MMHG,
    QUALIFIERS,
    STROKE_SCALE_RANGES,
    STROKE_SCALE_TYPES,
    UNIT_ALIASES,
    VITALS,
    ClinicalInputError,
    Kind,
    VitalSpec,
    fmt,
    round_half_up,
    to_base_unit,
)

__all__ = [
    "ALLOWED_FIELDS",
    "AVPU_CODES",
    "GLUCOSE_MMOL_TO_MG_DL",
    "KPA_TO_MMHG",
    "PERCENT_TO_MMHG",
    "QUALIFIERS",
    "STROKE_SCALE_RANGES",
    "STROKE_SCALE_TYPES",
    "VITALS",
    "ClinicalInputError",
    "Flag",
    "Kind",
    "VitalSpec",
    "VitalsCheck",
    "fmt",
    "gcs_total_of",
    "round_half_up",
    "to_base_unit",
    "validate_vitals",
]


Value = int | float | str | bool
MAX_MAGNITUDE = 10**15


@dataclass(frozen=True, slots=True)
class Flag:
    """An accepted value that is clinically extreme."""

    field: str
    value: int | float
    message: str


@dataclass(frozen=True, slots=True)
class VitalsCheck:
    """The outcome of `validate_vitals`: accepted values, refusals and flags.

    `values` holds only fields that passed; a refused field is in `errors` instead, never
    silently dropped.
    """

    values: Mapping[str, Value]
    errors: Mapping[str, str]
    flags: tuple[Flag, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _number(key: str, raw: object, kind: Kind) -> tuple[int | float | None, str | None]:
    # bool is a subclass of int: True must not pass as a heart rate of 1.
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None, f"{key} must be a number, got {type(raw).__name__}"
    if isinstance(raw, float) and not math.isfinite(raw):
        return None, f"{key} must be a finite number"
    # JSON integers are unbounded; one this large cannot become a float (or even be printed
    # past 4300 digits), and no vital is anywhere near it.
    if isinstance(raw, int) and abs(raw) > MAX_MAGNITUDE:
        return None, f"{key} is far outside any plausible range"
    if kind is Kind.INTEGER:
        if isinstance(raw, float):
            if not raw.is_integer():
                return None, f"{key} must be a whole number, got {fmt(raw)}"
            return int(raw), None
        return raw, None
    return raw, None


def _range_error(spec: VitalSpec, shown: str, unit: str, value: float) -> str | None:
    low, high = spec.minimum, spec.maximum
    if low is None or high is None or low <= value <= high:
        return None
    return (
        f"{spec.key} {shown} is outside the plausible range {fmt(low)}-{fmt(high)}{_suffix(unit)}"
    )


def _suffix(unit: str) -> str:
    return f" {unit}" if unit else ""


def _normalise_unit(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    return UNIT_ALIASES.get(text, UNIT_ALIASES.get(text.lower(), text))


def validate_vitals(data: Mapping[str, object] | object) -> VitalsCheck:
    """Validate one vitals set; never raises, whatever JSON-like value it is given.

    Returns accepted values (units and codes normalised), `errors` keyed by field (or
    "__all__" when the input is not an object) and `flags` for accepted-but-extreme values.
    """
    if not isinstance(data, Mapping):
        return VitalsCheck(
            values={},
            errors={"__all__": f"vitals must be an object, got {type(data).__name__}"},
            flags=(),
        )
    values: dict[str, Value] = {}
    errors: dict[str, str] = {}
    flags: list[Flag] = []
    # JSON null means "not measured"; treat it as absent rather than as a wrong type.
    present = {str(key): raw for key, raw in data.items() if raw is not None}

    for key in present:
        if key not in ALLOWED_FIELDS:
            errors[key] = f"unknown field {key!r}"

    for key in MODIFIERS:
        if key not in present:
            continue
        raw = present[key]
        if key == "spo2_scale":
            if isinstance(raw, bool) or raw not in (1, 2):
                errors[key] = f"spo2_scale must be 1 or 2, got {raw!r}"
            else:
                values[key] = 1 if raw == 1 else 2
        elif isinstance(raw, bool):
            values[key] = raw
        else:
            errors[key] = f"{key} must be true or false, got {type(raw).__name__}"

    for key, spec in VITALS.items():
        if key in present:
            _validate_one(spec, present, values, errors, flags)
        elif spec.unit_key is not None and spec.unit_key in present:
            errors[spec.unit_key] = f"{spec.unit_key} given without {key}"

    _check_cross_fields(values, errors, flags)
    return VitalsCheck(values=values, errors=errors, flags=tuple(flags))


def _validate_one(
    spec: VitalSpec,
    present: Mapping[str, object],
    values: dict[str, Value],
    errors: dict[str, str],
    flags: list[Flag],
) -> None:
    key, raw = spec.key, present[spec.key]
    if spec.kind is Kind.CODE:
        _validate_code(spec, raw, values, errors)
        return
    number, problem = _number(key, raw, spec.kind)
    if problem is not None or number is None:
        errors[key] = problem or f"{key} must be a number"
        return
    if key == "stroke_scale_score":
        _validate_stroke_scale(number, present, values, errors)
        return

    unit = spec.display_unit
    base = float(number)
    shown = f"{fmt(number)}{_suffix(unit)}"
    if spec.unit_key is not None:
        given = _normalise_unit(present.get(spec.unit_key))
        allowed = ", ".join(spec.units)
        if spec.unit_key not in present:
            errors[key] = f"{key} needs {spec.unit_key} ({allowed})"
            return
        if given is None or given not in spec.units:
            errors[spec.unit_key] = (
                f"{spec.unit_key} {present[spec.unit_key]!r} is not allowed; use one of {allowed}"
            )
            return
        base = to_base_unit(spec, number, given)
        shown = f"{fmt(number)} {given}"
        if given != unit:
            shown += f" ({fmt(round_half_up(base, 1))} {unit})"
        values[spec.unit_key] = given

    message = _range_error(spec, shown, unit, base)
    if message is not None:
        errors[key] = message
        values.pop(spec.unit_key or "", None)
        return
    values[key] = number
    if key != "gcs_total":
        _maybe_flag(spec, key, number, base, shown, flags)


def _maybe_flag(
    spec: VitalSpec, key: str, number: float, base: float, shown: str, flags: list[Flag]
) -> None:
    unit = _suffix(spec.display_unit)
    if spec.flag_below is not None and base < spec.flag_below:
        band = f"below {fmt(spec.flag_below)}{unit}"
    elif spec.flag_above is not None and base > spec.flag_above:
        band = f"above {fmt(spec.flag_above)}{unit}"
    else:
        return
    flags.append(Flag(key, number, f"{key} {shown} is clinically extreme ({band})"))


def _validate_code(
    spec: VitalSpec, raw: object, values: dict[str, Value], errors: dict[str, str]
) -> None:
    key = spec.key
    if not isinstance(raw, str) or not raw.strip():
        errors[key] = f"{key} must be a non-empty code string"
        return
    text = raw.strip()
    if spec.codes:
        code = text.upper()
        if code not in spec.codes:
            errors[key] = f"{key} {raw!r} is not one of {'/'.join(spec.codes)}"
            return
        values[key] = code
        return
    # Rhythm codes are checked against the NEMSIS eVitals.03 list by the exporter, which owns
    # that list; here we only keep the value bounded.
    if len(text) > MAX_CODE_LENGTH:
        errors[key] = f"{key} is longer than {MAX_CODE_LENGTH} characters"
        return
    values[key] = text


def _validate_stroke_scale(
    score: float,
    present: Mapping[str, object],
    values: dict[str, Value],
    errors: dict[str, str],
) -> None:
    raw_type = present.get("stroke_scale_type")
    if raw_type is None:
        errors["stroke_scale_score"] = (
            f"stroke_scale_score needs stroke_scale_type ({', '.join(STROKE_SCALE_TYPES)})"
        )
        return
    scale = raw_type.strip().upper() if isinstance(raw_type, str) else None
    if scale is None or scale not in STROKE_SCALE_RANGES:
        errors["stroke_scale_type"] = (
            f"stroke_scale_type {raw_type!r} is not one of {', '.join(STROKE_SCALE_TYPES)}"
        )
        return
    low, high = STROKE_SCALE_RANGES[scale]
    if not low <= score <= high:
        errors["stroke_scale_score"] = (
            f"stroke_scale_score {fmt(score)} is outside the plausible range {low}-{high} "
            f"for {scale}"
        )
        return
    values["stroke_scale_score"] = score
    values["stroke_scale_type"] = scale


def gcs_total_of(values: Mapping[str, object]) -> int | None:
    """The GCS total recorded, or the sum of all three components when no total was given."""
    total = values.get("gcs_total")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    parts = [values.get(k) for k in ("gcs_eye", "gcs_verbal", "gcs_motor")]
    if all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        return sum(p for p in parts if isinstance(p, int))
    return None


def _check_cross_fields(
    values: dict[str, Value], errors: dict[str, str], flags: list[Flag]
) -> None:
    parts = {k: values.get(k) for k in ("gcs_eye", "gcs_verbal", "gcs_motor")}
    total = values.get("gcs_total")
    if total is not None and all(v is not None for v in parts.values()):
        summed = sum(int(v) for v in parts.values() if v is not None)
        if summed != total:
            errors["gcs_total"] = (
                f"gcs_total {total} disagrees with its components "
                f"E{parts['gcs_eye']} V{parts['gcs_verbal']} M{parts['gcs_motor']} = {summed}"
            )
            del values["gcs_total"]
    effective = gcs_total_of(values)
    spec = VITALS["gcs_total"]
    if effective is not None and spec.flag_below is not None and effective < spec.flag_below:
        flags.append(
            Flag(
                "gcs_total", effective, f"gcs_total {effective} is clinically extreme (8 or below)"
            )
        )

    systolic, diastolic = values.get("systolic_bp"), values.get("diastolic_bp")
    if isinstance(systolic, int) and isinstance(diastolic, int) and diastolic > systolic:
        # Almost always the two typed into each other's boxes. Refuse both: keeping the
        # systolic would feed a wrong value into NEWS2, qSOFA, shock index and triage.
        message = f"diastolic_bp {diastolic} mmHg is above systolic_bp {systolic} mmHg"
        for key in ("systolic_bp", "diastolic_bp"):
            errors[key] = message
            del values[key]
        flags[:] = [f for f in flags if f.field not in ("systolic_bp", "diastolic_bp")]
