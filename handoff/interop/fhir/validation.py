"""FHIR R4 (4.0.1) JSON-schema validation of a resource or Bundle.

The schema is the official R4 `fhir.schema.json` (draft-06), reduced to the R4 resource
types by scripts/fhir_r4_schema.py and shipped gzipped in `data/`. It checks element
names (no unknown elements), JSON types, primitive formats (dateTime, code, id, uri
patterns), enumerated codes of required bindings (status, gender, ...), arrays vs single
values, complex types given as objects, and the required complex elements. It cannot check
what JSON schema cannot say: required primitives (a primitive may be present only as its
`_name` extension), FHIRPath invariants and profiles; the tests check those from the R4
StructureDefinitions (tests/handoff/interop/invariants.py).

Usable on inbound resources too: each issue names the element (`entry[3].resource
(Observation).valueQuantity.system`) and the reason, never the value.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError

SCHEMA_FILE: Final = Path(__file__).resolve().parent / "data" / "fhir.r4.schema.json.gz"
FHIR_VERSION: Final = "4.0.1"


@functools.cache
def r4_schema() -> dict[str, Any]:
    """The R4 JSON schema (parsed once per process)."""
    schema: dict[str, Any] = json.loads(gzip.decompress(SCHEMA_FILE.read_bytes()))
    return schema


def resource_types() -> frozenset[str]:
    """Every R4 resource type the schema defines."""
    return frozenset(r4_schema()["discriminator"]["mapping"])


# Where R4 allows a resource of any type (Bundle.entry.resource, contained, ...), the schema
# has a 146-way oneOf (ResourceList), distinguished by the resourceType const: slow, and it
# only says "not valid under any of the given schemas". Here ResourceList always fails with
# this marker, which yields the position of every nested resource; each is then validated
# against its own type's definition, the one branch of the oneOf that can match.
_NESTED: Final = {"not": {}, "$comment": "nested resource"}


def _objects(definitions: Mapping[str, Any]) -> dict[str, Any]:
    """The definitions with `"type": "object"` on every complex type and resource: the
    official schema leaves it out, so a string where a Coding or a Reference belongs
    (`"eventCoding": "x"`) would pass, its `properties` applying only to objects."""
    return {
        name: {**body, "type": "object"}
        if isinstance(body, dict) and "properties" in body and "type" not in body
        else body
        for name, body in definitions.items()
    }


@functools.cache
def _validator(resource_type: str) -> Draft6Validator:
    definitions = _objects(r4_schema()["definitions"]) | {"ResourceList": _NESTED}
    return Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def _reason(error: ValidationError) -> str:
    # The value itself is left out: it may be patient data.
    validator = error.validator
    if validator == "additionalProperties":
        extra = sorted(
            set(error.instance) - set(error.schema.get("properties", {}))
            if isinstance(error.instance, dict)
            else ()
        )
        return f"unknown element(s) {', '.join(extra)}"
    if validator == "required":
        return f"required element missing ({error.message.split(' is a required')[0]})"
    if validator == "enum":
        return f"code not in the required value set {error.validator_value}"
    if validator == "const":
        return f"must be {error.validator_value!r}"
    if validator == "pattern":
        return f"does not match the R4 format {error.validator_value}"
    if validator == "type":
        return f"must be of JSON type {error.validator_value}"
    if validator in ("minItems", "maxItems"):
        return f"array size breaks {validator} {error.validator_value}"
    return f"breaks {validator}"


def schema_issues(resource: Mapping[str, Any], *, where: str = "") -> list[str]:
    """Every way `resource` breaks the R4 JSON schema, as "element: reason"; [] when it is
    valid. A resource inside it (a Bundle entry's) is reported under its own path."""
    kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
    if not isinstance(kind, str) or kind not in resource_types():
        return [f"{where or '(resource)'}: not an R4 resource type"]
    issues: list[str] = []
    for error in sorted(_validator(kind).iter_errors(resource), key=_order):
        path = list(error.absolute_path)
        here = _where(where, path)
        if error.schema == _NESTED:
            inner = _at(resource, path)
            label = f"{here}({inner.get('resourceType', '?')})" if isinstance(inner, dict) else here
            issues.extend(schema_issues(inner, where=label))
        else:
            issues.append(f"{here}: {_reason(error)}")
    return issues


def _order(error: ValidationError) -> list[str]:
    return [str(part) for part in error.absolute_path]


def _where(where: str, path: list[str | int]) -> str:
    text = where
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(resource)"


def _at(node: Any, path: list[str | int]) -> Any:
    for part in path:
        node = node[part]
    return node
