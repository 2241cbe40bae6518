"""Pre-arrival team-activation proposals: pure rules a clinician confirms, never auto-fires.

Kinds are the NEMSIS eDisposition.24 vocabulary (STEMI, stroke, trauma, sepsis, cardiac
arrest, obstetrics) plus "deterioration" for a NEWS2 >= 7. eDisposition.24 has no
deterioration or medical-emergency-team value and none of its six types is close enough to
map a high NEWS2 onto without mislabelling the patient, so "deterioration" is kept as its
own kind and `Proposal.in_edisposition_24` is False for it: exporters send it as an ED
alert, never as an eDisposition.24 code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from handoff.clinical.scores import (
    BeFast,
    lams_lvo,
    news2,
    qsofa,
    race_lvo,
)
from handoff.clinical.vitals import ClinicalInputError, gcs_total_of
from handoff.clinical.vocabulary import VITALS


class ActivationKind(StrEnum):
    CARDIAC_ARREST = "cardiac arrest"
    STEMI = "STEMI"
    STROKE = "stroke"
    TRAUMA = "trauma"
    SEPSIS = "sepsis"
    OBSTETRICS = "obstetrics"
    DETERIORATION = "deterioration"


EDISPOSITION_24_KINDS: Final = frozenset(ActivationKind) - {ActivationKind.DETERIORATION}


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed team activation with the reason a clinician reads before confirming.

    `capability` names the eDisposition.23 destination capability the case calls for, when
    there is one.
    """

    kind: ActivationKind
    reason: str
    capability: str | None = None

    @property
    def in_edisposition_24(self) -> bool:
        return self.kind in EDISPOSITION_24_KINDS


@dataclass(frozen=True, slots=True)
class ActivationContext:
    """What the crew has found. `vitals` is keyed as `vitals.VITALS` (latest set).

    The trauma booleans are the CDC 2021 National Guideline for Field Triage of Injured
    Patients "red criteria" (high risk for serious injury) that are findings rather than
    vital signs; the vital-sign red criteria are read from `vitals` and `age_years`.
    """

    vitals: Mapping[str, object] = field(default_factory=dict)
    age_years: float | None = None
    cardiac_arrest: bool = False
    ecg_stemi: bool = False
    # Stroke
    befast: BeFast | None = None
    race_score: int | None = None
    lams_score: int | None = None
    last_known_well: datetime | None = None
    # Sepsis
    suspected_infection: bool = False
    # Obstetrics: imminent delivery, haemorrhage in pregnancy, eclampsia, cord prolapse...
    obstetric_emergency: bool = False
    # Trauma. `injured` says the patient is a trauma patient, so the vital-sign criteria
    # apply; any injury-pattern finding implies it.
    injured: bool = False
    unable_to_follow_commands: bool = False
    respiratory_distress_or_support: bool = False
    penetrating_injury_head_neck_torso_proximal_limb: bool = False
    skull_deformity_or_suspected_fracture: bool = False
    spinal_injury_with_new_motor_or_sensory_loss: bool = False
    chest_wall_instability_or_flail_chest: bool = False
    suspected_pelvic_fracture: bool = False
    two_or_more_proximal_long_bone_fractures: bool = False
    crushed_degloved_mangled_or_pulseless_extremity: bool = False
    amputation_proximal_to_wrist_or_ankle: bool = False
    bleeding_needing_tourniquet_or_packing: bool = False


# CDC 2021 red criteria, injury patterns: context attribute -> wording for the reason.
TRAUMA_INJURY_PATTERNS: Final[Mapping[str, str]] = {
    "penetrating_injury_head_neck_torso_proximal_limb": (
        "penetrating injury to head, neck, torso or proximal extremity"
    ),
    "skull_deformity_or_suspected_fracture": "skull deformity or suspected skull fracture",
    "spinal_injury_with_new_motor_or_sensory_loss": (
        "suspected spinal injury with new motor or sensory loss"
    ),
    "chest_wall_instability_or_flail_chest": "chest wall instability or suspected flail chest",
    "suspected_pelvic_fracture": "suspected pelvic fracture",
    "two_or_more_proximal_long_bone_fractures": (
        "suspected fracture of two or more proximal long bones"
    ),
    "crushed_degloved_mangled_or_pulseless_extremity": (
        "crushed, degloved, mangled or pulseless extremity"
    ),
    "amputation_proximal_to_wrist_or_ankle": "amputation proximal to wrist or ankle",
    "bleeding_needing_tourniquet_or_packing": (
        "active bleeding needing a tourniquet or wound packing"
    ),
}


# How a reason names a score's inputs: the crew and the ED read the reason, so the
# vocabulary's words, never the field keys ("on_oxygen").
PARAMETER_LABELS: Final[Mapping[str, str]] = {
    **{key: spec.label for key, spec in VITALS.items()},
    "on_oxygen": "air or oxygen",
    "consciousness": "level of consciousness",
    "altered_mentation": "altered mentation",
    "new_confusion": "new confusion",
}


def parameter_label(key: str) -> str:
    """The words for a score input in a reason (an unknown key with its underscores spaced)."""
    return PARAMETER_LABELS.get(key, key.replace("_", " "))


def _labels(keys: tuple[str, ...]) -> str:
    return ", ".join(parameter_label(key) for key in keys)


def _int_vital(vitals: Mapping[str, object], key: str) -> int | float | None:
    raw = vitals.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ClinicalInputError(f"{key} must be a number, got {type(raw).__name__}", field=key)
    return raw


def _trauma_vital_criteria(context: ActivationContext) -> list[str]:
    vitals = context.vitals
    met: list[str] = []
    motor = _int_vital(vitals, "gcs_motor")
    if context.unable_to_follow_commands or (motor is not None and motor < 6):
        met.append("unable to follow commands (GCS motor < 6)")
    rr = _int_vital(vitals, "respiratory_rate")
    if rr is not None and (rr < 10 or rr > 29):
        met.append(f"respiratory rate {rr} /min (< 10 or > 29)")
    if context.respiratory_distress_or_support:
        met.append("respiratory distress or need for respiratory support")
    spo2 = _int_vital(vitals, "spo2")
    # The guideline's SpO2 criterion is on room air; on oxygen it says nothing.
    if spo2 is not None and vitals.get("on_oxygen") is False and spo2 < 90:
        met.append(f"room-air SpO2 {spo2} % (< 90)")

    sbp = _int_vital(vitals, "systolic_bp")
    hr = _int_vital(vitals, "heart_rate")
    age = context.age_years
    if sbp is not None:
        # Age bands of the 2021 guideline; unknown age is judged as an adult (10-64).
        if age is not None and age < 10:
            limit = 70 + 2 * int(age)
        elif age is not None and age >= 65:
            limit = 110
        else:
            limit = 90
        if sbp < limit:
            met.append(f"systolic BP {sbp} mmHg (< {limit} for age)")
        if (age is None or age >= 10) and hr is not None and hr > sbp:
            met.append(f"heart rate {hr} above systolic BP {sbp}")
    return met


def _trauma(context: ActivationContext) -> Proposal | None:
    patterns = [
        wording for attr, wording in TRAUMA_INJURY_PATTERNS.items() if getattr(context, attr)
    ]
    if not (context.injured or patterns):
        return None
    met = patterns + _trauma_vital_criteria(context)
    if not met:
        return None
    return Proposal(
        ActivationKind.TRAUMA,
        "CDC 2021 field triage red criteria: " + "; ".join(met),
        "highest-level trauma centre available",
    )


def _stroke_scale(vitals: Mapping[str, object]) -> tuple[str, int] | None:
    scale, score = vitals.get("stroke_scale_type"), vitals.get("stroke_scale_score")
    if isinstance(scale, str) and isinstance(score, int) and not isinstance(score, bool):
        return scale, score
    return None


def _stroke(context: ActivationContext) -> Proposal | None:
    reasons: list[str] = []
    lvo: list[str] = []
    if context.befast is not None and context.befast.positive:
        reasons.append(f"BE-FAST positive ({', '.join(context.befast.findings)})")
    race, lams = context.race_score, context.lams_score
    recorded = _stroke_scale(context.vitals)
    if recorded is not None:
        scale, score = recorded
        race = score if scale == "RACE" and race is None else race
        lams = score if scale == "LAMS" and lams is None else lams
        # Any abnormal item on a stroke screen is a deficit; only RACE and LAMS have the
        # large-vessel thresholds of REFERENCE.md, so other scales never claim LVO here.
        if score > 0 and scale not in ("RACE", "LAMS"):
            reasons.append(f"{scale} {score}")
    if race is not None:
        if race_lvo(race):
            lvo.append(f"RACE {race} (>= 5)")
        elif race > 0:
            reasons.append(f"RACE {race}")
    if lams is not None:
        if lams_lvo(lams):
            lvo.append(f"LAMS {lams} (>= 4)")
        elif lams > 0:
            reasons.append(f"LAMS {lams}")
    if not reasons and not lvo:
        return None
    parts = reasons[:]
    if lvo:
        parts.append(
            " and ".join(lvo)
            + " suggests large-vessel occlusion: consider a thrombectomy-capable centre"
        )
    if context.last_known_well is None:
        parts.append("last known well time not yet recorded (eSituation.18)")
    return Proposal(
        ActivationKind.STROKE,
        "; ".join(parts),
        "thrombectomy-capable stroke centre" if lvo else "stroke centre",
    )


def _altered_mentation(vitals: Mapping[str, object]) -> bool | None:
    raw_avpu, confused = vitals.get("avpu"), vitals.get("new_confusion")
    avpu = raw_avpu.strip().upper() if isinstance(raw_avpu, str) else None
    if confused is True or avpu in ("V", "P", "U"):
        return True
    if avpu == "A" and confused is not True:
        return False
    return None


def _sepsis(context: ActivationContext) -> Proposal | None:
    if not context.suspected_infection:
        return None
    vitals = context.vitals
    result = qsofa(
        _int_vital(vitals, "respiratory_rate"),
        _int_vital(vitals, "systolic_bp"),
        gcs=gcs_total_of(vitals),
        altered_mentation=_altered_mentation(vitals),
    )
    if not result.positive:
        return None
    return Proposal(
        ActivationKind.SEPSIS,
        f"qSOFA {result.score} ({_labels(result.criteria)}) with suspected infection",
    )


def _deterioration(context: ActivationContext) -> Proposal | None:
    score = news2(context.vitals)
    if score.total < 7:
        return None
    reason = f"NEWS2 {score.total} (high: {score.response})"
    if not score.complete:
        # An incomplete NEWS2 is a lower bound, so >= 7 stands; say what was not scored.
        reason += f"; not scored: {_labels(score.missing + score.unscored)}"
    return Proposal(ActivationKind.DETERIORATION, reason)


def team_activation_proposals(context: ActivationContext) -> list[Proposal]:
    """Team activations the findings call for, at most one per kind, most time-critical first.

    Raises ClinicalInputError when a vital in the context has the wrong type or a RACE/LAMS
    score is out of range.
    """
    proposals: list[Proposal | None] = [
        Proposal(ActivationKind.CARDIAC_ARREST, "cardiac arrest")
        if context.cardiac_arrest
        else None,
        Proposal(ActivationKind.STEMI, "STEMI on 12-lead ECG", "PCI-capable")
        if context.ecg_stemi
        else None,
        _stroke(context),
        _trauma(context),
        _sepsis(context),
        Proposal(ActivationKind.OBSTETRICS, "obstetric emergency reported by crew", "obstetrics")
        if context.obstetric_emergency
        else None,
        _deterioration(context),
    ]
    return [proposal for proposal in proposals if proposal is not None]
