"""Evaluate the R4 FHIRPath invariants over a generated resource (tests only).

The constraints come from tests/data/fhir_r4_constraints.json (extracted from the official
R4 StructureDefinitions by scripts/fhir_r4_constraints.py). Each resource is walked element
by element, as a validator does: the constraints of an element's path run with that element
as the context, `%resource` / `%rootResource` the resource, and every complex datatype's own
constraints (ref-1, qty-3, per-1, ext-1, ...) run wherever that type occurs. ele-1 runs on
every complex element.

fhirpathpy has no `htmlChecks()` (txt-1, txt-2): the narrative rules of R4 section 2.4.0
are checked here in Python instead. Any other expression it cannot evaluate is a failure,
never a silent pass.

The R4 JSON schema cannot require a primitive element (it may come as `_name` with only an
extension), so the walk also checks every min >= 1 cardinality of the StructureDefinitions
(reported with key `min`).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fhirpathpy
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

DATA = Path(__file__).resolve().parents[2] / "data" / "fhir_r4_constraints.json"
XHTML = "{http://www.w3.org/1999/xhtml}"
# R4 2.4.0 Narrative: the HTML 4.0 formatting elements allowed in the div (no head, body,
# script, form, input, iframe, object, ...).
NARRATIVE_ELEMENTS = frozenset(
    {
        "a", "abbr", "acronym", "b", "big", "blockquote", "br", "caption", "cite", "code",
        "col", "colgroup", "dd", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "li", "ol", "p", "pre", "q", "samp", "small", "span",
        "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt",
        "ul", "var",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Violation:
    resource: str
    key: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.resource} {self.key} at {self.path}: {self.detail}"


@cache
def constraints_data() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


@cache
def _children(type_name: str, path: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """JSON key stem -> (element path, element row) for the direct children of `path`."""
    elements = constraints_data()["types"][type_name]["elements"]
    prefix = f"{path}."
    return {
        child[len(prefix) :]: (child, row)
        for child, row in elements.items()
        if child.startswith(prefix) and "." not in child[len(prefix) :]
    }


def _match(key: str, children: dict[str, tuple[str, dict[str, Any]]]) -> tuple[str, str] | None:
    """(element path, datatype or '') of a JSON key; choice elements as value[x]."""
    if key in children:
        path, row = children[key]
        return path, row["types"][0] if row["types"] else ""
    for name, (path, row) in children.items():
        if name.endswith("[x]") and key.startswith(name[:-3]):
            suffix = key[len(name) - 3 :]
            for code in row["types"]:
                if code[:1].upper() + code[1:] == suffix:
                    return path, code
            if suffix[:1].isupper():
                return path, ""  # a primitive choice (valueString, effectiveDateTime)
    return None


def present(node: dict[str, Any], element_id: str) -> bool:
    """Whether the last step of `element_id` (`value[x]` any type) is in `node`, as a value
    or as a primitive's `_name` extension."""
    name = element_id.rsplit(".", 1)[1]
    if name.endswith("[x]"):
        stem = name[:-3]
        return any(
            key.lstrip("_").startswith(stem)
            and key.lstrip("_")[len(stem) : len(stem) + 1].isupper()
            for key in node
        )
    return name in node or f"_{name}" in node


def narrative_problems(div: object, key: str = "txt-1") -> list[str]:
    """txt-1: a well-formed XHTML div with basic formatting only; txt-2: it has text."""
    if not isinstance(div, str):
        return ["div is not a string"]
    try:
        root = ET.fromstring(div)  # noqa: S314 - our own generated narrative
    except ET.ParseError as error:
        return [f"not well-formed XML: {error}"]
    if key == "txt-2":
        has_text = "".join(root.itertext()).strip() or root.find(f".//{XHTML}img") is not None
        return [] if has_text else ["the narrative has no text"]
    problems = []
    if root.tag != f"{XHTML}div":
        problems.append("root is not an XHTML div")
    for element in root.iter():
        name = element.tag.removeprefix(XHTML)
        if not element.tag.startswith(XHTML) or name not in NARRATIVE_ELEMENTS:
            problems.append(f"element {element.tag} not allowed")
        for attribute in element.attrib:
            if attribute.lower().startswith("on") or (attribute == "style" and name == "div"):
                problems.append(f"attribute {attribute} not allowed")
    return problems


def _has_value(inputs: list[Any]) -> list[bool]:
    # FHIR's hasValue(): a single primitive with a value (not only extensions).
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], dict | list)]


# fhirpathpy 2.2 lacks the FHIR-specific hasValue() (used by ele-1 and per-1); trace() output
# is dropped rather than printed.
_OPTIONS: dict[str, Any] = {
    "userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}}},
    "traceFn": lambda label, value: None,
}


@cache
def _compiled(expression: str) -> Any:
    # Parsing a FHIRPath expression costs more than evaluating it; each rule is parsed once.
    return fhirpathpy.compile(expression, models["r4"], _OPTIONS)


class _Walker:
    def __init__(self, resource: dict[str, Any], extra: list[dict[str, str]]) -> None:
        self.root = resource
        self.name = f"{resource['resourceType']}/{resource.get('id', '?')}"
        self.violations: list[Violation] = []
        self.extra = extra  # profile constraints (vs-1..3) to add by path
        self.evaluated: set[str] = set()

    def check(
        self,
        node: Any,
        base: str,
        constraints: list[dict[str, str]],
        *,
        parent: tuple[Any, str, str] | None = None,
    ) -> None:
        """Run `constraints` with `node` as context. A primitive has no type of its own in
        fhirpathpy, so its rules run from `parent` (node, path, element name) as
        `name.all(rule)`, where the model types it."""
        for constraint in constraints:
            if constraint["severity"] != "error":
                continue
            self.evaluated.add(constraint["key"])
            if constraint["expression"] == "htmlChecks()":
                for problem in narrative_problems(node, constraint["key"]):
                    self.violations.append(Violation(self.name, constraint["key"], base, problem))
                continue
            context, expression = node, constraint["expression"]
            if parent is not None:
                context, base, name = parent
                expression = f"{name}.all({expression})"
            try:
                result = _compiled(expression)(
                    ResourceNode.create_node(context, base),
                    {"resource": self.root, "rootResource": self.root},
                )
            except Exception as error:  # an unevaluable rule must fail the test, not pass
                self.violations.append(
                    Violation(self.name, constraint["key"], base, f"cannot evaluate: {error!r}")
                )
                continue
            if result != [True]:
                self.violations.append(
                    Violation(self.name, constraint["key"], base, f"{constraint['expression']}")
                )

    def visit(self, node: Any, type_name: str, path: str) -> None:
        data = constraints_data()
        elements = data["types"][type_name]["elements"]
        row = elements.get(path, {})
        if "contentReference" in row:
            path = row["contentReference"]
            row = elements[path]
        self.check(node, path, [data["every_element"]])
        self.check(node, path, row.get("constraints", []))
        self.check(node, path, [c for c in self.extra if c["path"] == path])
        for required in data["types"][type_name]["required"]:
            if required.rsplit(".", 1)[0] == path and not present(node, required):
                self.violations.append(Violation(self.name, "min", path, f"{required} missing"))
        if path == "Bundle.entry.resource":
            return  # each entry's resource is walked on its own, as its own root
        children = _children(type_name, path)
        for key, value in node.items():
            if key.startswith("_") or key == "resourceType":
                continue
            match = _match(key, children)
            if match is None:
                continue  # a primitive (fhir.resources checks unknown elements)
            child_path, datatype = match
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, dict):
                    rules = elements[child_path].get("constraints", [])
                    rules = rules + [c for c in self.extra if c["path"] == child_path]
                    name = child_path.rsplit(".", 1)[1].removesuffix("[x]")
                    self.check(item, child_path, rules, parent=(node, path, name))
                    continue
                if _children(type_name, child_path) or "contentReference" in elements[child_path]:
                    self.visit(item, type_name, child_path)
                elif datatype in data["types"]:
                    self.visit(item, datatype, datatype)


def violations(
    resource: dict[str, Any], profiles: tuple[str, ...] = ()
) -> tuple[list[Violation], set[str]]:
    """Every error-severity R4 invariant the resource breaks, and the keys evaluated."""
    extra = [c for name in profiles for c in constraints_data()["profiles"][name]["constraints"]]
    walker = _Walker(resource, extra)
    kind = resource["resourceType"]
    walker.visit(resource, kind, kind)
    return walker.violations, walker.evaluated
