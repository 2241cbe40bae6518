"""The NEMSIS validator itself, against the official 3.5.1 compliance samples: every `full/`
record passes XSD and Schematron, the XSD-failing sample fails the XSD and the
Schematron-failing one passes the XSD but fails the Schematron."""

from __future__ import annotations

import pytest

from handoff.interop.nemsis import validate

from .nemsis import cache_dir, check, failing, standards_dir

SAMPLES = "Compliance/Pre-Testing/xml"
FULL = [
    "2025-EMS-1-Overdose_v351.xml",
    "2025-EMS-2-Suicide_v351.xml",
    "2025-EMS-3-MVC_v351.xml",
    "2025-EMS-4-eBike_v351.xml",
    "2025-EMS-5-CPMIH_v351.xml",
]


def _sample(folder: str, name: str) -> bytes:
    return (standards_dir() / SAMPLES / folder / name).read_bytes()


def test_every_official_ems_sample_is_listed():
    on_disk = sorted(p.name for p in (standards_dir() / SAMPLES / "full").glob("*EMS*.xml"))
    assert on_disk == FULL


@pytest.mark.parametrize("name", FULL)
def test_official_full_sample_passes_xsd_and_schematron(name):
    report = check(_sample("full", name))
    assert report.xsd == ()
    assert failing(report) == []


def test_official_xsd_failure_sample_fails_the_xsd():
    report = check(_sample("fail", "2025-EMS-FailXsd_v351.xml"))
    assert report.xsd, "the XSD-failing sample passed the XSD"
    assert any("eSituation" in p.message for p in report.xsd)
    assert not report.ok


def test_official_schematron_failure_sample_passes_xsd_but_fails_schematron():
    report = check(_sample("fail", "2025-EMS-FailSchematron_v351.xml"))
    assert report.xsd == ()
    errors = [p for p in report.schematron if p.role in validate.FAILING_ROLES]
    assert errors, "the Schematron-failing sample raised no [ERROR] or [FATAL]"
    assert not report.ok


def test_schematron_is_compiled_once_per_rules_file(tmp_path):
    sch = standards_dir() / "Schematron" / "rules" / "EMSDataSet.sch"
    cached = validate.compiled_schematron(sch, standards_dir(), cache_dir())
    again = validate.compiled_schematron(sch, standards_dir(), cache_dir())
    assert cached == again
    assert cached.stat().st_size > 100_000
    # Another rules file (or edited rules) compiles to another name.
    other = tmp_path / "EMSDataSet.sch"
    other.write_bytes(sch.read_bytes().replace(b"</sch:schema>", b"<!-- edit --></sch:schema>"))
    assert validate.compiled_schematron(other, standards_dir(), tmp_path).name != cached.name
