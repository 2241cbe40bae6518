"""The pre-hospital vitals vocabulary (REFERENCE.md) as data, and validation of one vitals set.

Pure Python: no Django imports, so services, serializers, WebSocket validators and the
FHIR/HL7 exporters can all share one definition of what a valid vitals set is.

Plausible ranges, NEMSIS elements, LOINC codes and UCUM units come from REFERENCE.md. The
"clinically extreme" bands are this project's choice (see docs/clinical.md): a value in
them is accepted, because the patient in front of the crew may really be that sick, but is
flagged so the ED board and the paramedic see it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final


class ClinicalInputError(ValueError):
    """A score function was given a value it cannot use; `field` names the input."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class Kind(StrEnum):
    INTEGER = "integer"  # NEMSIS carries these as whole numbers
    DECIMAL = "decimal"
    CODE = "code"


@dataclass(frozen=True, slots=True)
class VitalSpec:
    """One vital sign: its codes, unit, accepted range and the band we flag as extreme.

    `flag_below` / `flag_above` are strict: a value flags when `value < flag_below` or
    `value > flag_above`. For unit-bearing vitals (glucose, EtCO2) the range and the
    flag band are in `display_unit` and input in another unit is converted first.
    """

    key: str
    label: str
    nemsis: str
    loinc: str
    ucum: str
    display_unit: str
    kind: Kind
    minimum: float | None = None
    maximum: float | None = None
    flag_below: float | None = None
    flag_above: float | None = None
    flag_reason: str = ""
    codes: tuple[str, ...] = ()
    units: Mapping[str, float] = field(default_factory=dict)
    unit_key: str | None = None


# 1 mmol/L of glucose (molar mass 180.16 g/mol) is 18.016 mg/dL. We convert with 18.0, the
# factor on most glucometer and ADA conversion tables: the 0.09% difference is far below
# meter accuracy and keeps round numbers round (3.0 mmol/L -> 54 mg/dL, the ADA level-2
# hypoglycaemia threshold).
GLUCOSE_MMOL_TO_MG_DL: Final = 18.0
# EtCO2: 1 kPa = 7.50062 mmHg. A percentage is a fraction of barometric pressure; we assume
# sea level (760 mmHg), so 1 % = 7.6 mmHg. Capnographs that report % are rare in EMS and the
# error at altitude (a few mmHg) does not move a value across the plausible range.
KPA_TO_MMHG: Final = 7.50062
PERCENT_TO_MMHG: Final = 7.6

AVPU_CODES: Final = ("A", "V", "P", "U")
STROKE_SCALE_TYPES: Final = ("BE-FAST", "RACE", "LAMS", "CPSS", "FAST-ED", "VAN")
# Score ranges per stroke scale. RACE 0-9 and LAMS 0-5 are from REFERENCE.md; the others are
# the published scales' ranges: BE-FAST and CPSS as the count of abnormal items (5 and 3
# items), FAST-ED 0-9, VAN recorded as 0 (negative) or 1 (positive), since VAN has no sum.
STROKE_SCALE_RANGES: Final[Mapping[str, tuple[int, int]]] = {
    "BE-FAST": (0, 5),
    "RACE": (0, 9),
    "LAMS": (0, 5),
    "CPSS": (0, 3),
    "FAST-ED": (0, 9),
    "VAN": (0, 1),
}

VITALS: Final[Mapping[str, VitalSpec]] = {
    spec.key: spec
    for spec in (
        VitalSpec(
            key="heart_rate",
            label="heart rate",
            nemsis="eVitals.10",
            loinc="8867-4",
            ucum="/min",
            display_unit="/min",
            kind=Kind.INTEGER,
            minimum=0,
            maximum=300,
            flag_below=40,
            flag_above=150,
            flag_reason="bradycardia below 40 or tachycardia above 150 /min",
        ),
        VitalSpec(
            key="respiratory_rate",
            label="respiratory rate",
            nemsis="eVitals.14",
            loinc="9279-1",
            ucum="/min",
            display_unit="/min",
            kind=Kind.INTEGER,
            minimum=0,
            maximum=100,
            flag_below=8,
            flag_above=35,
            flag_reason="respiratory rate below 8 or above 35 /min",
        ),
        VitalSpec(
            key="systolic_bp",
            label="systolic blood pressure",
            nemsis="eVitals.06",
            loinc="8480-6",
            ucum="mm[Hg]",
            display_unit="mmHg",
            kind=Kind.INTEGER,
            minimum=0,
            maximum=350,
            flag_below=80,
            flag_above=220,
            flag_reason="systolic pressure below 80 or above 220 mmHg",
        ),
        VitalSpec(
            key="diastolic_bp",
            label="diastolic blood pressure",
            nemsis="eVitals.07",
            loinc="8462-4",
            ucum="mm[Hg]",
            display_unit="mmHg",
            kind=Kind.INTEGER,
            minimum=0,
            maximum=250,
            flag_above=120,
            flag_reason="diastolic pressure above 120 mmHg (hypertensive crisis)",
        ),
        VitalSpec(
            key="spo2",
            label="oxygen saturation",
            nemsis="eVitals.12",
            loinc="2708-6",
            ucum="%",
            display_unit="%",
            kind=Kind.INTEGER,
            minimum=0,
            maximum=100,
            flag_below=85,
            flag_reason="oxygen saturation below 85 %",
        ),
        VitalSpec(
            key="temperature",
            label="temperature",
            nemsis="eVitals.24",
            loinc="8310-5",
            ucum="Cel",
            display_unit="°C",
            kind=Kind.DECIMAL,
            minimum=20,
            maximum=45,
            flag_below=35,
            flag_above=40,
            flag_reason="temperature below 35 or above 40 °C",
        ),
        VitalSpec(
            key="gcs_eye",
            label="GCS eye",
            nemsis="eVitals.19",
            loinc="9267-6",
            ucum="{score}",
            display_unit="",
            kind=Kind.INTEGER,
            minimum=1,
            maximum=4,
        ),
        VitalSpec(
            key="gcs_verbal",
            label="GCS verbal",
            nemsis="eVitals.20",
            loinc="9270-0",
            ucum="{score}",
            display_unit="",
            kind=Kind.INTEGER,
            minimum=1,
            maximum=5,
        ),
        VitalSpec(
            key="gcs_motor",
            label="GCS motor",
            nemsis="eVitals.21",
            loinc="9268-4",
            ucum="{score}",
            display_unit="",
            kind=Kind.INTEGER,
            minimum=1,
            maximum=6,
        ),
        VitalSpec(
            key="gcs_total",
            label="GCS total",
            nemsis="eVitals.23",
            loinc="9269-2",
            ucum="{score}",
            display_unit="",
            kind=Kind.INTEGER,
            minimum=3,
            maximum=15,
            # GCS <= 8: the airway may not be protected ("eight, intubate").
            flag_below=9,
            flag_reason="GCS 8 or below",
        ),
        VitalSpec(
            key="blood_glucose",
            label="blood glucose",
            nemsis="eVitals.18",
            loinc="2339-0",
            ucum="mg/dL",
            display_unit="mg/dL",
            kind=Kind.DECIMAL,
            minimum=0,
            maximum=2000,
            # 54 mg/dL (3.0 mmol/L) is ADA level-2 (clinically significant) hypoglycaemia;
            # above 400 mg/dL many meters stop reading and DKA/HHS must be considered.
            flag_below=54,
            flag_above=400,
            flag_reason="blood glucose below 54 or above 400 mg/dL",
            units={"mg/dL": 1.0, "mmol/L": GLUCOSE_MMOL_TO_MG_DL},
            unit_key="blood_glucose_unit",
        ),
        VitalSpec(
            key="pain_score",
            label="pain score",
            nemsis="eVitals.27",
            loinc="72514-3",
            ucum="{score}",
            display_unit="",
            kind=Kind.INTEGER,
            minimum=0,
            maximum=10,
        ),
        VitalSpec(
            key="etco2",
            label="end-tidal CO2",
            nemsis="eVitals.16",
            loinc="19889-5",
            ucum="mm[Hg]",
            display_unit="mmHg",
            kind=Kind.DECIMAL,
            minimum=0,
            maximum=150,
            # Below 10 mmHg: poor CPR quality or a displaced tube; above 60: severe
            # hypoventilation.
            flag_below=10,
            flag_above=60,
            flag_reason="end-tidal CO2 below 10 or above 60 mmHg",
            units={"mmHg": 1.0, "kPa": KPA_TO_MMHG, "%": PERCENT_TO_MMHG},
            unit_key="etco2_unit",
        ),
        VitalSpec(
            key="avpu",
            label="AVPU",
            nemsis="eVitals.26",
            loinc="67775-7",
            ucum="",
            display_unit="",
            kind=Kind.CODE,
            codes=AVPU_CODES,
        ),
        VitalSpec(
            key="cardiac_rhythm",
            label="cardiac rhythm",
            nemsis="eVitals.03",
            loinc="67519-9",
            ucum="",
            display_unit="",
            kind=Kind.CODE,
        ),
        VitalSpec(
            key="stroke_scale_score",
            label="stroke scale score",
            nemsis="eVitals.34",
            loinc="67520-7",
            ucum="{score}",
            display_unit="",
            kind=Kind.INTEGER,
            unit_key="stroke_scale_type",
        ),
    )
}

# The qualifier of a unit-bearing value: the unit (or scale type) travels with the value.
QUALIFIERS: Final[Mapping[str, str]] = {
    "blood_glucose_unit": "blood_glucose",
    "etco2_unit": "etco2",
    "stroke_scale_type": "stroke_scale_score",
}
# Inputs that modify scoring but are not vital-sign observations themselves.
MODIFIERS: Final = ("on_oxygen", "new_confusion", "spo2_scale")
# "mm[Hg]" is the UCUM spelling; accept it and store the display spelling.
UNIT_ALIASES: Final[Mapping[str, str]] = {"mm[Hg]": "mmHg", "mg/dl": "mg/dL", "mmol/l": "mmol/L"}
MAX_CODE_LENGTH: Final = 64

ALLOWED_FIELDS: Final = frozenset(VITALS) | frozenset(QUALIFIERS) | frozenset(MODIFIERS)

Value = int | float | str | bool


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


def fmt(number: float) -> str:
    """Show a number as a clinician would write it: no '.0', no float noise."""
    if isinstance(number, int) or float(number).is_integer():
        return str(int(number))
    return f"{Decimal(repr(number)).normalize():f}"


def to_base_unit(spec: VitalSpec, value: float, unit: str) -> float:
    """Convert a glucose or EtCO2 reading to the spec's display unit (mg/dL, mmHg)."""
    return value * spec.units[unit]


def round_half_up(value: float, places: int) -> float:
    """Round as a person reading a chart would (35.05 -> 35.1), free of binary float noise.

    `round()` uses banker's rounding on the binary value, so round(35.05, 1) is 35.0;
    going through the decimal text of the number rounds what was actually typed.
    """
    if not math.isfinite(value) or abs(value) >= 1e15:
        return value
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def _number(key: str, raw: object, kind: Kind) -> tuple[int | float | None, str | None]:
    # bool is a subclass of int: True must not pass as a heart rate of 1.
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None, f"{key} must be a number, got {type(raw).__name__}"
    if isinstance(raw, float) and not math.isfinite(raw):
        return None, f"{key} must be a finite number"
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
        f"{spec.key} {shown} is outside the plausible range "
        f"{fmt(low)}-{fmt(high)}{_suffix(unit)}"
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
        if given not in spec.units:
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
    low = spec.flag_below is not None and base < spec.flag_below
    high = spec.flag_above is not None and base > spec.flag_above
    if low or high:
        flags.append(Flag(key, number, f"{key} {shown} is clinically extreme: {spec.flag_reason}"))


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
    if scale not in STROKE_SCALE_RANGES:
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
            Flag("gcs_total", effective, f"gcs_total {effective} is clinically extreme: GCS <= 8")
        )

    systolic, diastolic = values.get("systolic_bp"), values.get("diastolic_bp")
    if (
        isinstance(systolic, int)
        and isinstance(diastolic, int)
        and diastolic > systolic
        and "diastolic_bp" not in errors
    ):
        # Almost always a transposition at entry; accepting it would corrupt the trend and
        # the shock index.
        errors["diastolic_bp"] = (
            f"diastolic_bp {diastolic} mmHg is above systolic_bp {systolic} mmHg"
        )
        del values["diastolic_bp"]
        flags[:] = [f for f in flags if f.field != "diastolic_bp"]
