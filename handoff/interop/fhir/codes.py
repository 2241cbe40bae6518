"""The code systems, codes, status maps and units the FHIR document uses; HL7 v2
(handoff.interop.hl7) sends the same ones, so each is written down once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from handoff.clinical.vocabulary import (
    GLUCOSE_MMOL_TO_MG_DL,
    PERCENT_TO_MMHG,
    UNIT_ALIASES,
    VITALS,
)
from handoff.interop.document import (
    IdentifierSystems,
    VitalsEntry,
)

LOINC: Final = "http://loinc.org"


UCUM: Final = "http://unitsofmeasure.org"


SNOMED: Final = "http://snomed.info/sct"


ICD10CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"


# The development default; a deployment's systems travel in EncounterDocument.systems.
TEMP_ID_SYSTEM: Final = IdentifierSystems().temp_id


OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"


DATA_ABSENT_REASON: Final = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


DATA_ABSENT_CODES: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# LOINC answers Positive / Negative for 67520-7, the stroke scale's overall
# interpretation (a nominal observation); the score itself is a component.
STROKE_SCREEN_POSITIVE: Final = ("LA6576-8", "Positive")
STROKE_SCREEN_NEGATIVE: Final = ("LA6577-6", "Negative")


# R4 Encounter has no planned start; this is the official R5 -> R4 cross-version extension
# for R5's Encounter.plannedStartDate, used for the ETA.
PLANNED_START_EXTENSION: Final = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedStartDate"
)


BP_PANEL: Final = "85354-9"


VITALS_PANEL: Final = "85353-1"


SPO2_PULSE_OXIMETRY: Final = "59408-5"


AGE_LOINC: Final = "30525-0"


TEAM_ACTIVATION_LOINC: Final = "69462-0"  # NEMSIS eDisposition.24, time eDisposition.25


DOCUMENT_TYPE_LOINC: Final = "67796-3"  # EMS patient care report - version 3 Document NEMSIS


SUMMARY_CATEGORY: Final = "34133-9"  # Summary of episode note (mPSC Composition.category)


# NEWS2 has no LOINC code (88330-6 is NEWS, the 2012 score); the UK SNOMED CT extension has
# "Royal College of Physicians National Early Warning Score 2 - total score".
NEWS2_SNOMED: Final = "1104051000000101"


ENCOUNTER_STATUS: Final[Mapping[str, str]] = {
    "planned": "planned",
    "arrived": "arrived",
    "finished": "finished",
    "cancelled": "cancelled",
}


COMPOSITION_STATUS: Final[Mapping[str, str]] = {
    "planned": "preliminary",
    "arrived": "preliminary",
    "finished": "final",
    # The last word on an encounter that will not happen (reroute): nothing follows it.
    "cancelled": "final",
}


LOCATION_STATUS: Final[Mapping[str, str]] = {
    "planned": "planned",
    "arrived": "active",
    "finished": "completed",
    # R4 has no "cancelled" location status; the planned stay there is over.
    "cancelled": "completed",
}


AVPU_DISPLAY: Final[Mapping[str, str]] = {
    "A": "Alert",
    "V": "Responds to voice",
    "P": "Responds to pain",
    "U": "Unresponsive",
}


# Units that travel with the value, in the vocabulary's spelling -> UCUM code (HL7 OBX-6).
UCUM_OF_UNIT: Final[Mapping[str, str]] = {
    "mg/dL": "mg/dL",
    "mmol/L": "mmol/L",
    "mmHg": "mm[Hg]",
    "kPa": "kPa",
    "%": "%",
}


# What FHIR sends for a travelling unit: (UCUM code, factor). The LOINC terms REFERENCE.md
# names are 2339-0 (glucose, mass/volume) and 19889-5 (EtCO2, partial pressure), so a
# value recorded in a unit of another property is converted with the vocabulary's factors
# (mmol/L x 18.0 -> mg/dL; % x 7.6 -> mmHg at sea level) and the measured value goes in a
# note. Sending mmol/L or % under those codes would state a different property.
FHIR_UNIT: Final[Mapping[str, Mapping[str, tuple[str, float]]]] = {
    "blood_glucose": {"mg/dL": ("mg/dL", 1.0), "mmol/L": ("mg/dL", GLUCOSE_MMOL_TO_MG_DL)},
    "etco2": {"mmHg": ("mm[Hg]", 1.0), "kPa": ("kPa", 1.0), "%": ("mm[Hg]", PERCENT_TO_MMHG)},
}


# GCS is an assessment scale (LOINC class SURVEY.GCS), not a vital sign: it is not in the R4
# vital-signs value set and the vital-signs profile does not apply to it. The stroke scale is
# an assessment too, and its score component ({score}) could not meet the profile: it binds
# component units (required) to ucum-vitals-common, which has no {score}. (Keys of _add.)
SURVEY_VITALS: Final = frozenset({"gcs", "stroke_scale_score"})


# NEWS2 parameters (handoff.clinical.scores.NEWS2_PARAMETERS) -> the component's code.
NEWS2_PARAMETER_CODES: Final[Mapping[str, tuple[str, str | None]]] = {
    "respiratory_rate": ("Respiration rate", VITALS["respiratory_rate"].loinc),
    "spo2": ("SpO2", VITALS["spo2"].loinc),
    "on_oxygen": ("Air or oxygen", None),
    "systolic_bp": ("Systolic blood pressure", VITALS["systolic_bp"].loinc),
    "heart_rate": ("Pulse", VITALS["heart_rate"].loinc),
    "consciousness": ("Consciousness", VITALS["avpu"].loinc),
    "temperature": ("Temperature", VITALS["temperature"].loinc),
}


# Dose units crews type -> UCUM; anything else is sent as text only, never guessed.
DOSE_UCUM: Final[Mapping[str, str]] = {
    "mg": "mg",
    "g": "g",
    "mcg": "ug",
    "ug": "ug",
    "µg": "ug",
    "ml": "mL",
    "mL": "mL",
    "L": "L",
    "mmol": "mmol",
    "L/min": "L/min",
}


# Composition sections as IHE mPSC (mobile Paramedicine Summary of Care, 2.0.0-draft for
# FHIR 4.0.1; IHE/PCC.PCS input/fsh/IHE_PCC_mPSC_Composition_ClinicalSubset.fsh and
# IHE_PCC_mPSC_Composition_Complete_Report.fsh) codes them: key -> (system, code, title).
# Procedures performed and medications administered are sub-sections of Treatment there.
SECTION_CODES: Final[Mapping[str, tuple[str, str, str]]] = {
    "chief_complaint": (LOINC, "10154-3", "Chief complaint"),
    "vital_signs": (LOINC, "8716-3", "Vital signs"),
    "assessments": (LOINC, "51848-0", "Assessments"),
    "problems": (LOINC, "11450-4", "Problems"),
    "allergies": (LOINC, "48765-2", "Allergies"),
    "medications": (LOINC, "10160-0", "Current medications"),
    "treatment": (SNOMED, "182991002", "Treatment"),
    "procedures": (LOINC, "29554-3", "Procedures performed"),
    "medications_given": (LOINC, "18610-6", "Medications administered"),
}


# mPSC's EMS times and emergency notification sections carry 10154-3 in the draft, the
# chief complaint's code copied with its "Chief Complaint Section" description: sending it
# would give three sections the chief complaint's code, so these go with code.text only
# until mPSC assigns them codes.
SECTION_TEXT_ONLY: Final[Mapping[str, str]] = {
    "ems_times": "EMS times",
    "emergency_notification": "Emergency notification",
}


# The R4 vital-signs profiles (hl7.org/fhir/R4/observation-vitalsigns.html): every
# vital-sign Observation claims the base profile, and the one for its code where R4 has one.
VITAL_SIGNS_PROFILE: Final = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
VITAL_SIGNS_PROFILES: Final[Mapping[str, str]] = {
    VITALS_PANEL: "http://hl7.org/fhir/StructureDefinition/vitalspanel",
    BP_PANEL: "http://hl7.org/fhir/StructureDefinition/bp",
    VITALS["heart_rate"].loinc: "http://hl7.org/fhir/StructureDefinition/heartrate",
    VITALS["respiratory_rate"].loinc: "http://hl7.org/fhir/StructureDefinition/resprate",
    VITALS["spo2"].loinc: "http://hl7.org/fhir/StructureDefinition/oxygensat",
    VITALS["temperature"].loinc: "http://hl7.org/fhir/StructureDefinition/bodytemp",
}


def travelling_unit(entry: VitalsEntry, key: str) -> str:
    """The vocabulary spelling of the unit a glucose/EtCO2 value was recorded in."""
    spec = VITALS[key]
    unit = entry.units.get(key)
    if unit is None and spec.unit_key is not None:
        # The clinical core keeps the unit next to the value as e.g. `blood_glucose_unit`.
        raw = entry.values.get(spec.unit_key, entry.units.get(spec.unit_key))
        unit = raw if isinstance(raw, str) else None
    unit = UNIT_ALIASES.get(unit, unit) if unit is not None else spec.display_unit
    if unit not in spec.units:
        raise ValueError(f"vital {key} has a unit the vocabulary does not accept")
    return unit
