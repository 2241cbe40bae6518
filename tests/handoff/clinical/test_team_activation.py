"""Team-activation proposals: eDisposition.24 kinds, CDC 2021 field triage red criteria."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from handoff.clinical import (
    EDISPOSITION_24_KINDS,
    ActivationContext,
    ActivationKind,
    ClinicalInputError,
    befast,
    team_activation_proposals,
)
from handoff.clinical.activation import TRAUMA_INJURY_PATTERNS

CALM = {
    "respiratory_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 130,
    "heart_rate": 80,
    "avpu": "A",
    "temperature": 37.0,
}


def kinds(context: ActivationContext) -> list[str]:
    return [p.kind.value for p in team_activation_proposals(context)]


def test_nothing_found_proposes_nothing() -> None:
    assert team_activation_proposals(ActivationContext()) == []
    assert team_activation_proposals(ActivationContext(vitals=CALM)) == []


def test_kinds_are_the_edisposition_24_vocabulary_plus_deterioration() -> None:
    assert {k.value for k in EDISPOSITION_24_KINDS} == {
        "STEMI",
        "stroke",
        "trauma",
        "sepsis",
        "cardiac arrest",
        "obstetrics",
    }
    assert {k.value for k in ActivationKind} - {k.value for k in EDISPOSITION_24_KINDS} == {
        "deterioration"
    }


def test_stemi_on_ecg() -> None:
    [proposal] = team_activation_proposals(ActivationContext(vitals=CALM, ecg_stemi=True))
    assert proposal.kind is ActivationKind.STEMI
    assert proposal.capability == "PCI-capable"
    assert proposal.in_edisposition_24 is True


def test_cardiac_arrest() -> None:
    assert kinds(ActivationContext(cardiac_arrest=True)) == ["cardiac arrest"]


def test_obstetric_emergency() -> None:
    assert kinds(ActivationContext(obstetric_emergency=True)) == ["obstetrics"]


def test_befast_positive_proposes_stroke_and_asks_for_last_known_well() -> None:
    screen = befast(balance=False, eyes=False, face=True, arm=True, speech=False)
    [proposal] = team_activation_proposals(ActivationContext(vitals=CALM, befast=screen))
    assert proposal.kind is ActivationKind.STROKE
    assert "BE-FAST positive (face, arm)" in proposal.reason
    assert "eSituation.18" in proposal.reason
    assert proposal.capability == "stroke centre"


def test_befast_negative_proposes_nothing() -> None:
    screen = befast(balance=False, eyes=False, face=False, arm=False, speech=False)
    assert kinds(ActivationContext(vitals=CALM, befast=screen)) == []


def test_last_known_well_recorded_is_not_asked_for() -> None:
    screen = befast(balance=None, eyes=None, face=True, arm=None, speech=None)
    lkw = datetime(2025, 1, 1, 8, 30, tzinfo=UTC)
    [proposal] = team_activation_proposals(ActivationContext(befast=screen, last_known_well=lkw))
    assert "eSituation.18" not in proposal.reason


@pytest.mark.parametrize(
    ("race", "lams", "thrombectomy"),
    [(5, None, True), (4, None, False), (None, 4, True), (None, 3, False), (9, 5, True)],
)
def test_large_vessel_suspicion_names_a_thrombectomy_capable_centre(
    race: int | None, lams: int | None, thrombectomy: bool
) -> None:
    [proposal] = team_activation_proposals(ActivationContext(race_score=race, lams_score=lams))
    assert proposal.kind is ActivationKind.STROKE
    assert ("thrombectomy-capable" in proposal.reason) is thrombectomy
    assert (proposal.capability == "thrombectomy-capable stroke centre") is thrombectomy


def test_stroke_scale_recorded_in_vitals_is_used() -> None:
    vitals = {**CALM, "stroke_scale_type": "RACE", "stroke_scale_score": 6}
    [proposal] = team_activation_proposals(ActivationContext(vitals=vitals))
    assert "RACE 6 (>= 5)" in proposal.reason
    cpss = {**CALM, "stroke_scale_type": "CPSS", "stroke_scale_score": 1}
    [proposal] = team_activation_proposals(ActivationContext(vitals=cpss))
    assert proposal.capability == "stroke centre"


def test_zero_stroke_scale_scores_propose_nothing() -> None:
    assert kinds(ActivationContext(race_score=0, lams_score=0)) == []


def test_out_of_range_race_raises() -> None:
    with pytest.raises(ClinicalInputError):
        team_activation_proposals(ActivationContext(race_score=12))


@pytest.mark.parametrize("attr", list(TRAUMA_INJURY_PATTERNS))
def test_each_cdc_2021_red_injury_pattern_proposes_trauma(attr: str) -> None:
    finding: dict[str, Any] = {attr: True}
    [proposal] = team_activation_proposals(ActivationContext(vitals=CALM, **finding))
    assert proposal.kind is ActivationKind.TRAUMA
    assert TRAUMA_INJURY_PATTERNS[attr] in proposal.reason
    assert proposal.reason.startswith("CDC 2021 field triage red criteria")


def injured(**vitals: object) -> ActivationContext:
    return ActivationContext(vitals={**CALM, **vitals}, injured=True)


def test_injured_with_normal_vitals_is_not_red() -> None:
    assert kinds(injured()) == []


@pytest.mark.parametrize(
    ("vitals", "red"),
    [
        ({"systolic_bp": 89}, True),
        ({"systolic_bp": 90}, False),
        ({"respiratory_rate": 9}, True),
        ({"respiratory_rate": 10}, False),
        ({"respiratory_rate": 29}, False),
        ({"respiratory_rate": 30}, True),
        ({"gcs_motor": 5}, True),
        ({"gcs_motor": 6}, False),
        ({"spo2": 89, "on_oxygen": False}, True),
        ({"spo2": 90, "on_oxygen": False}, False),
        ({"spo2": 89, "on_oxygen": True}, False),
        ({"heart_rate": 121, "systolic_bp": 120}, True),
        ({"heart_rate": 120, "systolic_bp": 120}, False),
    ],
)
def test_vital_sign_red_criteria_for_an_adult(vitals: dict[str, object], red: bool) -> None:
    assert (kinds(injured(**vitals)) == ["trauma"]) is red


@pytest.mark.parametrize(
    ("age", "sbp", "red"),
    [
        (5, 79, True),  # 70 + 2 x 5 = 80
        (5, 80, False),
        (0, 69, True),
        (30, 89, True),
        (64, 90, False),
        (65, 109, True),
        (80, 110, False),
    ],
)
def test_systolic_red_criterion_depends_on_age(age: int, sbp: int, red: bool) -> None:
    context = ActivationContext(
        vitals={**CALM, "systolic_bp": sbp, "heart_rate": 60}, injured=True, age_years=age
    )
    assert (kinds(context) == ["trauma"]) is red


def test_heart_rate_above_systolic_is_not_applied_to_children() -> None:
    context = ActivationContext(
        vitals={**CALM, "systolic_bp": 95, "heart_rate": 130}, injured=True, age_years=4
    )
    assert kinds(context) == []


def test_vital_sign_criteria_need_an_injured_patient() -> None:
    assert kinds(ActivationContext(vitals={**CALM, "systolic_bp": 85})) == []


@pytest.mark.parametrize("flag", ["unable_to_follow_commands", "respiratory_distress_or_support"])
def test_red_findings_on_an_injured_patient(flag: str) -> None:
    finding: dict[str, Any] = {flag: True}
    assert kinds(ActivationContext(vitals=CALM, injured=True, **finding)) == ["trauma"]


def test_trauma_reason_lists_every_red_criterion_met() -> None:
    context = ActivationContext(
        vitals={**CALM, "systolic_bp": 85, "heart_rate": 120},
        suspected_pelvic_fracture=True,
    )
    [proposal] = team_activation_proposals(context)
    assert "suspected pelvic fracture" in proposal.reason
    assert "systolic BP 85 mmHg (< 90 for age)" in proposal.reason
    assert "heart rate 120 above systolic BP 85" in proposal.reason


SEPTIC = {**CALM, "respiratory_rate": 24, "systolic_bp": 98, "temperature": 38.5}


def test_sepsis_needs_qsofa_2_and_suspected_infection() -> None:
    [proposal] = team_activation_proposals(
        ActivationContext(vitals=SEPTIC, suspected_infection=True)
    )
    assert proposal.kind is ActivationKind.SEPSIS
    assert proposal.reason.startswith("qSOFA 2 (respiratory rate, systolic blood pressure)")


def test_qsofa_2_without_suspected_infection_is_not_sepsis() -> None:
    assert kinds(ActivationContext(vitals=SEPTIC)) == []


def test_suspected_infection_with_qsofa_1_is_not_sepsis() -> None:
    vitals = {**SEPTIC, "systolic_bp": 110}
    assert kinds(ActivationContext(vitals=vitals, suspected_infection=True)) == []


def test_sepsis_counts_new_confusion_and_gcs_as_altered_mentation() -> None:
    confused = {**CALM, "respiratory_rate": 22, "new_confusion": True}
    assert "sepsis" in kinds(ActivationContext(vitals=confused, suspected_infection=True))
    low_gcs = {**CALM, "systolic_bp": 100, "gcs_total": 14, "avpu": None}
    assert "sepsis" in kinds(ActivationContext(vitals=low_gcs, suspected_infection=True))


def test_news2_7_proposes_deterioration_outside_edisposition_24() -> None:
    vitals = {**CALM, "respiratory_rate": 22, "spo2": 94, "on_oxygen": True, "heart_rate": 112}
    [proposal] = team_activation_proposals(ActivationContext(vitals=vitals))
    assert proposal.kind is ActivationKind.DETERIORATION
    assert proposal.reason == "NEWS2 7 (high: emergency response)"
    assert proposal.in_edisposition_24 is False


def test_news2_6_does_not_propose_deterioration() -> None:
    vitals = {**CALM, "respiratory_rate": 21, "on_oxygen": True, "temperature": 39.1}
    assert kinds(ActivationContext(vitals=vitals)) == []


def test_incomplete_news2_of_7_still_proposes_and_names_what_was_not_scored() -> None:
    vitals = {"respiratory_rate": 25, "heart_rate": 131, "on_oxygen": True}
    [proposal] = team_activation_proposals(ActivationContext(vitals=vitals))
    assert proposal.kind is ActivationKind.DETERIORATION
    assert (
        "not scored: oxygen saturation, systolic blood pressure, level of consciousness, "
        "temperature" in proposal.reason
    )


def test_reasons_name_the_inputs_in_words_never_by_field_key() -> None:
    vitals = {"respiratory_rate": 25, "heart_rate": 131, "spo2": 88, "new_confusion": True}
    proposals = team_activation_proposals(
        ActivationContext(vitals=vitals, suspected_infection=True)
    )
    assert {p.kind for p in proposals} == {ActivationKind.SEPSIS, ActivationKind.DETERIORATION}
    for proposal in proposals:
        assert not re.search(r"[a-z]+_[a-z_]+", proposal.reason), proposal.reason
    deterioration = next(p for p in proposals if p.kind is ActivationKind.DETERIORATION)
    assert "air or oxygen" in deterioration.reason


def test_several_proposals_come_most_time_critical_first_one_per_kind() -> None:
    context = ActivationContext(
        vitals={**SEPTIC, "systolic_bp": 85, "heart_rate": 130, "avpu": "V"},
        cardiac_arrest=True,
        ecg_stemi=True,
        race_score=7,
        injured=True,
        suspected_infection=True,
        obstetric_emergency=True,
    )
    assert kinds(context) == [
        "cardiac arrest",
        "STEMI",
        "stroke",
        "trauma",
        "sepsis",
        "obstetrics",
        "deterioration",
    ]


def test_wrong_vital_type_in_context_raises() -> None:
    with pytest.raises(ClinicalInputError):
        team_activation_proposals(ActivationContext(vitals={"systolic_bp": "85"}, injured=True))
