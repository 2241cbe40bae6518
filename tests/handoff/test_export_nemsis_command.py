"""`manage.py export_nemsis`: by id or date range, to one file or a file per encounter,
validated on request, every exported patient audited, nobody named in the output."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from lxml import etree

from audit.models import AuditEvent
from tests.handoff.interop.nemsis_encounters import stemi_patient, treated_on_scene

pytestmark = pytest.mark.django_db
N = {"n": "http://www.nemsis.org"}


@pytest.fixture
def two(paramedic, ed_nurse, hospital, dispatcher, unit):
    first = stemi_patient(
        crew=paramedic, ed_nurse=ed_nurse, hospital=hospital, dispatcher=dispatcher, unit=unit
    )
    second = treated_on_scene(crew=paramedic, dispatcher=dispatcher, unit=unit)
    return first, second


def _run(*args: str) -> str:
    out = StringIO()
    call_command("export_nemsis", *args, stdout=out)
    return out.getvalue()


def test_exports_the_given_encounters_to_one_validated_file(
    two, tmp_path, django_capture_on_commit_callbacks
):
    target = tmp_path / "ems.xml"
    with django_capture_on_commit_callbacks(execute=True):
        output = _run(*(str(e.public_id) for e in two), "--out", str(target), "--validate")
    tree = etree.parse(str(target))
    uuids = [p.get("UUID") for p in tree.iterfind(".//n:PatientCareReport", N)]
    assert uuids == [str(e.public_id) for e in two]
    assert "2 encounter(s) exported to 1 file(s)" in output
    assert "Virtanen" not in output
    audited = AuditEvent.objects.filter(action="read", actor=None, detail__via="export_nemsis")
    assert sorted(audited.values_list("object_id", flat=True)) == sorted(
        str(e.public_id) for e in two
    )


def test_a_directory_gets_one_file_per_encounter_by_date_range(two, tmp_path):
    today = timezone.localdate().isoformat()
    _run("--since", today, "--until", today, "--out", str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{e.public_id}.xml" for e in two)


def test_a_range_without_encounters_is_refused(two, tmp_path):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match="no encounter"):
        _run("--since", tomorrow, "--out", str(tmp_path / "x.xml"))


def test_an_incomplete_record_is_refused_naming_encounter_and_field(
    paramedic, dispatcher, unit, tmp_path
):
    encounter = treated_on_scene(crew=paramedic, dispatcher=dispatcher, unit=unit, clear=False)
    target = tmp_path / "x.xml"
    with pytest.raises(CommandError) as error:
        _run(str(encounter.public_id), "--out", str(target))
    assert str(encounter.public_id) in str(error.value)
    assert "eTimes.13" in str(error.value)
    assert not target.exists()


def test_an_unknown_encounter_is_refused(db, tmp_path):
    missing = uuid.uuid4()
    with pytest.raises(CommandError, match=str(missing)):
        _run(str(missing), "--out", str(tmp_path / "x.xml"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give encounter ids"),
        ((str(uuid.uuid4()), "--since", "2026-01-01"), "not both"),
        (("--since", "2026-02-01", "--until", "2026-01-01"), "before --since"),
    ],
)
def test_bad_selections_are_refused(db, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        _run(*args, "--out", str(tmp_path / "x.xml"))
