"""The NEMSIS export of stored encounters: what the API route and `export_nemsis` call."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings

from audit.services import audit_record
from handoff.interop.nemsis import builder, validate
from handoff.interop.nemsis.record import NemsisExportError
from handoff.interop.nemsis.source import pcr_input
from handoff.models import Encounter


def _related(encounters: Iterable[Encounter]) -> list[Encounter]:
    ids = [e.pk for e in encounters]
    rows = Encounter.objects.select_related(
        "assignment__incident", "assignment__unit__centre", "destination", "created_by"
    ).in_bulk(ids)
    return [rows[pk] for pk in ids]


def encounter_xml(encounter: Encounter) -> bytes:
    """One encounter's EMSDataSet. Precondition: access checked and audited by the caller.

    Raises NemsisExportError naming the field the record still lacks.
    """
    return builder.dataset_bytes([pcr_input(_related([encounter])[0])])


def encounters_for_export(
    *,
    public_ids: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Encounter]:
    """Encounters by public id, or whose PSAP call came in within [since, until)."""
    rows = Encounter.objects.order_by("assignment__incident__call_received_at", "pk")
    if public_ids:
        found = {str(e.public_id): e for e in rows.filter(public_id__in=public_ids)}
        missing = [p for p in public_ids if p not in found]
        if missing:
            raise NemsisExportError(f"no encounter {missing[0]}.", field="encounter")
        return [found[p] for p in public_ids]
    if since is not None:
        rows = rows.filter(assignment__incident__call_received_at__gte=since)
    if until is not None:
        rows = rows.filter(assignment__incident__call_received_at__lt=until)
    return list(rows)


def export_encounters(encounters: list[Encounter], *, purpose: str) -> bytes:
    """The EMSDataSet of `encounters` for an operator's export, each audited as read.

    A record that cannot be exported raises NemsisExportError naming its encounter and field;
    nothing is written or audited then.
    """
    records = []
    for encounter in _related(encounters):
        try:
            records.append(pcr_input(encounter))
            builder.check_ready(records[-1])
        except NemsisExportError as error:
            raise NemsisExportError(
                error.message, field=f"encounter {encounter.public_id}: {error.field}"
            ) from None
    document = builder.dataset_bytes(records)
    for encounter in encounters:
        # An operator's export has no user: the audit row names the command.
        audit_record(
            actor=None,
            action="read",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"via": purpose},
        )
    return document


def check(document: bytes) -> validate.Report:
    """The official XSD and Schematron over `document` (settings.NEMSIS_STANDARDS_DIR).

    Raises NemsisExportError when the standards are not there.
    """
    xsd = settings.NEMSIS_STANDARDS_DIR / "XSDs" / "NEMSIS_EMS_XSDs" / "EMSDataSet_v3.xsd"
    if not xsd.exists():
        raise NemsisExportError(
            f"the official NEMSIS standards are not at {settings.NEMSIS_STANDARDS_DIR}.",
            field="NEMSIS_STANDARDS_DIR",
        )
    return validate.validate(
        document, settings.NEMSIS_STANDARDS_DIR, settings.VAR_DIR / "nemsis-schematron"
    )
