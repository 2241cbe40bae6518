"""The pre-hospital vitals vocabulary of REFERENCE.md as data: codes, units, ranges, bands.

Plausible ranges, NEMSIS elements, LOINC codes and UCUM units come from REFERENCE.md. The
"clinically extreme" bands are this project's choice (see docs/clinical.md): a value in
them is accepted, because the patient in front of the crew may really be that sick, but is
flagged so the ED board and the paramedic see it.

Pure Python, no Django imports.
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
