"""The FHIR R4 document Bundle: validity, codes from the vocabulary, reference integrity."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from handoff.clinical.vocabulary import VITALS
from handoff.interop.document import identifier_systems
from handoff.interop.fhir import encounter_bundle
from handoff.interop.fhir.codes import TEMP_ID_SYSTEM
from handoff.interop.fhir.validation import r4_schema, schema_issues
from tests.handoff.interop.documents import (
    at,
    empty_encounter,
    encounter,
    full_vitals,
    reconciled_patient,
)

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


def test_the_schema_validated_against_is_r4():
    # R4 (4.0.1) is what hospitals run; R4B (4.3.0) and R5 differ in Bundle, Composition
    # and Observation details, so only the 4.0 schema counts.
    assert r4_schema()["id"] == "http://hl7.org/fhir/json-schema/4.0"


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
        empty_encounter(),
    ],
    ids=["planned-unknown", "arrived-reconciled", "finished-snomed", "empty"],
)
def test_bundle_validates_as_fhir_r4_document(doc):
    bundle = encounter_bundle(doc)

    assert schema_issues(bundle) == []
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


def all_sections(sections: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for section in sections:
        yield section
        yield from all_sections(section.get("section", []))


def test_composition_sections_reference_every_clinical_resource(bundle):
    composition = bundle["entry"][0]["resource"]
    in_sections = {
        ref["reference"]
        for section in all_sections(composition["section"])
        for ref in section.get("entry", [])
    }
    for entry in bundle["entry"][1:]:
        kind = entry["resource"]["resourceType"]
        if kind not in (
            "Patient",
            "Organization",
            "Location",
            "Device",
            "Encounter",
            "Practitioner",
            "PractitionerRole",
        ):
            assert entry["fullUrl"] in in_sections, kind
    titles = [section["title"] for section in all_sections(composition["section"])]
    for title in ("Vital signs", "Problems", "Procedures performed", "Current medications"):
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
        # The stroke scale is an assessment (survey): its {score} component cannot meet the
        # vital-signs profile's required component units (ucum-vitals-common).
        category = "survey" if key.startswith("stroke_scale") else "vital-signs"
        assert obs["category"][0]["coding"][0]["code"] == category
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


def test_glucose_and_etco2_are_sent_in_a_unit_of_their_loinc_property(bundle):
    # 2339-0 is glucose mass/volume and 19889-5 a partial pressure (REFERENCE.md's codes):
    # mmol/L and % are converted with the vocabulary's factors, the measurement kept in a note.
    late, early = full_vitals(), encounter().vitals[1]

    glucose_mmol = vital_observation(bundle, "2339-0", late.taken_at)
    glucose_mg = vital_observation(bundle, "2339-0", early.taken_at)
    etco2 = vital_observation(bundle, "19889-5", late.taken_at)
    assert glucose_mmol["valueQuantity"] == {
        "value": 75.6, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"
    }  # fmt: skip
    assert glucose_mmol["note"] == [{"text": "measured 4.2 mmol/L; converted to mg/dL"}]
    assert (glucose_mg["valueQuantity"]["value"], glucose_mg["valueQuantity"]["code"]) == (
        76,
        "mg/dL",
    )
    assert "note" not in glucose_mg
    assert (etco2["valueQuantity"]["value"], etco2["valueQuantity"]["code"]) == (4.1, "kPa")

    percent = dataclasses.replace(late, values=late.values | {"etco2": 5}, units={"etco2": "%"})
    converted = vital_observation(
        encounter_bundle(encounter(vitals=[percent])), "19889-5", late.taken_at
    )
    assert (converted["valueQuantity"]["value"], converted["valueQuantity"]["code"]) == (
        38.0,
        "mm[Hg]",
    )
    assert converted["note"] == [{"text": "measured 5 %; converted to mmHg"}]


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
    # 67520-7 is the interpretation (coded); the RACE score is its component.
    assert stroke["valueCodeableConcept"]["coding"] == [
        {"system": "http://loinc.org", "code": "LA6576-8", "display": "Positive"}
    ]
    assert "valueQuantity" not in stroke
    [score] = stroke["component"]
    assert score["code"] == {"text": "RACE total score"}
    assert score["valueQuantity"]["value"] == 6
    assert score["valueQuantity"]["code"] == "{score}"
    assert stroke["method"] == {"text": "RACE"}


def test_a_stroke_scale_of_zero_is_a_negative_screen():
    vitals = dataclasses.replace(
        full_vitals(), values={"stroke_scale_score": 0, "stroke_scale_type": "BE-FAST"}
    )
    doc = encounter(vitals=[vitals])
    stroke = vital_observation(encounter_bundle(doc), "67520-7", vitals.taken_at)

    assert stroke["valueCodeableConcept"]["coding"][0]["code"] == "LA6577-6"
    assert stroke["component"][0]["code"] == {"text": "BE-FAST total score"}
    assert stroke["component"][0]["valueQuantity"]["value"] == 0


def test_vitals_panel_has_every_set_member(bundle):
    taken = full_vitals().taken_at
    panel = vital_observation(bundle, "85353-1", taken)
    members = {ref["reference"] for ref in panel["hasMember"]}
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}

    assert all(by_url[url]["effectiveDateTime"] == taken.isoformat() for url in members)
    # 16 vital keys; BP folds 2 and GCS 4 into one Observation each, and GCS and the stroke
    # scale (surveys, not vital signs) are not members of the R4 vital-signs panel.
    assert len(members) == 10
    assert all(by_url[url]["category"][0]["coding"][0]["code"] == "vital-signs" for url in members)


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


def test_incomplete_news2_is_marked_in_data_with_each_missing_parameter():
    entry = dataclasses.replace(
        encounter().vitals[1],
        news2_missing=("respiratory_rate", "spo2", "consciousness", "temperature", "on_oxygen"),
    )
    bundle = encounter_bundle(encounter(vitals=[entry, full_vitals()]))
    incomplete, complete = [
        obs
        for obs in resources(bundle, "Observation")
        if obs["code"]["coding"][0]["code"] == "1104051000000101"
    ]

    # The total is a lower bound: the comparator says so, not only the note.
    assert incomplete["valueQuantity"]["comparator"] == ">="
    assert "comparator" not in complete["valueQuantity"]
    assert "component" not in complete
    gaps = {
        c["code"].get("coding", [{}])[0].get("code", c["code"]["text"]): c["dataAbsentReason"]
        for c in incomplete["component"]
    }
    assert set(gaps) == {"9279-1", "2708-6", "67775-7", "8310-5", "Air or oxygen"}
    assert all(
        reason["coding"][0]
        == {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
            "code": "not-performed"}
        for reason in gaps.values()
    )  # fmt: skip
    assert all("value" not in key for c in incomplete["component"] for key in c)
    assert (
        "Missing: Respiration rate, SpO2, Consciousness, Temperature, Air or oxygen"
        in (incomplete["note"][0]["text"])
    )


def test_a_news2_parameter_recorded_but_not_scorable_is_absent_as_unknown():
    # SpO2 94 on scale 2 cannot be scored without knowing air or oxygen.
    entry = dataclasses.replace(
        encounter().vitals[1],
        values={"heart_rate": 104, "spo2": 94},
        news2_missing=("spo2", "on_oxygen"),
    )
    bundle = encounter_bundle(encounter(vitals=[entry]))
    (news2,) = [
        obs
        for obs in resources(bundle, "Observation")
        if obs["code"]["coding"][0]["code"] == "1104051000000101"
    ]

    spo2, oxygen = news2["component"]
    assert spo2["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert oxygen["code"] == {"text": "Air or oxygen"}
    assert oxygen["dataAbsentReason"]["coding"][0]["code"] == "not-performed"


def test_unknown_patient_has_temp_id_unknown_birth_date_and_estimated_age(bundle):
    (patient,) = resources(bundle, "Patient")

    assert patient["identifier"] == [
        {"use": "temp", "system": "urn:golden-hour:temp-id", "value": "GH-7F3K2Q"}
    ]
    assert TEMP_ID_SYSTEM == "urn:golden-hour:temp-id"  # the development default
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
def test_encounter_status_class_and_receiving_ed_location(status, expected, composition_status):
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
    # The receiving ED is the encounter's location; R4's hospitalization.destination means
    # where the patient goes after the encounter, so it is not used.
    assert "hospitalization" not in enc
    (where,) = enc["location"]
    assert by_url[where["location"]["reference"]] is location
    assert (
        where["status"]
        == {"planned": "planned", "arrived": "active", "finished": "completed"}[status]
    )
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


def test_crew_and_ems_organization_author_the_document(bundle):
    composition = bundle["entry"][0]["resource"]
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    authors = [by_url[ref["reference"]] for ref in composition["author"]]

    assert [a["resourceType"] for a in authors] == [
        "PractitionerRole", "PractitionerRole", "Organization", "Device"
    ]  # fmt: skip
    practitioners = [by_url[role["practitioner"]["reference"]] for role in authors[:2]]
    assert [p["name"][0]["family"] for p in practitioners] == ["Korhonen", "Nieminen"]
    assert [p["identifier"][0] for p in practitioners] == [
        {"system": "urn:golden-hour:practitioner", "value": "17"},
        {"system": "urn:golden-hour:practitioner", "value": "23"},
    ]
    ems = authors[2]
    assert ems["name"] == "Helsinki EMS"
    assert ems["identifier"] == [{"system": "urn:golden-hour:ems-organization", "value": "HEMS"}]
    assert all(by_url[role["organization"]["reference"]] is ems for role in authors[:2])
    assert by_url[composition["custodian"]["reference"]] is ems
    assert by_url[authors[3]["owner"]["reference"]] is ems


def test_without_known_crew_the_ems_organization_and_device_author_it():
    bundle = encounter_bundle(encounter(crew=(), ems_organization=None))
    composition = bundle["entry"][0]["resource"]
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}

    kinds = [by_url[ref["reference"]]["resourceType"] for ref in composition["author"]]
    assert kinds == ["Organization", "Device"]
    assert not resources(bundle, "Practitioner")
    assert set(references(bundle)) <= set(by_url)


@pytest.mark.parametrize(
    ("base", "temp", "mrn"),
    [
        ("https://ems.example.fi/fhir/sid", "https://ems.example.fi/fhir/sid/temp-id",
         "https://ems.example.fi/fhir/sid/hospital/STMARY/mrn"),
        ("urn:oid:1.2.246.537.10", "urn:oid:1.2.246.537.10.1", None),
    ],
)  # fmt: skip
def test_identifier_systems_come_from_the_deployment(base, temp, mrn):
    systems = identifier_systems(base)
    bundle = encounter_bundle(encounter(patient=reconciled_patient(), systems=systems))
    (patient,) = resources(bundle, "Patient")
    (enc,) = resources(bundle, "Encounter")

    assert patient["identifier"][1]["system"] == temp
    assert patient["identifier"][0].get("system") == mrn
    assert patient["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    assert enc["identifier"][0]["system"] == systems.encounter
    every = json.dumps(bundle)
    assert "urn:golden-hour" not in every

    # A hospital's own MRN system, when configured, wins over the derived one.
    own = identifier_systems(base, {"STMARY": "urn:oid:1.2.246.10.99"})
    bundle = encounter_bundle(encounter(patient=reconciled_patient(), systems=own))
    assert resources(bundle, "Patient")[0]["identifier"][0]["system"] == "urn:oid:1.2.246.10.99"


@pytest.mark.parametrize(
    "base", ["urn:golden-hour", "http://ems.example.fi/sid", "urn:oid:1.2.x", "ems.example.fi"]
)
def test_identifier_base_must_be_https_or_an_oid(base):
    with pytest.raises(ValueError, match="identifier base must be an https URI or urn:oid"):
        identifier_systems(base)


def _xhtml(div: str) -> ET.Element:
    return ET.fromstring(div)  # noqa: S314 - our own generated narrative, not untrusted input


def test_every_section_has_escaped_narrative_from_its_entries(bundle):
    composition = bundle["entry"][0]["resource"]
    sections = {section["title"]: section for section in composition["section"]}

    for section in composition["section"]:
        text = section["text"]
        assert text["status"] == "generated"
        root = _xhtml(text["div"])
        assert root.tag == "{http://www.w3.org/1999/xhtml}div"
        lines = ["".join(p.itertext()) for p in root]
        assert all(lines)
        if "entry" in section:
            assert len(lines) == len(section["entry"]), section["title"]
    chief = "".join(_xhtml(sections["Chief complaint"]["text"]["div"]).itertext())
    assert chief == encounter().chief_complaint  # & and < survive as text, escaped in XML
    assert "&amp;" in sections["Chief complaint"]["text"]["div"]
    allergies = "".join(_xhtml(sections["Allergies"]["text"]["div"]).itertext())
    assert "Penicillin" in allergies
    assert "Latex" in allergies
    vitals = sections["Vital signs"]["text"]["div"]
    assert "heart rate: 112 /min" in vitals
    assert "75.6 mg/dL" in vitals


def test_an_empty_section_says_information_is_not_available():
    bundle = encounter_bundle(encounter(allergies=[], procedures=[]))
    sections = {s["title"]: s for s in all_sections(bundle["entry"][0]["resource"]["section"])}

    for title in ("Allergies", "Procedures performed"):
        section = sections[title]
        assert "entry" not in section
        assert section["emptyReason"]["coding"][0]["code"] == "unavailable"
        assert "Information not available." in section["text"]["div"]


def test_blood_pressure_with_one_reading_sends_the_other_as_absent():
    bundle = encounter_bundle(encounter())
    bp = vital_observation(bundle, "85354-9", encounter().vitals[1].taken_at)

    systolic, diastolic = bp["component"]
    assert systolic["valueQuantity"]["value"] == 102
    assert diastolic["code"]["coding"][0]["code"] == "8462-4"
    assert diastolic["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert "valueQuantity" not in diastolic
