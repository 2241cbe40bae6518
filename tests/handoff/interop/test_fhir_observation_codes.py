"""Every Observation we emit: its code, UCUM unit, category and value type agree.

The table is written out here, from REFERENCE.md and LOINC, and not read from the code, so
a code or unit changed in the exporter or the vocabulary must be changed here too. An
Observation whose code is not in the table fails the test.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import pytest

from handoff.interop.document import VitalsEntry
from handoff.interop.fhir import encounter_bundle
from tests.handoff.interop.documents import at, encounter, full_vitals, reconciled_patient
from tests.handoff.interop.invariants import constraints_data

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


class Row(NamedTuple):
    units: frozenset[str]  # allowed UCUM codes of valueQuantity (empty: no quantity)
    category: str | None
    value: str | None  # "Quantity", "CodeableConcept" or None (panel / components only)


def row(units: str, category: str | None, value: str | None) -> Row:
    return Row(frozenset(units.split()), category, value)


# (system, code) -> what an Observation with that code must look like.
OBSERVATIONS: dict[tuple[str, str], Row] = {
    (LOINC, "8867-4"): row("/min", "vital-signs", "Quantity"),  # heart rate
    (LOINC, "9279-1"): row("/min", "vital-signs", "Quantity"),  # respiratory rate
    (LOINC, "85354-9"): row("", "vital-signs", None),  # BP panel: components only
    (LOINC, "2708-6"): row("%", "vital-signs", "Quantity"),  # SpO2 (+ 59408-5)
    (LOINC, "8310-5"): row("Cel", "vital-signs", "Quantity"),  # body temperature
    # Glucose mass/volume: mg/dL only (mmol/L would be 15074-8, moles/volume).
    (LOINC, "2339-0"): row("mg/dL", "vital-signs", "Quantity"),
    # EtCO2 partial pressure: mm[Hg] or kPa, never % (a volume fraction).
    (LOINC, "19889-5"): row("mm[Hg] kPa", "vital-signs", "Quantity"),
    (LOINC, "72514-3"): row("{score}", "vital-signs", "Quantity"),  # pain severity 0-10
    (LOINC, "67775-7"): row("", "vital-signs", "CodeableConcept"),  # AVPU
    (LOINC, "67519-9"): row("", "vital-signs", "CodeableConcept"),  # cardiac rhythm
    # 67520-7 is the stroke scale's overall interpretation (nominal, positive / negative);
    # the score ({score}, REFERENCE.md) and its scale travel as component and method. A
    # survey: the vital-signs profile binds component units to ucum-vitals-common (no {score}).
    (LOINC, "67520-7"): row("", "survey", "CodeableConcept"),
    # GCS is an assessment scale (LOINC class SURVEY.GCS): survey, not vital-signs.
    (LOINC, "9269-2"): row("{score}", "survey", "Quantity"),
    (LOINC, "85353-1"): row("", "vital-signs", None),  # vital signs panel: hasMember only
    (SNOMED, "1104051000000101"): row("{score}", "survey", "Quantity"),  # NEWS2 total
    (LOINC, "30525-0"): row("a", None, "Quantity"),  # age (estimated by the crew)
    (LOINC, "69462-0"): row("", None, "CodeableConcept"),  # pre-arrival team activation
}
# Component code -> allowed units, per parent code.
COMPONENTS: dict[str, dict[str, frozenset[str]]] = {
    "85354-9": {"8480-6": frozenset({"mm[Hg]"}), "8462-4": frozenset({"mm[Hg]"})},  # or absent
    "9269-2": {
        "9267-6": frozenset({"{score}"}),
        "9270-0": frozenset({"{score}"}),
        "9268-4": frozenset({"{score}"}),
    },
    "67520-7": {"RACE total score": frozenset({"{score}"})},
    # An incomplete NEWS2's missing parameters: dataAbsentReason, no value.
    "1104051000000101": {
        "9279-1": frozenset(),
        "2708-6": frozenset(),
        "8480-6": frozenset(),
        "8867-4": frozenset(),
        "67775-7": frozenset(),
        "8310-5": frozenset(),
        "Air or oxygen": frozenset(),
    },
}


def _mixed_units() -> VitalsEntry:
    return VitalsEntry(
        id="v9",
        taken_at=at(30),
        values={"etco2": 4.9, "blood_glucose": 7.1, "gcs_eye": 1, "gcs_motor": 4},
        units={"etco2": "%", "blood_glucose": "mmol/L"},
        news2_total=2,
        news2_complete=False,
        gcs_total=None,
        news2_missing=("respiratory_rate", "spo2", "on_oxygen", "consciousness"),
    )


DOCUMENTS = [
    encounter(),
    encounter(vitals=[full_vitals(), _mixed_units()]),
    encounter(
        vitals=[dataclasses.replace(full_vitals(), units={"blood_glucose": "mg/dL"})],
        patient=reconciled_patient(),
    ),
]


def _observations() -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for doc in DOCUMENTS
        for entry in encounter_bundle(doc)["entry"]
        if entry["resource"]["resourceType"] == "Observation"
    ]


def _key(code: dict[str, Any]) -> str:
    codings = code.get("coding", [])
    return codings[0]["code"] if codings else code["text"]


def _value_type(node: dict[str, Any]) -> str | None:
    kinds = [key.removeprefix("value") for key in node if key.startswith("value")]
    assert len(kinds) <= 1
    return kinds[0] if kinds else None


def _categories(observation: dict[str, Any]) -> list[str]:
    return [c["code"] for cat in observation.get("category", []) for c in cat["coding"]]


def test_every_observation_code_has_its_unit_category_and_value_type():
    seen = set()
    for observation in _observations():
        coding = observation["code"]["coding"][0]
        key = (coding["system"], coding["code"])
        assert key in OBSERVATIONS, f"{key} is emitted but not in the table"
        seen.add(key)
        expected = OBSERVATIONS[key]
        assert _categories(observation) == ([expected.category] if expected.category else [])
        if expected.value is None:
            assert _value_type(observation) is None, key
        else:
            assert _value_type(observation) == expected.value or (
                "dataAbsentReason" in observation
            ), key
        quantity = observation.get("valueQuantity")
        if quantity is not None:
            assert quantity["system"] == UCUM
            assert quantity["code"] in expected.units, (key, quantity["code"])
        for component in observation.get("component", []):
            allowed = COMPONENTS[coding["code"]][_key(component["code"])]
            if "valueQuantity" in component:
                assert component["valueQuantity"]["system"] == UCUM
                assert component["valueQuantity"]["code"] in allowed
            else:
                assert "dataAbsentReason" in component
    # The documents exercise every row, so the table cannot keep a dead entry.
    assert seen == set(OBSERVATIONS)


@pytest.mark.parametrize(
    "profile", ["vitalspanel", "bp", "heartrate", "resprate", "oxygensat", "bodytemp"]
)
def test_vital_sign_observations_meet_the_fixed_values_of_the_r4_profiles(profile):
    # The fixed codes/units of the R4 vital-signs profiles, from the StructureDefinitions.
    fixed = constraints_data()["profiles"][profile]["fixed"]
    (code,) = [v for k, v in fixed.items() if k.startswith("Observation.code.coding:") and
               k.endswith(".code")]  # fmt: skip
    matching = [
        obs
        for obs in _observations()
        if any(c["system"] == LOINC and c["code"] == code for c in obs["code"]["coding"])
    ]
    assert matching
    for obs in matching:
        assert "vital-signs" in _categories(obs)
        assert obs["subject"]["reference"].startswith("urn:uuid:")
        assert len(obs["effectiveDateTime"]) >= 10
        for path, value in fixed.items():
            if path.startswith("Observation.value[x]:valueQuantity."):
                assert obs["valueQuantity"][path.rsplit(".", 1)[1]] == value, path
            elif path.startswith("Observation.component:") and ".value[x]." in path:
                slice_name = path.split(".value[x].")[0]
                (slice_code,) = [
                    v
                    for k, v in fixed.items()
                    if k.startswith(f"{slice_name}.code.coding:") and k.endswith(".code")
                ]
                (component,) = [
                    c for c in obs["component"] if c["code"]["coding"][0]["code"] == slice_code
                ]
                if "dataAbsentReason" not in component:
                    assert component["valueQuantity"][path.rsplit(".", 1)[1]] == value, path
        quantity = obs.get("valueQuantity")
        if quantity is not None:
            # vital-signs profile: value, unit, system and code are all required.
            assert set(quantity) >= {"value", "unit", "system", "code"}
