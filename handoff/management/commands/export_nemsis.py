"""`manage.py export_nemsis`: encounters as NEMSIS 3.5.1 EMSDataSet XML (docs/interop.md).

The files carry identified patient data (names, dates of birth): each exported encounter is
audited as a read by this command. The command's output names counts and encounter ids,
never a patient.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from handoff.interop.nemsis.export import check, encounters_for_export, export_encounters
from handoff.interop.nemsis.record import NemsisExportError


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _uuid(value: str) -> str:
    return str(UUID(value))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class Command(BaseCommand):
    help = (
        "Export encounters as NEMSIS 3.5.1 EMSDataSet XML: by public id, or those whose call "
        "came in between --since and --until. --out FILE writes one data set; --out DIR/ "
        "writes one file per encounter. --validate runs the official XSD and Schematron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("encounters", nargs="*", type=_uuid, help="encounter public ids")
        parser.add_argument("--since", type=_day, help="first call date included (YYYY-MM-DD)")
        parser.add_argument("--until", type=_day, help="last call date included (YYYY-MM-DD)")
        parser.add_argument(
            "--out", required=True, type=Path, help="file, or an existing directory"
        )
        parser.add_argument(
            "--validate", action="store_true", help="fail unless XSD and Schematron pass"
        )

    def handle(self, *args: object, **options: object) -> None:
        ids = list(options["encounters"])  # type: ignore[call-overload]
        since, until = options["since"], options["until"]
        if ids and (since or until):
            raise CommandError("give encounter ids or --since/--until, not both")
        if not ids and since is None and until is None:
            raise CommandError("give encounter ids, or --since and/or --until")
        if isinstance(since, date) and isinstance(until, date) and until < since:
            raise CommandError("--until is before --since")
        out = options["out"]
        assert isinstance(out, Path)  # noqa: S101 - argparse type
        try:
            encounters = encounters_for_export(
                public_ids=ids or None,
                since=_start_of(since) if isinstance(since, date) else None,
                until=_start_of(until + timedelta(days=1)) if isinstance(until, date) else None,
            )
            if not encounters:
                raise CommandError("no encounter matches")
            if out.is_dir():
                files = {
                    out / f"{e.public_id}.xml": export_encounters([e], purpose="export_nemsis")
                    for e in encounters
                }
            else:
                files = {out: export_encounters(encounters, purpose="export_nemsis")}
        except NemsisExportError as error:
            raise CommandError(str(error)) from None
        if options["validate"]:
            for path, document in files.items():
                try:
                    report = check(document)
                except NemsisExportError as error:
                    raise CommandError(str(error)) from None
                if not report.ok:
                    problems = "\n".join(str(p) for p in report.errors[:20])
                    raise CommandError(f"{path.name} fails NEMSIS validation:\n{problems}")
        for path, document in files.items():
            path.write_bytes(document)
        self.stdout.write(f"{len(encounters)} encounter(s) exported to {len(files)} file(s).")
