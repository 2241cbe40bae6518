"""Pure clinical core of the handoff: vitals vocabulary, validation, scores, activations.

Imports nothing from Django so services, serializers, WebSocket validators and the FHIR /
HL7 exporters share one implementation. See docs/clinical.md.
"""

from handoff.clinical.activation import (
    EDISPOSITION_24_KINDS,
    ActivationContext,
    ActivationKind,
    Proposal,
    team_activation_proposals,
)
from handoff.clinical.scores import (
    NEWS2_PARAMETERS,
    BeFast,
    News2Result,
    QSofa,
    ScoreChange,
    ShockIndex,
    befast,
    gcs,
    lams_lvo,
    news2,
    news2_risk,
    qsofa,
    race_lvo,
    score_change,
    shock_index,
    vitals_trend,
)
from handoff.clinical.vitals import (
    ALLOWED_FIELDS,
    GLUCOSE_MMOL_TO_MG_DL,
    STROKE_SCALE_TYPES,
    VITALS,
    ClinicalInputError,
    Flag,
    VitalsCheck,
    VitalSpec,
    validate_vitals,
)

__all__ = [
    "ALLOWED_FIELDS",
    "EDISPOSITION_24_KINDS",
    "GLUCOSE_MMOL_TO_MG_DL",
    "NEWS2_PARAMETERS",
    "STROKE_SCALE_TYPES",
    "VITALS",
    "ActivationContext",
    "ActivationKind",
    "BeFast",
    "ClinicalInputError",
    "Flag",
    "News2Result",
    "Proposal",
    "QSofa",
    "ScoreChange",
    "ShockIndex",
    "VitalSpec",
    "VitalsCheck",
    "befast",
    "gcs",
    "lams_lvo",
    "news2",
    "news2_risk",
    "qsofa",
    "race_lvo",
    "score_change",
    "shock_index",
    "team_activation_proposals",
    "validate_vitals",
    "vitals_trend",
]
