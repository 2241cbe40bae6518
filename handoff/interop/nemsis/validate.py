"""The official NEMSIS 3.5.1 checks: the XSD (lxml) and the national Schematron (Saxon-HE).

The Schematron is compiled with the ISO skeleton in its three XSLT steps (include, expand
abstract patterns, SVRL for XSLT 2 with `allow-foreign=true`), as the standards' README
says. Compiling takes about a second, so the compiled stylesheet is cached on disk under
VAR_DIR, keyed by the SHA-256 of the .sch file and of the skeleton, and the loaded
executables once per process.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from lxml import etree

SVRL: Final = "http://purl.oclc.org/dsdl/svrl"
FAILING_ROLES: Final = frozenset({"[ERROR]", "[FATAL]"})
SKELETON: Final = "Schematron/DevelopmentKit/Schematron/utilities/iso-schematron-xslt2"
STEPS: Final = ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl", "iso_svrl_for_xslt2.xsl")
# Saxon's C library is not safe for concurrent transforms from one processor.
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed check: `source` is "xsd" or "schematron", `role` its severity."""

    source: str
    role: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.role} {self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class Report:
    xsd: tuple[Problem, ...]
    schematron: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that fail the record: every XSD error, Schematron [ERROR]/[FATAL]."""
        return self.xsd + tuple(p for p in self.schematron if p.role in FAILING_ROLES)

    @property
    def ok(self) -> bool:
        return not self.errors


@cache
def _schema(xsd: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(xsd)))


def xsd_problems(document: bytes, standards: Path) -> tuple[Problem, ...]:
    """The XSD errors of an EMSDataSet (EMSDataSet_v3.xsd in `standards`)."""
    schema = _schema(standards / "XSDs" / "NEMSIS_EMS_XSDs" / "EMSDataSet_v3.xsd")
    tree = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False))
    if schema.validate(tree):
        return ()
    return tuple(Problem("xsd", "[XSD]", f"line {e.line}", e.message) for e in schema.error_log)


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def compiled_schematron(sch: Path, standards: Path, cache_dir: Path) -> Path:
    """The SVRL-producing XSLT of `sch`, compiled once per content hash into `cache_dir`."""
    skeleton = standards / SKELETON
    steps = [skeleton / name for name in STEPS]
    target = cache_dir / f"{sch.stem}-{_digest(sch, *steps)}.xsl"
    if target.exists():
        return target
    with _LOCK:
        processor = _processor()
        xslt = processor.new_xslt30_processor()
        text = sch.read_text(encoding="utf-8")
        for index, step in enumerate(steps):
            executable = xslt.compile_stylesheet(stylesheet_file=str(step))
            if index == len(steps) - 1:
                executable.set_parameter("allow-foreign", processor.make_string_value("true"))
            node = processor.parse_xml(xml_text=text)
            text = executable.transform_to_string(xdm_node=node)
            if not text:
                raise RuntimeError(f"Schematron step {step.name} produced nothing for {sch}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)  # another process compiling the same file writes the same bytes
    return target


@cache
def _processor() -> Any:
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@cache
def _executable(stylesheet: Path) -> Any:
    return _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))


def schematron_problems(
    document: bytes, standards: Path, cache_dir: Path, *, sch: str = "EMSDataSet.sch"
) -> tuple[Problem, ...]:
    """Every failed assert and successful report of the national rules, with its role."""
    stylesheet = compiled_schematron(standards / "Schematron" / "rules" / sch, standards, cache_dir)
    from saxonche import PySaxonApiError

    with _LOCK:
        executable = _executable(stylesheet)
        try:
            node = _processor().parse_xml(xml_text=document.decode("utf-8"))
            svrl = executable.transform_to_string(xdm_node=node)
        except PySaxonApiError as error:
            # A rule that cannot even evaluate (a time it must compare is empty) fails the
            # record: the official check would stop there too.
            return (Problem("schematron", "[FATAL]", "", f"the rules could not run: {error}"),)
    if not svrl:
        raise RuntimeError("the Schematron produced no report")
    report = etree.fromstring(svrl.encode("utf-8"))
    problems = []
    for item in report.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(item.itertext()).split())
        problems.append(
            Problem("schematron", item.get("role", ""), item.get("location", ""), text[:500])
        )
    return tuple(problems)


def validate(document: bytes, standards: Path, cache_dir: Path) -> Report:
    """XSD and Schematron problems of an EMSDataSet document."""
    return Report(
        xsd=xsd_problems(document, standards),
        schematron=schematron_problems(document, standards, cache_dir),
    )
