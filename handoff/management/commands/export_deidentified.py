"""`manage.py export_deidentified`: encounters, vitals and intervals for research.

The records are de-identified by `handoff.deidentify` (HIPAA Safe Harbor); this command only
reads the database and writes the file. Its output names counts, never a patient.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from handoff.deidentify import CSV_COLUMNS, ENCOUNTER, Pseudonyms, deidentify
from handoff.models import Encounter, Intervention, MedicationGiven, TeamActivation, VitalsSet

BATCH = 500


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _by_encounter(rows: Any) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["encounter_id"]].append(row)
    return grouped


def _sources(since: date | None, until: date | None) -> Iterator[dict[str, Any]]:
    """The encounters whose call was received in [since, until], with their children.

    Whole encounter, assignment and vitals rows are handed over: `handoff.deidentify` copies
    by allowlist, so a column it does not name never reaches the file. Calls and messages
    are not even read.
    """
    encounters = Encounter.objects.select_related(
        "assignment__incident", "assignment__unit", "destination"
    ).order_by("pk")
    if since is not None:
        encounters = encounters.filter(assignment__incident__call_received_at__gte=_start_of(since))
    if until is not None:
        encounters = encounters.filter(
            assignment__incident__call_received_at__lt=_start_of(until + timedelta(days=1))
        )
    ids = list(encounters.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        vitals = _by_encounter(VitalsSet.objects.filter(encounter_id__in=batch).values())
        activations = _by_encounter(
            TeamActivation.objects.filter(encounter_id__in=batch).values("encounter_id", "kind")
        )
        interventions = _by_encounter(
            Intervention.objects.filter(encounter_id__in=batch).values("encounter_id", "code")
        )
        medications = _by_encounter(
            MedicationGiven.objects.filter(encounter_id__in=batch).values("encounter_id")
        )
        for encounter in encounters.filter(pk__in=batch):
            assignment = encounter.assignment
            incident = assignment.incident
            destination = encounter.destination
            yield {
                "encounter": {
                    "pk": encounter.pk,
                    **{
                        f.attname: getattr(encounter, f.attname)
                        for f in Encounter._meta.concrete_fields
                    },
                },
                "incident": {
                    "pk": incident.pk,
                    "call_received_at": incident.call_received_at,
                    "determinant": incident.determinant,
                    "response_mode": incident.response_mode,
                },
                "assignment": {
                    f.attname: getattr(assignment, f.attname)
                    for f in type(assignment)._meta.concrete_fields
                },
                "unit": {"unit_type": assignment.unit.unit_type},
                "destination": (
                    {"capabilities": destination.capabilities} if destination is not None else None
                ),
                "vitals": vitals.get(encounter.pk, []),
                "activations": activations.get(encounter.pk, []),
                "interventions": interventions.get(encounter.pk, []),
                "medications_given": medications.get(encounter.pk, []),
            }


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


class Command(BaseCommand):
    help = (
        "Export encounters, vitals sets and intervals with the HIPAA Safe Harbor identifiers "
        "removed (docs/security.md). Dates are reduced to the year; times become seconds "
        "since the call; patients get a random pseudonym that is new in every export."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="file to write")
        parser.add_argument("--since", type=_day, help="first call date included (YYYY-MM-DD)")
        parser.add_argument("--until", type=_day, help="last call date included (YYYY-MM-DD)")
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = options["since"], options["until"]
        if since is not None and until is not None and since > until:
            raise CommandError("--until must be on or after --since.")
        out: Path = options["out"]
        records = deidentify(_sources(since, until), pseudonyms=Pseudonyms())
        counts = {"encounters": 0, "vitals": 0}
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = None
            if options["format"] == "csv":
                writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, restval="")
                writer.writeheader()
            for record in records:
                counts["encounters" if record["record"] == ENCOUNTER else "vitals"] += 1
                if writer is not None:
                    writer.writerow({k: _csv_value(v) for k, v in record.items()})
                else:
                    handle.write(json.dumps(record, sort_keys=True) + "\n")
        self.stdout.write(
            f"Exported {counts['encounters']} encounters and {counts['vitals']} vitals sets."
        )
