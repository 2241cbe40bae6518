"""validate_vitals: plausible ranges refuse, extreme bands flag, nothing is silently dropped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from handoff.clinical import ALLOWED_FIELDS, VITALS, validate_vitals

# (field, min, max, unit shown in the message) from REFERENCE.md's plausible ranges.
RANGES = [
    ("heart_rate", 0, 300, "/min"),
    ("respiratory_rate", 0, 100, "/min"),
    ("systolic_bp", 0, 350, "mmHg"),
    ("diastolic_bp", 0, 250, "mmHg"),
    ("spo2", 0, 100, "%"),
    ("temperature", 20, 45, "°C"),
    ("gcs_eye", 1, 4, ""),
    ("gcs_verbal", 1, 5, ""),
    ("gcs_motor", 1, 6, ""),
    ("gcs_total", 3, 15, ""),
    ("pain_score", 0, 10, ""),
]


def test_heart_rate_out_of_range_message_names_field_value_and_range() -> None:
    check = validate_vitals({"heart_rate": 350})
    assert check.errors == {
        "heart_rate": "heart_rate 350 /min is outside the plausible range 0-300 /min"
    }
    assert "heart_rate" not in check.values
    assert check.ok is False


@pytest.mark.parametrize(("field", "low", "high", "unit"), RANGES)
def test_range_edges_are_accepted(field: str, low: int, high: int, unit: str) -> None:
    for value in (low, high):
        data = {field: value}
        if field == "diastolic_bp":
            data["systolic_bp"] = 350
        check = validate_vitals(data)
        assert field not in check.errors, check.errors
        assert check.values[field] == value


@pytest.mark.parametrize(("field", "low", "high", "unit"), RANGES)
def test_one_past_each_range_edge_is_refused_with_field_and_range(
    field: str, low: int, high: int, unit: str
) -> None:
    for value in (low - 1, high + 1):
        check = validate_vitals({field: value})
        message = check.errors[field]
        assert message.startswith(f"{field} {value}")
        suffix = f" {unit}" if unit else ""
        assert message.endswith(f"outside the plausible range {low}-{high}{suffix}")
        assert field not in check.values


@pytest.mark.parametrize(
    ("value", "ok"), [(19.9, False), (20.0, True), (45.0, True), (45.1, False)]
)
def test_temperature_decimal_edges(value: float, ok: bool) -> None:
    assert ("temperature" in validate_vitals({"temperature": value}).values) is ok


@pytest.mark.parametrize(
    ("value", "unit", "ok"),
    [
        (0, "mg/dL", True),
        (2000, "mg/dL", True),
        (-1, "mg/dL", False),
        (2001, "mg/dL", False),
        (0, "mmol/L", True),
        (111.1, "mmol/L", True),  # 1999.8 mg/dL
        (111.2, "mmol/L", False),  # 2001.6 mg/dL
    ],
)
def test_blood_glucose_range_is_checked_in_mg_dl(value: float, unit: str, ok: bool) -> None:
    check = validate_vitals({"blood_glucose": value, "blood_glucose_unit": unit})
    assert ("blood_glucose" in check.values) is ok
    if ok:
        assert check.values["blood_glucose_unit"] == unit
    else:
        assert "0-2000 mg/dL" in check.errors["blood_glucose"]
        assert "blood_glucose_unit" not in check.values


def test_glucose_in_mmol_l_message_shows_the_mg_dl_conversion() -> None:
    check = validate_vitals({"blood_glucose": 120, "blood_glucose_unit": "mmol/L"})
    assert check.errors["blood_glucose"] == (
        "blood_glucose 120 mmol/L (2160 mg/dL) is outside the plausible range 0-2000 mg/dL"
    )


@pytest.mark.parametrize(
    ("value", "unit", "ok"),
    [
        (0, "mmHg", True),
        (150, "mmHg", True),
        (151, "mmHg", False),
        (-1, "mmHg", False),
        (19.99, "kPa", True),  # 149.9 mmHg
        (20, "kPa", False),  # 150.01 mmHg
        (19.7, "%", True),  # 149.7 mmHg at sea level
        (19.8, "%", False),
        (38, "mm[Hg]", True),
    ],
)
def test_etco2_range_is_checked_in_mmhg(value: float, unit: str, ok: bool) -> None:
    check = validate_vitals({"etco2": value, "etco2_unit": unit})
    assert ("etco2" in check.values) is ok, check.errors
    if not ok:
        assert "0-150 mmHg" in check.errors["etco2"]


def test_ucum_mmhg_spelling_is_normalised() -> None:
    assert validate_vitals({"etco2": 38, "etco2_unit": "mm[Hg]"}).values["etco2_unit"] == "mmHg"


@pytest.mark.parametrize(
    ("field", "unit_field"), [("blood_glucose", "blood_glucose_unit"), ("etco2", "etco2_unit")]
)
def test_a_unit_bearing_value_without_its_unit_is_refused(field: str, unit_field: str) -> None:
    check = validate_vitals({field: 5})
    assert unit_field in check.errors[field]
    assert field not in check.values


@pytest.mark.parametrize(
    ("field", "unit_field", "unit"),
    [("blood_glucose", "blood_glucose_unit", "g/L"), ("etco2", "etco2_unit", "torr")],
)
def test_a_unit_not_allowed_is_refused(field: str, unit_field: str, unit: str) -> None:
    check = validate_vitals({field: 5, unit_field: unit})
    assert "not allowed" in check.errors[unit_field]
    assert field not in check.values
    assert unit_field not in check.values


@pytest.mark.parametrize(
    ("unit_field", "value_field"),
    [
        ("blood_glucose_unit", "blood_glucose"),
        ("etco2_unit", "etco2"),
        ("stroke_scale_type", "stroke_scale_score"),
    ],
)
def test_a_qualifier_without_its_value_is_refused(unit_field: str, value_field: str) -> None:
    check = validate_vitals({unit_field: "RACE" if "stroke" in unit_field else "mmHg"})
    assert check.errors[unit_field] == f"{unit_field} given without {value_field}"


def test_heart_rate_220_is_accepted_and_flagged() -> None:
    check = validate_vitals({"heart_rate": 220})
    assert check.ok
    assert check.values["heart_rate"] == 220
    assert [(f.field, f.value) for f in check.flags] == [("heart_rate", 220)]
    assert check.flags[0].message == "heart_rate 220 /min is clinically extreme (above 150 /min)"


def test_spo2_60_is_accepted_and_flagged() -> None:
    check = validate_vitals({"spo2": 60})
    assert check.ok
    assert check.values["spo2"] == 60
    assert check.flags[0].field == "spo2"
    assert check.flags[0].message == "spo2 60 % is clinically extreme (below 85 %)"


@pytest.mark.parametrize(
    ("field", "quiet", "flagged"),
    [
        ("heart_rate", 40, 39),
        ("heart_rate", 150, 151),
        ("respiratory_rate", 8, 7),
        ("respiratory_rate", 35, 36),
        ("systolic_bp", 80, 79),
        ("systolic_bp", 220, 221),
        ("spo2", 85, 84),
        ("temperature", 35.0, 34.9),
        ("temperature", 40.0, 40.1),
        ("gcs_total", 9, 8),
    ],
)
def test_extreme_band_edges(field: str, quiet: float, flagged: float) -> None:
    assert validate_vitals({field: quiet}).flags == ()
    check = validate_vitals({field: flagged})
    assert check.ok
    assert [f.field for f in check.flags] == [field]


@pytest.mark.parametrize(
    ("value", "unit", "flagged"),
    [
        (54, "mg/dL", False),
        (53, "mg/dL", True),
        (400, "mg/dL", False),
        (401, "mg/dL", True),
        (3.0, "mmol/L", False),  # 54 mg/dL with the 18.0 factor
        (2.9, "mmol/L", True),
        (22.3, "mmol/L", True),  # 401.4 mg/dL
    ],
)
def test_glucose_extreme_band_is_judged_in_mg_dl(value: float, unit: str, flagged: bool) -> None:
    check = validate_vitals({"blood_glucose": value, "blood_glucose_unit": unit})
    assert check.ok
    assert bool(check.flags) is flagged


def test_gcs_flag_is_raised_from_components_when_no_total_is_given() -> None:
    check = validate_vitals({"gcs_eye": 2, "gcs_verbal": 2, "gcs_motor": 4})
    assert check.ok
    assert [(f.field, f.value) for f in check.flags] == [("gcs_total", 8)]


def test_gcs_total_that_agrees_with_components_is_accepted() -> None:
    check = validate_vitals({"gcs_eye": 4, "gcs_verbal": 5, "gcs_motor": 6, "gcs_total": 15})
    assert check.ok
    assert check.values["gcs_total"] == 15


def test_gcs_total_that_disagrees_with_components_is_refused() -> None:
    check = validate_vitals({"gcs_eye": 4, "gcs_verbal": 4, "gcs_motor": 6, "gcs_total": 15})
    assert check.errors == {"gcs_total": "gcs_total 15 disagrees with its components E4 V4 M6 = 14"}
    assert "gcs_total" not in check.values
    assert check.values["gcs_verbal"] == 4


def test_gcs_total_with_partial_components_is_accepted() -> None:
    assert validate_vitals({"gcs_total": 10, "gcs_motor": 5}).ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("72", "heart_rate must be a number, got str"),
        (True, "heart_rate must be a number, got bool"),
        ([72], "heart_rate must be a number, got list"),
        (72.5, "heart_rate must be a whole number, got 72.5"),
        (float("nan"), "heart_rate must be a finite number"),
        (float("inf"), "heart_rate must be a finite number"),
        pytest.param(10**5000, "heart_rate is far outside any plausible range", id="huge-int"),
    ],
)
def test_wrong_types_are_refused_with_the_field(value: object, expected: str) -> None:
    assert validate_vitals({"heart_rate": value}).errors == {"heart_rate": expected}


def test_a_whole_float_is_accepted_as_an_integer() -> None:
    value = validate_vitals({"heart_rate": 72.0}).values["heart_rate"]
    assert value == 72
    assert isinstance(value, int)


def test_null_means_not_measured() -> None:
    check = validate_vitals({"heart_rate": None, "spo2": 98})
    assert check.ok
    assert check.values == {"spo2": 98}


def test_unknown_fields_are_refused_by_name() -> None:
    check = validate_vitals({"heart_rat": 72, "spo2": 98})
    assert check.errors == {"heart_rat": "unknown field 'heart_rat'"}
    assert check.values == {"spo2": 98}


@pytest.mark.parametrize("avpu", ["A", "V", "P", "U", "a", " u "])
def test_avpu_letters_are_accepted_and_normalised(avpu: str) -> None:
    assert validate_vitals({"avpu": avpu}).values["avpu"] == avpu.strip().upper()


@pytest.mark.parametrize("avpu", ["X", "alert", "", 1, True])
def test_avpu_other_than_a_v_p_u_is_refused(avpu: object) -> None:
    assert "avpu" in validate_vitals({"avpu": avpu}).errors


@pytest.mark.parametrize(
    ("scale", "low", "high"),
    [
        ("BE-FAST", 0, 5),
        ("RACE", 0, 9),
        ("LAMS", 0, 5),
        ("CPSS", 0, 3),
        ("FAST-ED", 0, 9),
        ("VAN", 0, 1),
    ],
)
def test_stroke_scale_score_range_depends_on_the_scale(scale: str, low: int, high: int) -> None:
    for score in (low, high):
        check = validate_vitals({"stroke_scale_score": score, "stroke_scale_type": scale})
        assert check.ok
        assert check.values["stroke_scale_type"] == scale
    check = validate_vitals({"stroke_scale_score": high + 1, "stroke_scale_type": scale})
    assert check.errors["stroke_scale_score"].endswith(f"plausible range {low}-{high} for {scale}")


def test_stroke_scale_type_is_case_insensitive() -> None:
    check = validate_vitals({"stroke_scale_score": 5, "stroke_scale_type": "race"})
    assert check.values["stroke_scale_type"] == "RACE"


def test_unknown_stroke_scale_type_is_refused() -> None:
    check = validate_vitals({"stroke_scale_score": 5, "stroke_scale_type": "NIHSS"})
    assert "not one of BE-FAST, RACE, LAMS, CPSS, FAST-ED, VAN" in check.errors["stroke_scale_type"]
    assert "stroke_scale_score" not in check.values


def test_stroke_scale_score_without_type_is_refused() -> None:
    check = validate_vitals({"stroke_scale_score": 5})
    assert "needs stroke_scale_type" in check.errors["stroke_scale_score"]


def test_cardiac_rhythm_is_a_bounded_code_string() -> None:
    assert validate_vitals({"cardiac_rhythm": " 9901019 "}).values["cardiac_rhythm"] == "9901019"
    assert "cardiac_rhythm" in validate_vitals({"cardiac_rhythm": ""}).errors
    assert "cardiac_rhythm" in validate_vitals({"cardiac_rhythm": 9901019}).errors
    assert "cardiac_rhythm" in validate_vitals({"cardiac_rhythm": "x" * 65}).errors


@pytest.mark.parametrize("field", ["on_oxygen", "new_confusion"])
def test_boolean_modifiers(field: str) -> None:
    assert validate_vitals({field: True}).values[field] is True
    assert validate_vitals({field: False}).values[field] is False
    assert field in validate_vitals({field: "true"}).errors
    assert field in validate_vitals({field: 1}).errors


@pytest.mark.parametrize(
    ("scale", "ok"), [(1, True), (2, True), (2.0, True), (3, False), (True, False), ("1", False)]
)
def test_spo2_scale_is_1_or_2(scale: object, ok: bool) -> None:
    check = validate_vitals({"spo2_scale": scale})
    assert check.ok is ok
    if ok:
        assert check.values["spo2_scale"] in (1, 2)


def test_diastolic_above_systolic_is_refused_as_a_likely_transposition() -> None:
    check = validate_vitals({"systolic_bp": 60, "diastolic_bp": 120, "heart_rate": 80})
    message = "diastolic_bp 120 mmHg is above systolic_bp 60 mmHg"
    assert check.errors == {"systolic_bp": message, "diastolic_bp": message}
    assert check.values == {"heart_rate": 80}
    assert check.flags == ()


def test_diastolic_equal_to_systolic_is_accepted() -> None:
    assert validate_vitals({"systolic_bp": 0, "diastolic_bp": 0}).ok


@pytest.mark.parametrize("data", [None, [], "vitals", 42])
def test_input_that_is_not_an_object_is_an_error_not_an_exception(data: object) -> None:
    check = validate_vitals(data)
    assert "__all__" in check.errors
    assert check.values == {}


def test_several_errors_are_all_reported_at_once() -> None:
    check = validate_vitals({"heart_rate": -1, "spo2": 101, "avpu": "Q", "mystery": 1})
    assert set(check.errors) == {"heart_rate", "spo2", "avpu", "mystery"}


def test_every_vital_carries_its_codes() -> None:
    assert VITALS["heart_rate"].nemsis == "eVitals.10"
    assert VITALS["heart_rate"].loinc == "8867-4"
    assert VITALS["systolic_bp"].ucum == "mm[Hg]"
    assert VITALS["temperature"].ucum == "Cel"
    assert VITALS["gcs_total"].loinc == "9269-2"
    assert VITALS["gcs_eye"].loinc == "9267-6"
    assert VITALS["blood_glucose"].nemsis == "eVitals.18"
    assert VITALS["stroke_scale_score"].loinc == "67520-7"
    assert set(VITALS) <= ALLOWED_FIELDS
    for spec in VITALS.values():
        assert spec.nemsis.startswith("eVitals.")
        assert spec.loinc


def test_the_clinical_package_imports_nothing_from_django() -> None:
    code = (
        "import sys, handoff.clinical; "
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
