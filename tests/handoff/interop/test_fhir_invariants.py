"""Every resource we generate keeps the R4 FHIRPath invariants (cmp-1, obs-6, ref-1, vs-2, ...).

The R4 JSON schema (handoff.interop.fhir.validation) checks structure only; the constraints
are evaluated here with fhirpathpy from the official R4 StructureDefinitions
(tests/data/fhir_r4_constraints.json, made by scripts/fhir_r4_constraints.py). Vital-sign
Observations are also held to the constraints of the R4 vital-signs profile (vs-1, vs-2,
vs-3).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from handoff.interop.document import VitalsEntry
from handoff.interop.fhir import encounter_bundle
from handoff.interop.fhir.validation import schema_issues
from tests.handoff.interop.documents import (
    at,
    empty_encounter,
    encounter,
    full_vitals,
    reconciled_patient,
)
from tests.handoff.interop.invariants import constraints_data, narrative_problems, violations

VITAL_SIGNS = "vital-signs"


def _gcs_without_total() -> VitalsEntry:
    return VitalsEntry(
        id="v3",
        taken_at=at(20),
        values={"gcs_eye": 2, "etco2": 5.6, "blood_glucose": 180, "avpu": "P"},
        units={"etco2": "%", "blood_glucose": "mg/dL"},
        news2_total=4,
        news2_complete=False,
        gcs_total=None,
    )


DOCUMENTS = {
    "planned-rich": encounter(),
    "arrived-reconciled": encounter(
        status="arrived", arrived_at=at(40), patient=reconciled_patient()
    ),
    "finished-snomed": encounter(
        status="finished",
        arrived_at=at(40),
        transfer_of_care_at=at(58),
        patient=reconciled_patient(),
        working_impression_code="230690007",
        vitals=[full_vitals(), _gcs_without_total()],
    ),
    # The first Bundle of a fresh encounter: nothing recorded yet, every section empty.
    "empty": empty_encounter(destination_reason=""),
    "no-hospital": encounter(hospital_code="", hospital_name="", destination_reason=""),
    "units-and-gaps": encounter(
        vitals=[_gcs_without_total(), dataclasses.replace(full_vitals(), news2_total=None)]
    ),
}


def _profiles(resource: dict[str, Any]) -> tuple[str, ...]:
    if resource["resourceType"] != "Observation":
        return ()
    categories = {
        coding["code"] for c in resource.get("category", []) for coding in c.get("coding", [])
    }
    return ("vitalsigns",) if VITAL_SIGNS in categories else ()


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_generated_resource_keeps_the_r4_invariants(name):
    bundle = encounter_bundle(DOCUMENTS[name])
    assert schema_issues(bundle) == []  # structure first: the invariants assume it
    found, evaluated = violations(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        more, keys = violations(resource, _profiles(resource))
        found += more
        evaluated |= keys

    assert not found, "\n".join(map(str, found))
    # The walk reached the rules that matter for a document, not just the root.
    assert {"bdl-9", "bdl-11", "cmp-1", "cmp-2", "dom-3", "ref-1", "ele-1", "txt-1"} <= evaluated
    if name != "empty":
        assert {"obs-6", "obs-7", "qty-3", "vs-2", "vs-3", "vs-1"} <= evaluated


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_reference_resolves_inside_the_bundle(name):
    bundle = encounter_bundle(DOCUMENTS[name])
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}

    found = set(_references(bundle))
    assert found
    assert found <= full_urls, found - full_urls


def _references(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []


def test_the_walk_finds_a_broken_invariant():
    # A control: the checker must report what it is meant to catch.
    observation = {
        "resourceType": "Observation",
        "id": "x",
        "status": "final",
        "code": {"text": "heart rate"},
        "valueQuantity": {"value": 1, "code": "/min"},
        "dataAbsentReason": {"text": "also absent"},
        "effectiveDateTime": "2025",
        "component": [{"code": {"text": "part"}}],
        "subject": {"reference": "#missing"},
    }
    section = {"title": "Empty", "emptyReason": {"text": "unavailable"}}
    composition = {"resourceType": "Composition", "id": "c", "section": [section]}

    keys = {v.key for v in violations(observation, ("vitalsigns",))[0]}
    assert keys == {"qty-3", "obs-6", "vs-1", "vs-3", "ref-1"}
    # The Composition also lacks its required primitives (status, date, title): R4 min 1.
    found = violations(composition)[0]
    assert {v.key for v in found} == {"cmp-1", "min"}
    assert {v.detail for v in found if v.key == "min"} == {
        f"Composition.{name} missing" for name in ("status", "type", "date", "author", "title")
    }


def test_narrative_rules_reject_script_and_malformed_xhtml():
    assert narrative_problems('<div xmlns="http://www.w3.org/1999/xhtml"><p>a</p></div>') == []
    assert narrative_problems('<div xmlns="http://www.w3.org/1999/xhtml"><script/></div>')
    assert narrative_problems('<div xmlns="http://www.w3.org/1999/xhtml"><p>a</div>')
    assert narrative_problems("<div><p>a</p></div>")
    assert narrative_problems('<div xmlns="http://www.w3.org/1999/xhtml"> </div>', "txt-2")


def test_constraints_file_covers_every_resource_type_we_emit():
    emitted = {
        entry["resource"]["resourceType"]
        for doc in DOCUMENTS.values()
        for entry in encounter_bundle(doc)["entry"]
    }
    assert emitted | {"Bundle"} <= set(constraints_data()["types"])
