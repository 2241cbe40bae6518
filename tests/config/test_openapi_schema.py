"""docs/openapi.yaml is the committed API description: it must match the code."""

from io import StringIO
from pathlib import Path

from django.core.management import call_command

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_committed_openapi_schema_matches_the_code():
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert SCHEMA.read_text() == out.getvalue(), (
        "docs/openapi.yaml is stale: run `.venv/bin/python manage.py spectacular "
        "--file docs/openapi.yaml` and commit it with the change"
    )
