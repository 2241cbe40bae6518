"""Schemathesis over every operation of docs/openapi.yaml, as each of the three main roles.

The committed schema is the contract clients build against (tests/config/test_openapi_schema.py
keeps it equal to what /api/schema/ serves). Requests go through the real WSGI application
with a DRF token, so authentication, permissions, validation and the domain-error handler are
all on the path. A third of the generated requests name the real objects of `world` in their
path, so they get past the 404 and into the services.

Failures are collected rather than raised, so one run shows every distinct problem of an
operation (each with the shortest request that showed it) instead of stopping at the first.
"""

from __future__ import annotations

import os
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import got_request_exception
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(SCHEMA_PATH)
# The HL7 v2 inbound route takes application/hl7-v2, which schemathesis cannot generate; its
# bad inputs are tested in tests/handoff/interop/test_inbound_outcome.py.
NOT_GENERATED = {"POST /api/v1/inbound/hl7/"}
OPERATIONS = {
    op.label: op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
    if op.label not in NOT_GENERATED
}
ROLES = ("dispatcher", "paramedic", "ed_nurse")
# Per operation, the role drawn per request: 44 operations at this count keep the module
# near a minute on two cores. FUZZ_API_EXAMPLES=500 for a deep run by hand.
EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "24"))
# The contract: no 5xx, and every answer is one the schema describes, in the documented
# media type, with a body that matches. Checks about what the API *should* accept
# (positive_data_acceptance) are left out: a 403 for the wrong role is correct, not a bug.
BODY_CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
STATUS_CHECKS = [status_code_conformance]

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Finding:
    """One distinct failure: the check, the status, and the shortest request that showed it."""

    title: str
    role: str
    status: int
    curl: str
    body: str
    detail: str
    trace: str = ""

    def render(self) -> str:
        text = (
            f"- {self.title} (HTTP {self.status}, with the {self.role}'s token)\n"
            f"    {self.curl}\n"
            f"    response: {self.body[:400]}\n    {self.detail[:600]}"
        )
        if self.trace:
            text += "\n    server traceback (last lines):\n      " + "\n      ".join(
                self.trace.strip().splitlines()[-6:]
            )
        return text


@dataclass
class Findings:
    by_key: dict[tuple[str, int], Finding] = field(default_factory=dict)

    def add(self, key: tuple[str, int], finding: Finding) -> None:
        known = self.by_key.get(key)
        if known is None or len(finding.curl) < len(known.curl):
            self.by_key[key] = finding

    def report(self, heading: str) -> str:
        return heading + "\n" + "\n".join(f.render() for f in self.by_key.values())


@contextmanager
def _server_tracebacks() -> Iterator[list[str]]:
    """Tracebacks of the exceptions Django turned into 500s while the block ran."""
    seen: list[str] = []

    def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
        seen.append(traceback.format_exc())

    got_request_exception.connect(record, weak=False)
    try:
        yield seen
    finally:
        got_request_exception.disconnect(record)


# Central Helsinki, inside the demo map: coordinates drawn from the whole globe are all
# "outside the map" (400), so without this the routing engine itself would never be reached.
ON_MAP = st.tuples(st.floats(60.165, 60.178), st.floats(24.936, 24.952))
# Operations that take points, in their body or their query.
TAKES_POINTS = ("/routing/", "/geocode/reverse/", "/incidents/", "/positions/")


@st.composite
def _on_map(draw: Any, operation: Any) -> Any:
    """A valid request whose every `{lat, lon}` (body or query) lies on the demo map."""
    case = draw(operation.as_strategy(GenerationMode.POSITIVE))

    def place(value: Any) -> Any:
        if isinstance(value, list):
            return [place(item) for item in value]
        if not isinstance(value, dict):
            return value
        placed = {key: place(item) for key, item in value.items()}
        if "lat" in placed and "lon" in placed:
            placed["lat"], placed["lon"] = draw(ON_MAP)
        return placed

    if isinstance(case.body, dict | list):
        case.body = place(case.body)
    if case.query:
        case.query = place(case.query)
    return case


def _strategy(operation: Any, ids: dict[str, Any]) -> st.SearchStrategy[Any]:
    real = {name: ids[name] for name in ids if "{" + name + "}" in operation.path}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if real:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
    if any(fragment in operation.path for fragment in TAKES_POINTS):
        strategies.append(_on_map(operation))
    if operation.path_parameters or operation.query or operation.body:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def _fuzz(operation: Any, world: Any) -> tuple[Findings, Findings]:
    """Run EXAMPLES generated requests, each as a drawn role; return (5xx and body findings,
    undocumented-status findings)."""
    app = get_wsgi_application()
    body_findings, status_findings = Findings(), Findings()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # Failures are collected, never raised, so there is nothing to shrink.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )
    @given(case=_strategy(operation, world.path_ids), role=st.sampled_from(ROLES))
    def run(case: Any, role: str) -> None:
        headers = {"Authorization": f"Token {world.tokens[role]}"}
        with _server_tracebacks() as traces:
            response = case.call(app=app, headers=headers)
        SEEN.setdefault(operation.label, Counter())[response.status_code] += 1
        for checks, found in ((BODY_CHECKS, body_findings), (STATUS_CHECKS, status_findings)):
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except FailureGroup as group:
                for failure in group.exceptions:
                    found.add(
                        (failure.title, response.status_code),
                        Finding(
                            title=failure.title,
                            role=role,
                            status=response.status_code,
                            curl=case.as_curl_command(),
                            body=response.text,
                            detail=failure.message,
                            trace=traces[-1] if traces else "",
                        ),
                    )

    run()
    return body_findings, status_findings


# Statuses the schema does not list, per operation: filled by the operation tests, reported
# once by the last test as one table instead of 44 failures that all say the same thing.
UNDOCUMENTED: dict[str, Findings] = {}
# Every status each operation answered, to show how deep the generated requests got.
SEEN: dict[str, Counter[int]] = {}


@pytest.mark.parametrize("label", list(OPERATIONS))
def test_operation_never_fails_on_the_server_and_answers_with_documented_bodies(
    label, world, road_map
):
    body_findings, status_findings = _fuzz(OPERATIONS[label], world)
    UNDOCUMENTED[label] = status_findings
    if body_findings.by_key:
        pytest.fail(
            body_findings.report(
                f"{label}: a 5xx, or an answer whose body or media type is not the documented one"
            ),
            pytrace=False,
        )


def test_every_status_the_api_answered_is_documented():
    if not UNDOCUMENTED:
        pytest.skip("reports on the operation tests above; run them in the same session")
    lines = []
    for label, found in sorted(UNDOCUMENTED.items()):
        for finding in sorted(found.by_key.values(), key=lambda f: f.status):
            lines.append(
                f"{label} -> {finding.status} with the {finding.role}'s token: "
                f"{' '.join(finding.body[:90].split())}\n    {finding.curl}"
            )
    seen = "\n".join(f"{label}: {dict(sorted(c.items()))}" for label, c in sorted(SEEN.items()))
    if lines:
        pytest.fail(
            f"{len(lines)} (operation, status) answers are missing from docs/openapi.yaml:\n"
            + "\n".join(lines)
            + f"\n\nStatuses answered per operation:\n{seen}",
            pytrace=False,
        )


# What the fuzzer found, as plain cases: a fuzz run reaches these only when it draws the right
# role, the real ids and (for the 500) an integer past 64 bits together.
FOUND = [
    pytest.param(
        "POST /api/v1/encounters/{public_id}/close/",
        "paramedic",
        None,
        id="close-answers-a-board-row-not-the-documented-encounter-detail",
    ),
    pytest.param(
        "GET /api/v1/encounters/{public_id}/fhir/",
        "ed_nurse",
        None,
        id="fhir-answers-application-fhir-json-not-the-documented-application-json",
    ),
    pytest.param(
        "POST /api/v1/incidents/{incident_id}/assignments/",
        "dispatcher",
        {"unit_ids": [2**63]},
        id="dispatching-a-unit-id-past-64-bits-is-a-500",
    ),
]


@pytest.mark.parametrize(("label", "role", "body"), FOUND)
def test_requests_the_fuzzer_found_answer_as_documented(world, label, role, body):
    operation = OPERATIONS[label]
    ids = {name: value for name, value in world.path_ids.items() if "{" + name + "}" in label}
    payload = {} if body is None else {"body": body, "media_type": "application/json"}
    case = operation.Case(path_parameters=ids, **payload)
    headers = {"Authorization": f"Token {world.tokens[role]}"}
    # A 500's traceback is in the captured django.request log shown with the failure.
    response = case.call(app=get_wsgi_application(), headers=headers)
    case.validate_response(response, checks=BODY_CHECKS, headers=headers)
