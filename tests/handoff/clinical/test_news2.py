"""NEWS2 against the RCP 2017 chart (REFERENCE.md): every band edge, both sides."""

from __future__ import annotations

import math

import pytest

from handoff.clinical import NEWS2_PARAMETERS, ClinicalInputError, news2

NORMAL: dict[str, object] = {
    "respiratory_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 120,
    "heart_rate": 70,
    "avpu": "A",
    "temperature": 37.0,
}


def points(param: str, value: object, **extra: object) -> int:
    result = news2({**NORMAL, param: value, **extra})
    return result.components[param]


@pytest.mark.parametrize(
    ("rr", "expected"),
    [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)],
)
def test_respiration_rate_bands(rr: int, expected: int) -> None:
    assert points("respiratory_rate", rr) == expected


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(50, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
def test_spo2_scale_1_bands(spo2: int, expected: int) -> None:
    assert points("spo2", spo2) == expected


@pytest.mark.parametrize("on_oxygen", [False, True])
def test_spo2_scale_1_ignores_oxygen_for_the_saturation_points(on_oxygen: bool) -> None:
    assert points("spo2", 96, on_oxygen=on_oxygen) == 0
    assert points("spo2", 91, on_oxygen=on_oxygen) == 3


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(70, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0)],
)
@pytest.mark.parametrize("on_oxygen", [False, True])
def test_spo2_scale_2_below_93_is_the_same_on_air_or_oxygen(
    spo2: int, expected: int, on_oxygen: bool
) -> None:
    result = news2({**NORMAL, "spo2": spo2, "on_oxygen": on_oxygen}, spo2_scale=2)
    assert result.components["spo2"] == expected


@pytest.mark.parametrize("spo2", [93, 94, 95, 96, 97, 100])
def test_spo2_scale_2_at_93_and_above_on_air_scores_0(spo2: int) -> None:
    result = news2({**NORMAL, "spo2": spo2, "on_oxygen": False}, spo2_scale=2)
    assert result.components["spo2"] == 0


@pytest.mark.parametrize(
    ("spo2", "expected"), [(93, 1), (94, 1), (95, 2), (96, 2), (97, 3), (100, 3)]
)
def test_spo2_scale_2_at_93_and_above_on_oxygen(spo2: int, expected: int) -> None:
    result = news2({**NORMAL, "spo2": spo2, "on_oxygen": True}, spo2_scale=2)
    assert result.components["spo2"] == expected
    assert result.components["on_oxygen"] == 2


def test_spo2_scale_2_at_93_without_air_or_oxygen_is_unscored_not_guessed() -> None:
    vitals = {k: v for k, v in NORMAL.items() if k != "on_oxygen"}
    result = news2({**vitals, "spo2": 95}, spo2_scale=2)
    assert "spo2" not in result.components
    assert result.unscored == ("spo2",)
    assert result.missing == ("on_oxygen",)
    assert result.complete is False


def test_spo2_scale_2_below_93_needs_no_air_or_oxygen() -> None:
    vitals = {k: v for k, v in NORMAL.items() if k != "on_oxygen"}
    result = news2({**vitals, "spo2": 85}, spo2_scale=2)
    assert result.components["spo2"] == 2
    assert result.unscored == ()


def test_spo2_scale_is_read_from_the_vitals_and_the_argument_overrides_it() -> None:
    vitals = {**NORMAL, "spo2": 90, "on_oxygen": True, "spo2_scale": 2}
    assert news2(vitals).spo2_scale == 2
    assert news2(vitals).components["spo2"] == 0
    assert news2(vitals, spo2_scale=1).components["spo2"] == 3


@pytest.mark.parametrize("scale", [0, 3, True, "2"])
def test_spo2_scale_other_than_1_or_2_is_refused(scale: object) -> None:
    with pytest.raises(ClinicalInputError) as excinfo:
        news2({**NORMAL, "spo2_scale": scale})
    assert excinfo.value.field == "spo2_scale"


@pytest.mark.parametrize(("on_oxygen", "expected"), [(False, 0), (True, 2)])
def test_air_scores_0_and_oxygen_2(on_oxygen: bool, expected: int) -> None:
    assert points("on_oxygen", on_oxygen) == expected


@pytest.mark.parametrize(
    ("sbp", "expected"),
    [(0, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)],
)
def test_systolic_bp_bands(sbp: int, expected: int) -> None:
    assert points("systolic_bp", sbp) == expected


@pytest.mark.parametrize(
    ("pulse", "expected"),
    [
        (0, 3),
        (40, 3),
        (41, 1),
        (50, 1),
        (51, 0),
        (90, 0),
        (91, 1),
        (110, 1),
        (111, 2),
        (130, 2),
        (131, 3),
        (250, 3),
    ],
)
def test_pulse_bands(pulse: int, expected: int) -> None:
    assert points("heart_rate", pulse) == expected


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (20.0, 3),
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (42.0, 2),
        (35, 3),
        (39, 1),
    ],
)
def test_temperature_bands(temperature: float, expected: int) -> None:
    assert points("temperature", temperature) == expected


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (35.04, 3),  # rounds to 35.0
        (35.05, 1),  # rounds half-up to 35.1, although 35.05 is 35.0499... in binary
        (36.04, 1),
        (36.05, 0),
        (38.04, 0),
        (38.05, 1),
        (39.04, 1),
        (39.05, 2),
        # One float step above an edge, as arithmetic (unit conversion, averaging) leaves it.
        (math.nextafter(36.0, 40.0), 1),
        (math.nextafter(38.0, 40.0), 0),
        (math.nextafter(35.0, 40.0), 3),
    ],
)
def test_temperature_between_chart_tenths_rounds_half_up_to_a_tenth(
    temperature: float, expected: int
) -> None:
    assert points("temperature", temperature) == expected


@pytest.mark.parametrize(("pulse", "expected"), [(90.4, 0), (90.5, 1), (130.5, 3)])
def test_whole_number_parameters_round_half_up_before_banding(pulse: float, expected: int) -> None:
    assert points("heart_rate", pulse) == expected


@pytest.mark.parametrize(
    ("avpu", "new_confusion", "expected"),
    [
        ("A", None, 0),
        ("A", False, 0),
        ("A", True, 3),
        ("V", None, 3),
        ("P", False, 3),
        ("U", None, 3),
        ("v", None, 3),
        (None, True, 3),
    ],
)
def test_consciousness_alert_0_new_confusion_or_vpu_3(
    avpu: str | None, new_confusion: bool | None, expected: int
) -> None:
    vitals = {**NORMAL, "avpu": avpu, "new_confusion": new_confusion}
    assert news2(vitals).components["consciousness"] == expected


@pytest.mark.parametrize("new_confusion", [None, False])
def test_consciousness_without_avpu_or_new_confusion_is_missing(
    new_confusion: bool | None,
) -> None:
    result = news2({**NORMAL, "avpu": None, "new_confusion": new_confusion})
    assert result.missing == ("consciousness",)
    assert "consciousness" not in result.components


def test_all_normal_scores_0_low_and_complete() -> None:
    result = news2(NORMAL)
    assert result.total == 0
    assert result.risk == "low"
    assert result.response == "ward-based response"
    assert result.complete is True
    assert result.missing == ()
    assert result.any_single_3 is False
    assert list(result.components) == list(NEWS2_PARAMETERS)


def test_a_single_3_with_a_low_total_is_low_medium() -> None:
    result = news2({**NORMAL, "respiratory_rate": 8})
    assert result.total == 3
    assert result.any_single_3 is True
    assert result.risk == "low-medium"
    assert result.response == "urgent review"


def test_total_4_without_a_single_3_is_low() -> None:
    result = news2({**NORMAL, "heart_rate": 111, "on_oxygen": True})
    assert result.total == 4
    assert result.risk == "low"


def test_total_4_with_a_single_3_is_low_medium() -> None:
    result = news2({**NORMAL, "avpu": "V", "heart_rate": 91})
    assert result.total == 4
    assert result.risk == "low-medium"


def test_total_5_is_medium_even_with_a_single_3() -> None:
    result = news2({**NORMAL, "respiratory_rate": 25, "heart_rate": 111})
    assert result.total == 5
    assert result.any_single_3 is True
    assert result.risk == "medium"
    assert result.response == "urgent response"


def test_total_6_is_medium() -> None:
    result = news2({**NORMAL, "respiratory_rate": 21, "on_oxygen": True, "temperature": 39.1})
    assert result.total == 6
    assert result.any_single_3 is False
    assert result.risk == "medium"


def test_total_7_is_high() -> None:
    result = news2(
        {**NORMAL, "respiratory_rate": 22, "spo2": 94, "on_oxygen": True, "heart_rate": 112}
    )
    assert result.components == {
        "respiratory_rate": 2,
        "spo2": 1,
        "on_oxygen": 2,
        "systolic_bp": 0,
        "heart_rate": 2,
        "consciousness": 0,
        "temperature": 0,
    }
    assert result.total == 7
    assert result.risk == "high"
    assert result.response == "emergency response"


def test_worked_example_septic_patient_scores_every_parameter() -> None:
    vitals = {
        "respiratory_rate": 26,  # 3
        "spo2": 92,  # 2
        "on_oxygen": True,  # 2
        "systolic_bp": 95,  # 2
        "heart_rate": 125,  # 2
        "avpu": "A",
        "new_confusion": True,  # 3
        "temperature": 39.4,  # 2
    }
    result = news2(vitals)
    assert result.total == 16
    assert result.risk == "high"


def test_worked_example_copd_on_scale_2_at_target_on_oxygen() -> None:
    vitals = {**NORMAL, "spo2": 90, "on_oxygen": True, "respiratory_rate": 22}
    result = news2(vitals, spo2_scale=2)
    assert result.components["spo2"] == 0
    assert result.total == 4  # RR 2 + oxygen 2
    assert result.risk == "low"


def test_incomplete_vitals_score_what_is_present_and_name_the_missing() -> None:
    result = news2({"respiratory_rate": 25, "heart_rate": 120})
    assert result.total == 5
    assert result.components == {"respiratory_rate": 3, "heart_rate": 2}
    assert result.missing == ("spo2", "on_oxygen", "systolic_bp", "consciousness", "temperature")
    assert result.complete is False
    assert result.risk == "medium"


def test_no_vitals_at_all_is_0_with_every_parameter_missing() -> None:
    result = news2({})
    assert result.total == 0
    assert result.missing == NEWS2_PARAMETERS
    assert result.complete is False


def test_null_values_count_as_missing() -> None:
    result = news2({**NORMAL, "temperature": None, "on_oxygen": None})
    assert result.missing == ("on_oxygen", "temperature")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("heart_rate", "70"),
        ("heart_rate", True),
        ("temperature", float("nan")),
        ("heart_rate", 10**400),
        ("on_oxygen", "yes"),
        ("new_confusion", 1),
        ("avpu", "X"),
        ("avpu", 1),
    ],
)
def test_wrong_types_raise_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ClinicalInputError) as excinfo:
        news2({**NORMAL, field: value})
    assert excinfo.value.field == field
