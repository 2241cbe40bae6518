"""The FHIR R4 document Bundle: validity, codes from the vocabulary, reference integrity."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fhir.resources.R4B import __fhir_version__
from fhir.resources.R4B.bundle import Bundle

from handoff.clinical.vocabulary import VITALS
from handoff.interop.fhir import TEMP_ID_SYSTEM, encounter_bundle
from tests.handoff.interop.documents import at, encounter, full_vitals, reconciled_patient

# fhir.resources checks structure, cardinality and types, not terminology bindings; these
# are the R4 required value sets for the coded elements we fill, checked here instead.
R4_REQUIRED = {
    ("Encounter", "status"): {
        "planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
        "entered-in-error", "unknown",
    },
    ("Observation", "status"): {
        "registered", "preliminary", "final", "amended", "corrected", "cancelled",
        "entered-in-error", "unknown",
    },
    ("Composition", "status"): {"preliminary", "final", "amended", "entered-in-error"},
    ("Procedure", "status"): {
        "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
        "entered-in-error", "unknown",
    },
    ("MedicationAdministration", "status"): {
        "in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped",
        "unknown",
    },
    ("MedicationStatement", "status"): {
        "active", "completed", "entered-in-error", "intended", "stopped", "on-hold",
        "unknown", "not-taken",
    },
    ("Flag", "status"): {"active", "inactive", "entered-in-error"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
}  # fmt: skip


def resources(bundle: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if kind is None or entry["resource"]["resourceType"] == kind
    ]


def references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def loinc_codes(resource: dict[str, Any]) -> list[str]:
    return [
        c["code"] for c in resource["code"].get("coding", []) if c["system"] == "http://loinc.org"
    ]


def vital_observation(bundle: dict[str, Any], loinc: str, effective: datetime) -> dict[str, Any]:
    matches = [
        obs
        for obs in resources(bundle, "Observation")
        if loinc in loinc_codes(obs) and obs.get("effectiveDateTime") == effective.isoformat()
    ]
    assert len(matches) == 1, loinc
    return matches[0]


@pytest.fixture
def bundle() -> dict[str, Any]:
    return encounter_bundle(encounter())


def test_models_are_fhir_4_x():
    # R4B (4.3.0) is the R4-compatible model set shipped by fhir.resources 8; the default
    # package is R5 and must not be the one we validate against.
    assert __fhir_version__.startswith("4.")


@pytest.mark.parametrize(
    "doc",
    [
        encounter(),
        encounter(status="arrived", arrived_at=at(40), patient=reconciled_patient()),
        encounter(
            status="finished",
            arrived_at=at(40),
            transfer_of_care_at=at(58),
            patient=reconciled_patient(),
            working_impression_code="230690007",
        ),
        encounter(
            vitals=[],
            procedures=[],
            medications_given=[],
            activations=[],
            allergies=[],
            medications=[],
            history=[],
            working_impression="",
            working_impression_code=None,
            chief_complaint="",
            eta=None,
            last_known_well=None,
        ),
    ],
    ids=["planned-unknown", "arrived-reconciled", "finished-snomed", "empty"],
)
def test_bundle_validates_as_fhir_r4_document(doc):
    bundle = encounter_bundle(doc)

    Bundle.model_validate(bundle)
    json.dumps(bundle)
    assert bundle["type"] == "document"
    assert bundle["identifier"]["value"].startswith("urn:uuid:")
    assert bundle["timestamp"] == doc.updated_at.isoformat()
    assert bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    for resource in resources(bundle):
        for (kind, element), allowed in R4_REQUIRED.items():
            if resource["resourceType"] == kind and element in resource:
                assert resource[element] in allowed, (kind, element)


def test_every_reference_resolves_to_a_full_url_in_the_bundle(bundle):
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]

    assert len(full_urls) == len(set(full_urls))
    assert all(url.startswith("urn:uuid:") for url in full_urls)
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    found = list(references(bundle))
    assert found
    assert set(found) <= set(full_urls)


def test_composition_sections_reference_every_clinical_resource(bundle):
    composition = bundle["entry"][0]["resource"]
    in_sections = {
        ref["reference"] for section in composition["section"] for ref in section.get("entry", [])
    }
    for entry in bundle["entry"][1:]:
        kind = entry["resource"]["resourceType"]
        if kind not in ("Patient", "Organization", "Location", "Device", "Encounter"):
            assert entry["fullUrl"] in in_sections, kind
    titles = [section["title"] for section in composition["section"]]
    for title in ("Vital signs", "Problems", "Procedures", "Current medications", "Alerts"):
        assert title in titles


def test_same_document_gives_the_same_bundle():
    assert encounter_bundle(encounter()) == encounter_bundle(encounter())


def test_each_vital_uses_the_vocabulary_loinc_code(bundle):
    entry = full_vitals()
    simple = [
        key
        for key in entry.values
        if key in VITALS
        and key not in ("systolic_bp", "diastolic_bp")
        and not key.startswith("gcs_")
    ]
    for key in simple:
        obs = vital_observation(bundle, VITALS[key].loinc, entry.taken_at)
        assert obs["category"][0]["coding"][0]["code"] == "vital-signs"
        assert obs["status"] == "final"
    # Pin the vocabulary to REFERENCE.md so a code change there cannot pass silently.
    assert {key: VITALS[key].loinc for key in simple} == {
        "heart_rate": "8867-4",
        "respiratory_rate": "9279-1",
        "spo2": "2708-6",
        "temperature": "8310-5",
        "blood_glucose": "2339-0",
        "pain_score": "72514-3",
        "etco2": "19889-5",
        "avpu": "67775-7",
        "cardiac_rhythm": "67519-9",
        "stroke_scale_score": "67520-7",
    }


def test_blood_pressure_is_one_observation_with_two_components(bundle):
    entry = full_vitals()
    bp = vital_observation(bundle, "85354-9", entry.taken_at)

    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in bp["component"]}
    assert components == {
        VITALS["systolic_bp"].loinc: {
            "value": 96, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"
        },
        VITALS["diastolic_bp"].loinc: {
            "value": 58, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"
        },
    }  # fmt: skip
    assert "8480-6" in components
    assert "8462-4" in components
    assert "valueQuantity" not in bp


def test_gcs_total_carries_its_three_components(bundle):
    gcs = vital_observation(bundle, "9269-2", full_vitals().taken_at)

    assert gcs["valueQuantity"]["value"] == 13
    assert gcs["valueQuantity"]["code"] == "{score}"
    assert [c["code"]["coding"][0]["code"] for c in gcs["component"]] == [
        VITALS["gcs_eye"].loinc,
        VITALS["gcs_verbal"].loinc,
        VITALS["gcs_motor"].loinc,
    ]
    assert [c["valueQuantity"]["value"] for c in gcs["component"]] == [3, 4, 6]


def test_spo2_has_both_codes_and_the_oxygen_modifier(bundle):
    spo2 = vital_observation(bundle, "2708-6", full_vitals().taken_at)

    assert loinc_codes(spo2) == ["2708-6", "59408-5"]
    assert spo2["valueQuantity"]["code"] == "%"
    assert spo2["note"] == [{"text": "on supplemental oxygen"}]


def test_units_travel_with_glucose_and_etco2(bundle):
    late, early = full_vitals(), encounter().vitals[1]

    glucose_mmol = vital_observation(bundle, "2339-0", late.taken_at)["valueQuantity"]
    glucose_mg = vital_observation(bundle, "2339-0", early.taken_at)["valueQuantity"]
    etco2 = vital_observation(bundle, "19889-5", late.taken_at)["valueQuantity"]
    assert (glucose_mmol["value"], glucose_mmol["code"]) == (4.2, "mmol/L")
    assert (glucose_mg["value"], glucose_mg["code"]) == (76, "mg/dL")
    assert (etco2["value"], etco2["code"]) == (4.1, "kPa")


def test_units_of_fixed_unit_vitals_are_ucum(bundle):
    taken = full_vitals().taken_at
    assert vital_observation(bundle, "8310-5", taken)["valueQuantity"]["code"] == "Cel"
    assert vital_observation(bundle, "8867-4", taken)["valueQuantity"]["code"] == "/min"
    assert vital_observation(bundle, "9279-1", taken)["valueQuantity"]["code"] == "/min"
    assert vital_observation(bundle, "72514-3", taken)["valueQuantity"]["code"] == "{score}"


def test_unit_outside_the_vocabulary_is_rejected():
    doc = encounter(vitals=[dataclasses.replace(full_vitals(), units={"blood_glucose": "g/L"})])
    with pytest.raises(ValueError, match="blood_glucose"):
        encounter_bundle(doc)


def test_coded_vitals_and_stroke_scale_type(bundle):
    taken = full_vitals().taken_at
    avpu = vital_observation(bundle, "67775-7", taken)["valueCodeableConcept"]
    rhythm = vital_observation(bundle, "67519-9", taken)["valueCodeableConcept"]
    stroke = vital_observation(bundle, "67520-7", taken)

    assert avpu["coding"][0]["code"] == "V"
    assert rhythm == {"text": "Sinus tachycardia"}
    assert stroke["valueQuantity"]["value"] == 6
    assert stroke["method"] == {"text": "RACE"}


def test_vitals_panel_has_every_set_member(bundle):
    taken = full_vitals().taken_at
    panel = vital_observation(bundle, "85353-1", taken)
    members = {ref["reference"] for ref in panel["hasMember"]}
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}

    assert all(by_url[url]["effectiveDateTime"] == taken.isoformat() for url in members)
    assert len(members) == 12  # 16 vital keys; BP folds 2 and GCS 4 into one Observation each


def test_news2_is_a_snomed_observation_noting_incomplete_vitals(bundle):
    news2 = [
        obs
        for obs in resources(bundle, "Observation")
        if obs["code"]["coding"][0]["code"] == "1104051000000101"
    ]

    assert [obs["valueQuantity"]["value"] for obs in news2] == [3, 11]
    assert news2[0]["code"]["coding"][0]["system"] == "http://snomed.info/sct"
    assert "lower bound" in news2[0]["note"][0]["text"]
    assert "note" not in news2[1]


def test_unknown_patient_has_temp_id_unknown_birth_date_and_estimated_age(bundle):
    (patient,) = resources(bundle, "Patient")

    assert patient["identifier"] == [
        {"use": "temp", "system": TEMP_ID_SYSTEM, "value": "GH-7F3K2Q"}
    ]
    assert "birthDate" not in patient
    assert patient["_birthDate"]["extension"][0]["valueCode"] == "unknown"
    assert "name" not in patient
    (age,) = [obs for obs in resources(bundle, "Observation") if loinc_codes(obs) == ["30525-0"]]
    assert age["valueQuantity"]["value"] == 70
    assert age["valueQuantity"]["code"] == "a"


def test_reconciled_patient_leads_with_the_mrn():
    bundle = encounter_bundle(encounter(patient=reconciled_patient()))
    (patient,) = resources(bundle, "Patient")

    mrn, temp = patient["identifier"]
    assert mrn["value"] == "00412345"
    assert mrn["type"]["coding"][0]["code"] == "MR"
    assert temp["value"] == "GH-7F3K2Q"
    assert patient["birthDate"] == "1954-06-02"
    assert patient["name"] == [{"family": "O'Brien", "given": ["Liam"]}]
    assert not [obs for obs in resources(bundle, "Observation") if loinc_codes(obs) == ["30525-0"]]


@pytest.mark.parametrize(
    ("status", "expected", "composition_status"),
    [("planned", "planned", "preliminary"), ("arrived", "arrived", "preliminary"),
     ("finished", "finished", "final")],
)  # fmt: skip
def test_encounter_status_class_and_destination(status, expected, composition_status):
    arrived = None if status == "planned" else at(40)
    handed = at(58) if status == "finished" else None
    bundle = encounter_bundle(
        encounter(status=status, arrived_at=arrived, transfer_of_care_at=handed)
    )
    (enc,) = resources(bundle, "Encounter")
    (location,) = resources(bundle, "Location")
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}

    assert enc["status"] == expected
    assert bundle["entry"][0]["resource"]["status"] == composition_status
    assert enc["class"]["code"] == "EMER"
    assert enc["class"]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert by_url[enc["hospitalization"]["destination"]["reference"]] is location
    assert enc["extension"][0]["valueDateTime"] == at(40).isoformat()  # ETA
    if status == "planned":
        assert "period" not in enc
    else:
        assert enc["period"]["start"] == at(40).isoformat()
    assert ("end" in enc.get("period", {})) is (status == "finished")


def test_conditions_allergies_medications_and_procedures(bundle):
    impression, *history = resources(bundle, "Condition")
    assert impression["code"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I63.9"}
    ]
    assert impression["onsetPeriod"]["start"] == at(-36).isoformat()
    assert [c["code"]["text"] for c in history] == ["Atrial fibrillation", "Type 2 diabetes"]
    assert [a["code"]["text"] for a in resources(bundle, "AllergyIntolerance")] == [
        "Penicillin",
        "Latex",
    ]
    statements = resources(bundle, "MedicationStatement")
    assert [s.get("note") for s in statements] == [[{"text": "anticoagulant"}], None]
    given = resources(bundle, "MedicationAdministration")
    assert given[0]["dosage"] == {
        "route": {"text": "IV"},
        "dose": {"value": 4, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
    }
    (procedure,) = resources(bundle, "Procedure")
    assert procedure["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "268400002",
    }


def test_team_activation_is_a_flag_and_an_edisposition_24_observation(bundle):
    flags = [flag["code"]["text"] for flag in resources(bundle, "Flag")]
    activations = [
        obs for obs in resources(bundle, "Observation") if loinc_codes(obs) == ["69462-0"]
    ]

    assert any(text.startswith("stroke team activation") for text in flags)
    assert any(text.startswith("deterioration team activation") for text in flags)
    assert "Anticoagulated: Apixaban" in flags
    # "deterioration" is not an eDisposition.24 value, so only the stroke one is coded.
    assert [obs["valueCodeableConcept"]["text"] for obs in activations] == ["stroke"]
    assert activations[0]["effectiveDateTime"] == at(11).isoformat()


def test_naive_datetime_is_rejected():
    with pytest.raises(ValueError, match="updated_at"):
        encounter_bundle(encounter(updated_at=datetime(2025, 3, 14, 9, 38)))  # noqa: DTZ001
