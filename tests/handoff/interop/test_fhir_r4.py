"""The document Bundle is FHIR R4 (4.0.1) a hospital accepts: the R4 JSON schema, the R4
cardinalities and invariants, the R4 vital-signs profile per Observation, every reference
resolved inside the Bundle, and the IHE mPSC sections with their codes."""

from __future__ import annotations

import ast
import copy
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handoff.interop.document import MedicationGiven, Procedure, VitalsEntry
from handoff.interop.fhir import encounter_bundle
from handoff.interop.fhir.validation import r4_schema, resource_types, schema_issues
from tests.handoff.interop.documents import (
    at,
    empty_encounter,
    encounter,
    first_vitals,
    full_vitals,
    reconciled_patient,
)
from tests.handoff.interop.invariants import constraints_data, violations

ROOT = Path(__file__).resolve().parents[3]
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
VITALSIGNS = "http://hl7.org/fhir/StructureDefinition/vitalsigns"


def _vitals_at(minute: int, heart_rate: int) -> VitalsEntry:
    return VitalsEntry(
        id=f"s{minute}",
        taken_at=at(minute),
        values={
            "heart_rate": heart_rate,
            "respiratory_rate": 18,
            "systolic_bp": 130,
            "diastolic_bp": 80,
            "spo2": 97,
            "temperature": 36.8,
        },
        units={},
        news2_total=0,
        news2_complete=True,
        gcs_total=None,
    )


# Every shape a hospital can be sent: nothing yet, one reading, many sets, treatment only,
# a finished handover, a cancelled one, and a later version replacing an earlier one.
SHAPES: dict[str, tuple[Any, dict[str, str] | None]] = {
    "rich": (encounter(), None),
    "no-vitals": (encounter(vitals=[]), None),
    "empty": (
        empty_encounter(destination_reason=""),
        None,
    ),
    "one-reading": (encounter(vitals=[first_vitals()]), None),
    "many-sets": (encounter(vitals=[_vitals_at(m, 80 + m) for m in range(0, 60, 5)]), None),
    "medications-and-procedures": (
        encounter(
            vitals=[],
            medications_given=[
                MedicationGiven(f"m{i}", at(i), name, dose, unit, route)
                for i, (name, dose, unit, route) in enumerate(
                    [
                        ("Adrenaline", 1, "mg", "IV"),
                        ("Aspirin", 300, "mg", "PO"),
                        ("Glucose 10%", 250, "ml", "IV"),
                        ("Fentanyl", 50, "mcg", "IN"),
                        ("Tranexamic acid", 1, "g", "IV"),
                        ("Saline", None, "", ""),
                    ]
                )
            ],
            procedures=[
                Procedure("p1", at(1), "12-lead ECG", "268400002"),
                Procedure("p2", at(2), "Peripheral IV cannulation", None),
                Procedure("p3", at(3), "Cervical collar", None),
            ],
        ),
        None,
    ),
    "finished-reconciled": (
        encounter(
            status="finished",
            arrived_at=at(40),
            transfer_of_care_at=at(58),
            patient=reconciled_patient(),
            working_impression_code="230690007",
        ),
        None,
    ),
    "cancelled": (encounter(status="cancelled", vitals=[], procedures=[]), None),
    "replaces-earlier": (
        encounter(status="arrived", arrived_at=at(40), updated_at=at(41)),
        {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0b7c1c0e-3c52-5b7e-9f3e-6d1d9a1f2e11"},
    ),
    "no-hospital-yet": (encounter(hospital_code="", hospital_name="", eta=None), None),
}


def _bundle(name: str) -> dict[str, Any]:
    doc, replaces = SHAPES[name]
    return encounter_bundle(doc, replaces=replaces)


def _resources(bundle: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if kind is None or entry["resource"]["resourceType"] == kind
    ]


def _references(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Every Reference.reference in the tree, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield path, value
            else:
                yield from _references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _references(item, f"{path}[{index}]")


def _sections(sections: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for section in sections:
        yield section
        yield from _sections(section.get("section", []))


def _vital_signs(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        obs
        for obs in _resources(bundle, "Observation")
        if any(
            coding.get("code") == "vital-signs"
            for category in obs.get("category", [])
            for coding in category.get("coding", [])
        )
    ]


@pytest.mark.parametrize("name", SHAPES)
def test_every_shape_passes_the_r4_json_schema(name):
    bundle = _bundle(name)
    assert schema_issues(bundle) == []


@pytest.mark.parametrize("name", SHAPES)
def test_every_shape_keeps_the_r4_cardinalities_and_invariants(name):
    bundle = _bundle(name)
    found = violations(bundle)[0]
    for resource in _resources(bundle):
        found += violations(resource)[0]
    assert found == [], "\n".join(map(str, found))


def test_the_schema_rejects_what_r4_rejects():
    # A control on the validator: each of these breaks R4, and it is named by element.
    bundle = _bundle("rich")
    broken = copy.deepcopy(bundle)
    observation = next(r for r in _resources(broken, "Observation") if "valueQuantity" in r)
    observation["valueQuantity"]["value"] = "112"
    observation["interpretationText"] = "high"  # no such element in R4
    broken["entry"][0]["resource"]["status"] = "draft"  # not a CompositionStatus
    broken["entry"][0]["resource"]["date"] = "14/03/2025"
    patient = next(r for r in _resources(broken, "Patient"))
    patient["gender"] = "M"
    broken["type"] = "documents"

    issues = schema_issues(broken)
    text = "\n".join(issues)
    index = next(i for i, e in enumerate(broken["entry"]) if e["resource"] is observation)
    assert f"entry[{index}].resource(Observation).valueQuantity.value: must be of JSON type" in text
    assert f"entry[{index}].resource(Observation): unknown element(s) interpretationText" in text
    assert "entry[0].resource(Composition).status: code not in the required value set" in text
    assert "entry[0].resource(Composition).date: does not match the R4 format" in text
    assert "resource(Patient).gender: code not in the required value set" in text
    assert "type: code not in the required value set" in text
    # The value itself (patient data) is never echoed.
    assert "14/03/2025" not in text
    assert schema_issues({"resourceType": "Bot"}) == ["(resource): not an R4 resource type"]


def test_r4b_and_r5_only_elements_are_refused():
    # Composition.name (R5), Observation.instantiatesCanonical (R5) and Bundle.issues (R5)
    # are not R4: a model set of another version would let them through.
    bundle = _bundle("rich")
    broken = copy.deepcopy(bundle)
    broken["entry"][0]["resource"]["name"] = "handoff"
    broken["issues"] = {"resourceType": "OperationOutcome", "issue": []}
    next(r for r in _resources(broken, "Observation"))["instantiatesCanonical"] = "http://x"
    text = "\n".join(schema_issues(broken))
    assert "resource(Composition): unknown element(s) name" in text
    assert "(resource): unknown element(s) issues" in text
    assert "unknown element(s) instantiatesCanonical" in text
    assert "Bot" not in resource_types()
    assert {"Composition", "Observation", "Bundle"} <= resource_types()


def test_a_missing_required_primitive_is_found():
    # The JSON schema cannot require a primitive (it may come as _name); the R4 min 1 is
    # checked from the StructureDefinitions instead.
    bundle = _bundle("rich")
    observation = copy.deepcopy(_resources(bundle, "Observation")[0])
    del observation["status"]
    assert schema_issues(observation) == []
    found = violations(observation)[0]
    assert [(v.key, v.detail) for v in found] == [("min", "Observation.status missing")]
    # Present only as an extension (_status) is allowed by R4.
    observation["_status"] = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "unknown",
            }
        ]
    }
    assert violations(observation)[0] == []


@pytest.mark.parametrize("name", SHAPES)
def test_every_reference_resolves_inside_the_bundle(name):
    bundle = _bundle(name)
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    assert all(url.startswith("urn:uuid:") for url in full_urls)
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    walked = list(_references(bundle))
    assert walked  # a document always refers to its subject, encounter and authors
    dangling = [(where, ref) for where, ref in walked if ref not in by_url]
    assert dangling == []
    # The reference's type is the type of what it points at (Reference.type is not sent).
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"


def test_the_reference_walk_fails_on_a_dangling_reference():
    bundle = _bundle("rich")
    broken = copy.deepcopy(bundle)
    del broken["entry"][1]  # the Patient every clinical resource points at
    by_url = {entry["fullUrl"] for entry in broken["entry"]}
    dangling = [ref for _where, ref in _references(broken) if ref not in by_url]
    assert dangling
    assert bundle["entry"][1]["fullUrl"] in dangling


def _profile(name: str) -> dict[str, Any]:
    return constraints_data()["profiles"][name]


# code -> the R4 profile for it (besides vitalsigns), from the profiles' own fixed codes.
SPECIFIC = {
    value: name
    for name in ("vitalspanel", "bp", "heartrate", "resprate", "oxygensat", "bodytemp")
    for element, value in _profile(name)["fixed"].items()
    if element.startswith("Observation.code.coding:") and element.endswith(".code")
}


def _profile_problems(obs: dict[str, Any], by_url: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    claimed = obs.get("meta", {}).get("profile", [])
    if VITALSIGNS not in claimed:
        problems.append("meta.profile lacks vitalsigns")
    codes = [c["code"] for c in obs["code"].get("coding", []) if c["system"] == LOINC]
    specific = [SPECIFIC[code] for code in codes if code in SPECIFIC]
    names = ["vitalsigns", *specific]
    expected = [VITALSIGNS] + [_profile(name)["url"] for name in specific]
    if claimed != expected:
        problems.append(f"meta.profile {claimed} != {expected}")
    if obs.get("status") not in ("registered", "preliminary", "final", "amended"):
        problems.append("status")
    # VSCat: category vital-signs from the observation-category system.
    fixed = _profile("vitalsigns")["fixed"]
    if not any(
        coding.get("system") == fixed["Observation.category:VSCat.coding.system"]
        and coding.get("code") == fixed["Observation.category:VSCat.coding.code"]
        for category in obs["category"]
        for coding in category.get("coding", [])
    ):
        problems.append("category VSCat")
    # subject: a Patient in the Bundle; effective[x]: dateTime of at least a day (vs-1).
    subject = by_url.get(obs.get("subject", {}).get("reference", ""))
    if subject is None or subject["resourceType"] != "Patient":
        problems.append("subject is not a Patient in the Bundle")
    effective = obs.get("effectiveDateTime")
    if not isinstance(effective, str) or len(effective) < 10:
        problems.append("effectiveDateTime")
    # Quantities: value, unit, UCUM system and code, as the profile requires.
    quantities = [obs["valueQuantity"]] if "valueQuantity" in obs else []
    quantities += [c["valueQuantity"] for c in obs.get("component", []) if "valueQuantity" in c]
    for quantity in quantities:
        if not all(key in quantity for key in ("value", "unit", "system", "code")):
            problems.append("Quantity needs value, unit, system and code")
        if quantity.get("system") != UCUM:
            problems.append("Quantity system is not UCUM")
    if obs.get("component") and not all(
        c.get("valueQuantity", {}).get("code")
        in ("%", "cm", "[in_i]", "kg", "g", "[lb_av]", "Cel", "[degF]", "mm[Hg]", "/min")
        or "dataAbsentReason" in c
        or "valueQuantity" not in c
        for c in obs["component"]
    ):
        problems.append("component unit outside ucum-vitals-common")
    # hasMember only vital-sign Observations (the panel).
    for member in obs.get("hasMember", []):
        target = by_url[member["reference"]]
        if VITALSIGNS not in target.get("meta", {}).get("profile", []):
            problems.append("hasMember is not a vital sign")
    # Every fixed code and unit of each claimed profile, e.g. bp's 8480-6/8462-4 in mm[Hg].
    for name in names[1:]:
        for element, value in _profile(name)["fixed"].items():
            if element.startswith("Observation.code.coding:") and value not in (
                *codes,
                LOINC,
            ):
                problems.append(f"{element} != {value}")
            if element.startswith("Observation.component:"):
                component = element.split(":")[1].split(".")[0]  # SystolicBP / DiastolicBP
                code = _profile(name)["fixed"][
                    f"Observation.component:{component}.code.coding:"
                    f"{'S' if component.startswith('S') else 'D'}BPCode.code"
                ]
                (part,) = [
                    c
                    for c in obs["component"]
                    if any(x["code"] == code for x in c["code"]["coding"])
                ]
                if element.endswith("value[x].code") and "valueQuantity" in part:
                    if part["valueQuantity"]["code"] != value:
                        problems.append(f"{component} unit")
                elif element.endswith("value[x].system") and "valueQuantity" in part:
                    if part["valueQuantity"]["system"] != value:
                        problems.append(f"{component} system")
                elif "valueQuantity" not in part and "dataAbsentReason" not in part:
                    problems.append(f"{component} has neither value nor dataAbsentReason")
    # Slice-less cardinalities of the profiles (subject, effective[x], ...).
    for name in names:
        for required in _profile(name)["required"]:
            if ":" in required or required.count(".") != 1:
                continue
            stem = required.split(".")[1].removesuffix("[x]")
            if not any(key.lstrip("_").startswith(stem) for key in obs):
                problems.append(f"{name}: {required} missing")
    return problems


@pytest.mark.parametrize("name", SHAPES)
def test_each_vital_sign_observation_meets_the_r4_vital_signs_profile(name):
    bundle = _bundle(name)
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    signs = _vital_signs(bundle)
    doc = SHAPES[name][0]
    assert bool(signs) == bool(doc.vitals)
    problems = {obs["id"]: _profile_problems(obs, by_url) for obs in signs}
    assert {key: value for key, value in problems.items() if value} == {}
    # Surveys (GCS, NEWS2, stroke scale) and other Observations claim no vital-signs profile.
    for obs in _resources(bundle, "Observation"):
        if obs not in signs:
            assert "meta" not in obs


def test_profile_check_catches_a_broken_vital_sign():
    bundle = _bundle("rich")
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    bp = next(o for o in _vital_signs(bundle) if o["code"]["coding"][0]["code"] == "85354-9")
    broken = copy.deepcopy(bp)
    broken["component"][0]["valueQuantity"]["code"] = "mmHg"
    del broken["subject"]
    broken["meta"]["profile"] = [VITALSIGNS]
    problems = _profile_problems(broken, by_url)
    assert "SystolicBP unit" in problems
    assert "subject is not a Patient in the Bundle" in problems
    assert any(p.startswith("meta.profile") for p in problems)


def test_blood_pressure_is_one_85354_9_panel_with_both_components():
    bundle = _bundle("rich")
    (bp_full,) = [
        o
        for o in _vital_signs(bundle)
        if o["code"]["coding"][0]["code"] == "85354-9"
        and o["effectiveDateTime"] == full_vitals().taken_at.isoformat()
    ]
    assert bp_full["meta"]["profile"] == [VITALSIGNS, "http://hl7.org/fhir/StructureDefinition/bp"]
    assert "valueQuantity" not in bp_full
    assert [c["code"]["coding"][0]["code"] for c in bp_full["component"]] == ["8480-6", "8462-4"]
    assert [c["valueQuantity"] for c in bp_full["component"]] == [
        {"value": 96, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        {"value": 58, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
    ]


# IHE mPSC 2.0.0-draft (IHE/PCC.PCS, IHE_PCC_mPSC_Composition_ClinicalSubset.fsh and
# _Complete_Report.fsh): title -> (system, code); None: code text only (see codes.py).
MPSC_SECTIONS = {
    "Chief complaint": (LOINC, "10154-3"),
    "EMS times": None,
    "Emergency notification": None,
    "Vital signs": (LOINC, "8716-3"),
    "Assessments": (LOINC, "51848-0"),
    "Problems": (LOINC, "11450-4"),
    "Allergies": (LOINC, "48765-2"),
    "Current medications": (LOINC, "10160-0"),
    "Treatment": (SNOMED, "182991002"),
}
TREATMENT_SUBSECTIONS = {
    "Procedures performed": (LOINC, "29554-3"),
    "Medications administered": (LOINC, "18610-6"),
}


@pytest.mark.parametrize("name", SHAPES)
def test_the_mpsc_sections_are_present_with_their_codes(name):
    composition = _bundle(name)["entry"][0]["resource"]
    assert composition["type"]["coding"] == [{"system": LOINC, "code": "67796-3"}]
    assert {"system": LOINC, "code": "34133-9"} in composition["category"][0]["coding"]
    sections = {section["title"]: section for section in composition["section"]}
    for title, code in MPSC_SECTIONS.items():
        section = sections[title]
        if code is None:
            assert section["code"] == {"text": title}
        else:
            assert section["code"]["coding"] == [{"system": code[0], "code": code[1]}]
    treatment = {s["title"]: s for s in sections["Treatment"]["section"]}
    for title, (system, value) in TREATMENT_SUBSECTIONS.items():
        assert treatment[title]["code"]["coding"] == [{"system": system, "code": value}]
    # Every section, nested ones too, has a narrative, and entries or says why not (cmp-1,
    # cmp-2); only the chief complaint and EMS times are narrative from the record itself
    # (no resource holds them), never an empty narrative without an emptyReason.
    for section in _sections(composition["section"]):
        assert section["text"]["status"] == "generated"
        if "section" in section or "entry" in section or "emptyReason" in section:
            continue
        assert section["title"] in ("Chief complaint", "EMS times", "Destination")
        assert "Information not available." not in section["text"]["div"]


def test_sections_hold_the_resources_mpsc_puts_there():
    bundle = _bundle("rich")
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    composition = bundle["entry"][0]["resource"]
    sections = {s["title"]: s for s in _sections(composition["section"])}

    def kinds(title: str) -> set[tuple[str, str]]:
        return {
            (
                by_url[ref["reference"]]["resourceType"],
                by_url[ref["reference"]]["code"].get(
                    "coding", [{"code": by_url[ref["reference"]]["code"].get("text", "")}]
                )[0]["code"]
                if "code" in by_url[ref["reference"]]
                else "",
            )
            for ref in sections[title].get("entry", [])
        }

    vital = {code for kind, code in kinds("Vital signs")}
    assert kinds("Vital signs") == {("Observation", code) for code in vital}
    assert {"85353-1", "85354-9", "8867-4", "9279-1", "2708-6", "8310-5"} <= vital
    assert not vital & {"9269-2", "1104051000000101", "67520-7", "30525-0"}
    assessed = {code for _kind, code in kinds("Assessments")}
    assert {"9269-2", "1104051000000101", "67520-7", "30525-0"} <= assessed
    # Emergency notification: the pre-arrival team activation (eDisposition.24, 69462-0).
    assert kinds("Emergency notification") == {("Observation", "69462-0")}
    assert {kind for kind, _code in kinds("Procedures performed")} == {"Procedure"}
    assert {kind for kind, _code in kinds("Medications administered")} == {
        "MedicationAdministration"
    }
    times = sections["EMS times"]["text"]["div"]
    assert "Estimated arrival at destination: 2025-03-14T10:06:00+00:00" in times


def test_ems_times_name_the_netimes_of_arrival_and_transfer_of_care():
    bundle = _bundle("finished-reconciled")
    sections = {s["title"]: s for s in bundle["entry"][0]["resource"]["section"]}
    times = sections["EMS times"]["text"]["div"]
    assert "Patient arrived at destination (eTimes.11): 2025-03-14T10:06:00+00:00" in times
    assert "Destination patient transfer of care (eTimes.12): 2025-03-14T10:24:00+00:00" in times
    empty = {s["title"]: s for s in _bundle("empty")["entry"][0]["resource"]["section"]}
    assert empty["EMS times"]["emptyReason"]["coding"][0]["code"] == "unavailable"


def test_a_replacing_document_names_the_one_it_replaces():
    doc, replaces = SHAPES["replaces-earlier"]
    bundle = encounter_bundle(doc, replaces=replaces)
    composition = bundle["entry"][0]["resource"]
    assert composition["relatesTo"] == [{"code": "replaces", "targetIdentifier": replaces}]
    assert bundle["identifier"] != replaces
    first = encounter_bundle(dataclasses.replace(doc, updated_at=at(12)))
    assert "relatesTo" not in first["entry"][0]["resource"]
    assert first["identifier"] != bundle["identifier"]


SKIP_DIRS = frozenset({".venv", ".git", "var", "node_modules", "static", "__pycache__"})


def _python_files() -> Iterator[Path]:
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS]
        yield from (Path(directory) / name for name in files if name.endswith(".py"))


def _fhir_model_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of fhir.resources (any version) or an R4B module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            names = [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
        found += [
            (getattr(node, "lineno", 0), name)
            for name in names
            if name.startswith("fhir.resources") or "R4B" in name.split(".")
        ]
    return found


def test_no_code_uses_r4b_or_r5_models():
    """Hospitals run R4: the R4B/R5 model sets of fhir.resources (its default package is R5,
    its `R4B` sub-package 4.3.0) must not build or validate anything here."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for path in _python_files()
        for line, name in _fhir_model_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    assert "fhir.resources" not in requirements
    assert "fhir-resources" not in requirements


def test_the_model_scan_flags_every_form_of_import():
    # A control on the scan above: the same function flags each import it forbids.
    source = (
        "from fhir.resources.R4B.bundle import Bundle\n"
        "import fhir.resources\n"
        "from fhir.resources import R4B\n"
        "importlib.import_module('fhir.resources.R4B.observation')\n"
        "from handoff.interop.fhir import encounter_bundle\n"
    )
    assert [line for line, _name in _fhir_model_imports(source)] == [1, 1, 2, 3, 3, 4]
    assert any(path.name == "test_fhir_r4.py" for path in _python_files())


def test_the_shipped_schema_agrees_with_the_r4_structure_definitions():
    """The schema came through a third-party npm package: for every type we emit, each
    element of the R4 StructureDefinitions is a property of its schema definition, and
    what the schema requires is what R4 requires (min >= 1). Medplum adds elements to Meta
    in its StructureDefinitions too; scripts/fhir_r4_schema.py removed them (and its other
    additions) from the schema against the official R4 definitions."""
    definitions = r4_schema()["definitions"]
    medplum_meta = {"account", "accounts", "author", "compartment", "project", "onBehalfOf"}
    assert not medplum_meta & set(definitions["Meta"]["properties"])
    assert set(definitions["Meta"]["properties"]) == {
        "id", "extension", "versionId", "lastUpdated", "source", "profile", "security", "tag",
        "_versionId", "_lastUpdated", "_source",
    }  # fmt: skip
    assert "resource" not in definitions["Reference"]["properties"]
    checked = 0
    for type_name, row in constraints_data()["types"].items():
        if type_name not in definitions:
            continue
        properties = definitions[type_name]["properties"]
        children = [
            (path.rsplit(".", 1)[1], element)
            for path, element in row["elements"].items()
            if path.count(".") == 1
        ]
        for name, element in children:
            if type_name == "Meta" and name in medplum_meta:
                continue
            if name.endswith("[x]"):
                for code in element["types"]:
                    assert f"{name[:-3]}{code[:1].upper()}{code[1:]}" in properties, type_name
            else:
                assert name in properties, f"{type_name}.{name}"
            checked += 1
        required = {path.rsplit(".", 1)[1] for path in row["required"] if path.count(".") == 1}
        schema_required = set(definitions[type_name].get("required", [])) - {"resourceType"}
        assert schema_required <= required, type_name
        for name in required - medplum_meta:
            if not name.endswith("[x]"):
                assert name in properties, f"{type_name}.{name}"
    assert checked > 100
