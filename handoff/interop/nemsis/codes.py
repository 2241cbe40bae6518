"""NEMSIS 3.5.1 code lists the export writes, keyed by the project's own vocabulary.

Every value here is an enumeration of the official XSDs (../shared/standards/nemsis/XSDs);
the vitals' NEMSIS elements are those of REFERENCE.md (handoff.clinical.vocabulary). What
the project records as free text without a safe mapping is never forced into a code: it
goes out as a NOT value (NV) or in the narrative.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from handoff.clinical.doses import ALIASES

# NOT values (NV attribute, with xsi:nil): the element exists but has no value.
NOT_APPLICABLE: Final = "7701001"
NOT_RECORDED: Final = "7701003"
NOT_REPORTING: Final = "7701005"
# Pertinent negatives (PN attribute).
PN_UNABLE_TO_COMPLETE: Final = "8801023"

NO: Final = "9923001"  # the common yes/no list (eVitals.02, eMedications.02, eScene.07)
YES: Final = "9923003"

# ePatient.25 Sex has Female, Male and Unknown only: "other" is sent as Unknown.
SEX: Final[Mapping[str, str]] = {
    "female": "9919001",
    "male": "9919003",
    "other": "9919005",
    "unknown": "9919005",
}
AGE_YEARS: Final = "2516009"  # ePatient.16
AGE_MONTHS: Final = "2516007"
AGE_DAYS: Final = "2516001"

# eVitals.26 from the vocabulary's AVPU codes.
AVPU: Final[Mapping[str, str]] = {"A": "3326001", "V": "3326003", "P": "3326005", "U": "3326007"}

# eVitals.30 from handoff.clinical.vocabulary.STROKE_SCALE_TYPES.
STROKE_SCALE_TYPE: Final[Mapping[str, str]] = {
    "BE-FAST": "3330029",
    "RACE": "3330021",
    "LAMS": "3330023",
    "CPSS": "3330001",
    "FAST-ED": "3330027",
    "VAN": "3330025",
}
# eVitals.29: a scale that found any deficit (score above 0) is positive. The large-vessel
# thresholds (RACE >= 5, LAMS >= 4) are about where to go, not whether the screen is positive.
STROKE_POSITIVE: Final = "3329005"
STROKE_NEGATIVE: Final = "3329001"

# eVitals.03 from the tablet's rhythm list (dispatch.views "rhythms"). "AV block, 2nd/3rd
# degree" names two codes and "Ventricular tachycardia" does not say whether there was a
# pulse: the first goes as Other, the second by the encounter's cardiac-arrest finding.
RHYTHM: Final[Mapping[str, str]] = {
    "sinus rhythm": "9901047",
    "sinus tachycardia": "9901049",
    "sinus bradycardia": "9901045",
    "atrial fibrillation": "9901007",
    "atrial flutter": "9901009",
    "supraventricular tachycardia": "9901059",
    "ventricular fibrillation": "9901067",
    "av block, 2nd/3rd degree": "9901031",
    "paced rhythm": "9901033",
    "pea": "9901035",
    "asystole": "9901003",
    "other": "9901031",
}
VT_WITH_PULSE: Final = "9901069"
VT_PULSELESS: Final = "9901071"
RHYTHM_STEMI_OTHER: Final = "9901031"

# eVitals.16 ETCO2Type attribute: the device type is not recorded; only the value travels.

# eResponse.05 / .07 / .23 / .24
SERVICE_EMERGENCY: Final = "2205001"
UNIT_CAPABILITY: Final[Mapping[str, str]] = {"ALS": "2207015", "BLS": "2207017"}
UNIT_CRITICAL_CARE: Final = "2207019"
RESPONSE_MODE: Final[Mapping[str, str]] = {"lights_sirens": "2223001", "non_urgent": "2223005"}
RESPONSE_DESCRIPTOR: Final[Mapping[str, str]] = {
    "lights_sirens": "2224015",
    "non_urgent": "2224019",
}

# eDispatch.01 from the dispatch chief complaints the intake and simulation use
# (dispatch.simulation.COMPLAINTS); any other complaint is "No Other Appropriate Choice".
DISPATCH_REASON: Final[Mapping[str, str]] = {
    "chest pain": "2301021",
    "breathing problems": "2301013",
    "unconscious person": "2301077",
    "cardiac arrest": "2301019",
    "stroke symptoms": "2301067",
    "fall": "2301033",
    "traffic collision": "2301069",
    "abdominal pain": "2301001",
    "sick person": "2301061",
    "seizure": "2301025",
    "overdose or poisoning": "2301053",
    "allergic reaction": "2301003",
    "labour pains": "2301057",
    "assault": "2301007",
    "burns": "2301015",
}
DISPATCH_REASON_OTHER: Final = "2301051"
# eDispatch.02: a determinant (MPDS) means the call was triaged by EMD; whether pre-arrival
# instructions were given is not recorded.
EMD_PERFORMED_UNKNOWN_PAI: Final = "2302007"

# eArrest.01
ARREST_NO: Final = "3001001"

# ePayment.01: the project bills nothing (public service).
PAYMENT_NOT_BILLED: Final = "2601007"
# eScene.06
SINGLE_PATIENT: Final = "2707005"
MULTIPLE_PATIENTS: Final = "2707001"

# eSituation.02
INJURY_YES: Final = "9922005"
INJURY_NO: Final = "9922001"

# eMedications.04 from the routes of handoff.clinical.doses.
ROUTE: Final[Mapping[str, str]] = {
    "IV": "9927023",
    "IO": "9927021",
    "IM": "9927015",
    "IN": "9927017",
    "SC": "9927045",
    "PO": "9927035",
    "PR": "9927043",
    "SL": "9927047",
    "NEB": "9927071",
    "INH": "9927009",
}
# eMedications.06 from the dose units of handoff.clinical.doses (and fhir.codes.DOSE_UCUM).
DOSE_UNIT: Final[Mapping[str, str]] = {
    "mg": "3706021",
    "g": "3706001",
    "mcg": "3706015",
    "ug": "3706015",
    "µg": "3706015",
    "mL": "3706025",
    "ml": "3706025",
    "L": "3706009",
    "L/min": "3706035",
    "puffs": "3706043",
    "IU": "3706005",
    "units": "3706049",
    "mEq": "3706019",
}

# eMedications.03 (RxNorm ingredient RxCUIs) for the drugs of handoff.clinical.doses, under
# the names and aliases the tablet records. REFERENCE.md has no drug table: these are the
# RxNorm ingredient concepts (NLM RxNav), to be checked by the medical director with the
# dose table.
RXNORM: Final[Mapping[str, str]] = {
    "adrenaline": "3992",
    "epinephrine": "3992",
    "amiodarone": "703",
    "aspirin": "1191",
    "atropine": "1223",
    "fentanyl": "4337",
    "glucagon": "4832",
    "glucose 10%": "4850",
    "dextrose 10%": "4850",
    "glyceryl trinitrate": "4917",
    "gtn": "4917",
    "nitroglycerin": "4917",
    "ipratropium": "7213",
    "midazolam": "6960",
    "morphine": "7052",
    "naloxone": "7242",
    "ondansetron": "26225",
    "paracetamol": "161",
    "acetaminophen": "161",
    "salbutamol": "435",
    "albuterol": "435",
    "sodium chloride 0.9%": "9863",
    "normal saline": "9863",
    "tranexamic acid": "10691",
    "txa": "10691",
    "oxygen": "7806",
}

# eDisposition.20 from handoff.models.DestinationReason.
DESTINATION_REASON: Final[Mapping[str, str]] = {
    "closest": "4220001",
    "diversion": "4220003",
    "family_choice": "4220005",
    "insurance": "4220007",
    "law_enforcement": "4220009",
    "medical_direction": "4220011",
    "other": "4220013",
    "patient_choice": "4220015",
    "physician_choice": "4220017",
    "protocol": "4220019",
    "regional_specialty": "4220021",
}
# eDisposition.23 from handoff.models.HospitalCapability (REFERENCE.md's abridged list).
HOSPITAL_CAPABILITY: Final[Mapping[str, str]] = {
    "general": "9908007",
    "stroke_acute_ready": "9908037",
    "stroke_primary": "9908039",
    "stroke_thrombectomy": "9908041",
    "stroke_comprehensive": "9908043",
    "stemi_pci": "9908031",
    "stemi_pci_24_7": "9908033",
    "stemi_non_pci": "9908035",
    "trauma_1": "9908021",
    "trauma_2": "9908023",
    "trauma_3": "9908025",
    "trauma_4": "9908027",
    "trauma_5": "9908029",
    "burn": "9908003",
    "pediatric": "9908011",
    "neonatal": "9908009",
    "obstetrics": "9908047",
    "behavioural_health": "9908001",
}
# eDisposition.24 from handoff.models.ActivationKind; the project's NEWS2 deterioration
# alert is not one of NEMSIS's named teams.
TEAM_ACTIVATION: Final[Mapping[str, str]] = {
    "cardiac_arrest": "4224005",
    "stemi": "4224013",
    "stroke": "4224015",
    "trauma": "4224017",
    "sepsis": "4224019",
    "obstetrics": "4224007",
    "deterioration": "4224009",
}
NO_ACTIVATION: Final = "4224001"

# eDisposition.16 / .21 / .27-.30 / .32
GROUND_AMBULANCE: Final = "4216005"
HOSPITAL_ED: Final = "4221003"
PATIENT_CONTACT_MADE: Final = "4227001"
EVALUATED_CARE_PROVIDED: Final = "4228001"
EVALUATED_REFUSED_CARE: Final = "4228003"
EVALUATED_NO_CARE_REQUIRED: Final = "4228005"
INITIATED_AND_CONTINUED_CARE: Final = "4229001"
TRANSPORT_BY_THIS_UNIT: Final = "4230001"
PATIENT_REFUSED_TRANSPORT: Final = "4230009"
NO_TRANSPORT: Final = "4230013"
# Level of care by unit type: the project's ALS units are paramedic-staffed.
LEVEL_OF_CARE: Final[Mapping[str, str]] = {"ALS": "4232005", "BLS": "4232001"}

# eSituation.03, CodeType (eMedications.03, eHistory.06)
COMPLAINT_CHIEF: Final = "2803001"
CODE_TYPE_ICD10: Final = "9924001"
CODE_TYPE_RXNORM: Final = "9924003"

# eExam.20 from the BE-FAST items the crew marks abnormal (handoff BEFAST_ITEMS). A side is
# not recorded, so face and arm go as the side-free findings NEMSIS has for them.
BEFAST_EXAM: Final[Mapping[str, tuple[str, str]]] = {
    # item: (element, code)
    "balance": ("eExam.20", "3520013"),  # Gait-Abnormal
    "speech": ("eExam.20", "3520029"),  # Speech Slurring
    "arm": ("eExam.16", "3516083"),  # Arm Drift (extremities)
    "face": ("eExam.20", "3520031"),  # Strength-Asymmetric
}
BEFAST_NORMAL: Final[Mapping[str, tuple[str, str]]] = {
    "balance": ("eExam.20", "3520015"),  # Gait-Normal
    "speech": ("eExam.20", "3520027"),  # Speech Normal
    "face": ("eExam.20", "3520035"),  # Strength-Symmetric
}


def rxnorm(name: str) -> str | None:
    """The RxNorm ingredient of a drug name as the tablet records it, or None."""
    drug = name.strip().lower()
    return RXNORM.get(drug) or RXNORM.get(ALIASES.get(drug, drug))
