"""GCS, shock index, qSOFA, stroke screens, vitals trends and NEWS2 score changes."""

from __future__ import annotations

import pytest

from handoff.clinical import (
    ClinicalInputError,
    befast,
    gcs,
    lams_lvo,
    news2,
    qsofa,
    race_lvo,
    score_change,
    shock_index,
    vitals_trend,
)


def test_gcs_sums_components() -> None:
    assert gcs(1, 1, 1) == 3
    assert gcs(4, 5, 6) == 15
    assert gcs(3, 4, 5) == 12


@pytest.mark.parametrize(
    ("eye", "verbal", "motor", "field"),
    [
        (0, 5, 6, "gcs_eye"),
        (5, 5, 6, "gcs_eye"),
        (4, 0, 6, "gcs_verbal"),
        (4, 6, 6, "gcs_verbal"),
        (4, 5, 0, "gcs_motor"),
        (4, 5, 7, "gcs_motor"),
        (True, 5, 6, "gcs_eye"),
        (4, 4.5, 6, "gcs_verbal"),
    ],
)
def test_gcs_out_of_range_component_raises_naming_it(
    eye: int, verbal: int, motor: int, field: str
) -> None:
    with pytest.raises(ClinicalInputError) as excinfo:
        gcs(eye, verbal, motor)
    assert excinfo.value.field == field


@pytest.mark.parametrize(
    ("hr", "sbp", "value", "red_flag"),
    [
        (99, 100, 0.99, False),
        (100, 100, 1.0, True),
        (120, 80, 1.5, True),
        (70, 140, 0.5, False),
        (0, 120, 0.0, False),
        (2, 3, 0.67, False),
        (199, 200, 1.0, True),  # 0.995 rounds half-up to 1.00: shown and flagged alike
        (197, 200, 0.99, False),  # 0.985 rounds half-up to 0.99
    ],
)
def test_shock_index(hr: int, sbp: int, value: float, red_flag: bool) -> None:
    result = shock_index(hr, sbp)
    assert result.value == value
    assert result.red_flag is red_flag
    assert result.reason is None


def test_shock_index_with_sbp_0_is_not_computable_instead_of_dividing_by_zero() -> None:
    result = shock_index(120, 0)
    assert result.value is None
    assert result.red_flag is False
    assert result.reason is not None
    assert "systolic_bp is 0" in result.reason


@pytest.mark.parametrize(
    ("hr", "sbp", "reason"),
    [(None, 120, "heart_rate missing"), (80, None, "systolic_bp missing")],
)
def test_shock_index_names_a_missing_input(hr: int | None, sbp: int | None, reason: str) -> None:
    assert shock_index(hr, sbp).reason == reason


@pytest.mark.parametrize(("hr", "sbp"), [(-1, 100), (80, -5), ("80", 100)])
def test_shock_index_refuses_impossible_inputs(hr: object, sbp: object) -> None:
    with pytest.raises(ClinicalInputError):
        shock_index(hr, sbp)  # type: ignore[arg-type]


@pytest.mark.parametrize(("rr", "met"), [(21, False), (22, True), (30, True)])
def test_qsofa_respiratory_rate_threshold(rr: int, met: bool) -> None:
    result = qsofa(rr, 120, gcs=15)
    assert ("respiratory_rate" in result.criteria) is met
    assert result.score == int(met)


@pytest.mark.parametrize(("sbp", "met"), [(100, True), (101, False), (80, True)])
def test_qsofa_systolic_threshold(sbp: int, met: bool) -> None:
    assert ("systolic_bp" in qsofa(16, sbp, gcs=15).criteria) is met


@pytest.mark.parametrize(("gcs_total", "met"), [(14, True), (15, False), (3, True)])
def test_qsofa_altered_mentation_is_gcs_below_15(gcs_total: int, met: bool) -> None:
    assert ("altered_mentation" in qsofa(16, 120, gcs=gcs_total).criteria) is met


def test_qsofa_altered_mentation_can_be_given_directly() -> None:
    assert qsofa(16, 120, altered_mentation=True).criteria == ("altered_mentation",)
    assert qsofa(16, 120, altered_mentation=False).score == 0
    # A clinician's judgement of altered mentation counts even with a GCS of 15.
    assert qsofa(16, 120, gcs=15, altered_mentation=True).score == 1


def test_qsofa_is_positive_at_2_and_above() -> None:
    one = qsofa(22, 120, gcs=15)
    two = qsofa(22, 100, gcs=15)
    three = qsofa(22, 100, gcs=14)
    assert (one.positive, two.positive, three.positive) == (False, True, True)
    assert three.criteria == ("respiratory_rate", "altered_mentation", "systolic_bp")


def test_qsofa_lists_missing_inputs_and_is_still_positive_from_what_is_present() -> None:
    result = qsofa(24, 95)
    assert result.missing == ("altered_mentation",)
    assert result.positive is True
    assert qsofa(None, None).missing == ("respiratory_rate", "altered_mentation", "systolic_bp")


@pytest.mark.parametrize(("score", "lvo"), [(0, False), (4, False), (5, True), (9, True)])
def test_race_5_or_more_suggests_lvo(score: int, lvo: bool) -> None:
    assert race_lvo(score) is lvo


@pytest.mark.parametrize(("score", "lvo"), [(0, False), (3, False), (4, True), (5, True)])
def test_lams_4_or_more_suggests_lvo(score: int, lvo: bool) -> None:
    assert lams_lvo(score) is lvo


@pytest.mark.parametrize("score", [-1, 10, 4.5, True])
def test_race_out_of_range_raises(score: int) -> None:
    with pytest.raises(ClinicalInputError):
        race_lvo(score)


@pytest.mark.parametrize("score", [-1, 6, "4"])
def test_lams_out_of_range_raises(score: int) -> None:
    with pytest.raises(ClinicalInputError):
        lams_lvo(score)


def test_befast_negative_when_every_item_is_normal() -> None:
    result = befast(balance=False, eyes=False, face=False, arm=False, speech=False)
    assert result.positive is False
    assert result.findings == ()
    assert result.not_assessed == ()


@pytest.mark.parametrize("item", ["balance", "eyes", "face", "arm", "speech"])
def test_befast_any_single_item_makes_it_positive(item: str) -> None:
    items = dict.fromkeys(("balance", "eyes", "face", "arm", "speech"), False)
    items[item] = True
    result = befast(**items)
    assert result.positive is True
    assert result.findings == (item,)


def test_befast_records_items_not_assessed() -> None:
    result = befast(balance=None, eyes=None, face=True, arm=None, speech=False)
    assert result.positive is True
    assert result.not_assessed == ("balance", "eyes", "arm")


def test_befast_refuses_non_boolean_items() -> None:
    with pytest.raises(ClinicalInputError):
        befast(balance="yes", eyes=None, face=None, arm=None, speech=None)  # type: ignore[arg-type]


def test_trend_covers_only_parameters_present_in_both_sets() -> None:
    previous = {"heart_rate": 110, "spo2": 91, "temperature": 37.2}
    current = {"heart_rate": 96, "systolic_bp": 120, "temperature": 37.8}
    assert vitals_trend(previous, current) == {"heart_rate": -14, "temperature": 0.6}


def test_trend_is_free_of_float_noise() -> None:
    assert vitals_trend({"temperature": 38.1}, {"temperature": 38.4}) == {"temperature": 0.3}


def test_trend_converts_glucose_into_the_current_unit() -> None:
    previous = {"blood_glucose": 5.0, "blood_glucose_unit": "mmol/L"}
    current = {"blood_glucose": 108, "blood_glucose_unit": "mg/dL"}
    assert vitals_trend(previous, current) == {"blood_glucose": 18}
    back = vitals_trend(current, previous)
    assert back == {"blood_glucose": -1}


def test_trend_of_etco2_in_the_same_unit() -> None:
    previous = {"etco2": 4.8, "etco2_unit": "kPa"}
    current = {"etco2": 5.3, "etco2_unit": "kPa"}
    assert vitals_trend(previous, current) == {"etco2": 0.5}


def test_trend_of_gcs_uses_components_when_no_total_was_recorded() -> None:
    previous = {"gcs_eye": 4, "gcs_verbal": 5, "gcs_motor": 6}
    current = {"gcs_total": 11}
    assert vitals_trend(previous, current) == {"gcs_total": -4}


def test_trend_of_stroke_scale_only_against_the_same_scale() -> None:
    race_2 = {"stroke_scale_score": 2, "stroke_scale_type": "RACE"}
    race_6 = {"stroke_scale_score": 6, "stroke_scale_type": "RACE"}
    lams_4 = {"stroke_scale_score": 4, "stroke_scale_type": "LAMS"}
    assert vitals_trend(race_2, race_6) == {"stroke_scale_score": 4}
    assert vitals_trend(race_2, lams_4) == {}


def test_trend_of_empty_sets_is_empty() -> None:
    assert vitals_trend({}, {"heart_rate": 80}) == {}


FULL = {
    "respiratory_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 120,
    "heart_rate": 70,
    "avpu": "A",
    "temperature": 37.0,
}


def test_score_change_up_with_risk_escalation() -> None:
    before = news2(FULL)
    after = news2({**FULL, "respiratory_rate": 25, "heart_rate": 115, "on_oxygen": True})
    change = score_change(before, after)
    assert (change.previous_total, change.current_total, change.delta) == (0, 7, 7)
    assert change.direction == "up"
    assert change.risk_escalated is True
    assert change.comparable is True


def test_score_change_down_and_same() -> None:
    assert score_change(6, 2).direction == "down"
    assert score_change(6, 2).risk_escalated is False
    same = score_change(3, 3)
    assert (same.direction, same.delta) == ("same", 0)


def test_score_change_into_low_medium_by_a_single_3_escalates() -> None:
    change = score_change(news2(FULL), news2({**FULL, "avpu": "V"}))
    assert change.risk_escalated is True


def test_score_change_for_the_first_set() -> None:
    change = score_change(None, news2(FULL))
    assert change.direction == "first"
    assert change.delta is None


def test_score_change_between_different_parameter_sets_is_not_comparable() -> None:
    before = news2({"heart_rate": 70})
    after = news2(FULL)
    assert score_change(before, after).comparable is False
