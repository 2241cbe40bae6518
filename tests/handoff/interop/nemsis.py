"""Helpers of the NEMSIS tests: the official standards beside the project, and the checker."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from handoff.interop.nemsis import validate


def standards_dir() -> Path:
    """settings.NEMSIS_STANDARDS_DIR; the tests fail (never skip) when it is missing."""
    path = Path(settings.NEMSIS_STANDARDS_DIR)
    if not (path / "XSDs" / "NEMSIS_EMS_XSDs" / "EMSDataSet_v3.xsd").exists():
        pytest.fail(
            f"The NEMSIS standards are not at {path} (NEMSIS_STANDARDS_DIR); they live in "
            "../shared/standards/nemsis/ beside the project."
        )
    return path


def cache_dir() -> Path:
    # Compiled once per .sch hash and kept across runs (and shared by xdist workers).
    return Path(settings.VAR_DIR) / "nemsis-schematron"


def check(document: bytes) -> validate.Report:
    return validate.validate(document, standards_dir(), cache_dir())


def failing(report: validate.Report) -> list[str]:
    return [str(problem) for problem in report.errors]
