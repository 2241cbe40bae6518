"""The EMSDataSet document: one Header per agency, one PatientCareReport per encounter."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from handoff.interop.nemsis import disposition, patient, response, treatment, vitals
from handoff.interop.nemsis._xml import NS, NSMAP, sub
from handoff.interop.nemsis.record import NemsisExportError, PcrInput

# In the order of EMSDataSet_v3.xsd's PatientCareReport sequence.
SECTIONS = (
    response.e_record,
    response.e_response,
    response.e_dispatch,
    response.e_crew,
    response.e_times,
    patient.e_patient,
    response.e_payment,
    response.e_scene,
    patient.e_situation,
    patient.e_injury,
    patient.e_arrest,
    patient.e_history,
    patient.e_narrative,
    vitals.e_vitals,
    patient.e_exam,
    treatment.e_protocols,
    treatment.e_medications,
    treatment.e_procedures,
    disposition.e_disposition,
    disposition.e_outcome,
)


def check_ready(data: PcrInput) -> None:
    """NemsisExportError naming the first thing an exportable record still lacks."""
    if data.times.on_scene is None:
        raise NemsisExportError(
            "the unit has not reached the scene yet: a patient care record starts there.",
            field="assignment.on_scene_at (eTimes.06)",
        )
    if data.times.back_in_service is None:
        # The national rules compare every time with eTimes.13 and cannot read it empty: the
        # record is complete when the unit clears.
        raise NemsisExportError(
            "the unit is not back in service yet: the record is complete when it clears.",
            field="assignment.cleared_at (eTimes.13)",
        )
    if data.response.response_mode not in ("lights_sirens", "non_urgent"):
        raise NemsisExportError("unknown response mode.", field="incident.response_mode")
    if data.response.unit_type not in ("ALS", "BLS"):
        raise NemsisExportError("unknown unit type.", field="unit.unit_type")


def dataset(records: Iterable[PcrInput]) -> etree._ElementTree:
    """The EMSDataSet of `records` (all of one agency). Raises NemsisExportError."""
    records = list(records)
    if not records:
        raise NemsisExportError("no encounter to export.", field="encounters")
    agency = records[0].agency
    root = etree.Element(f"{{{NS}}}EMSDataSet", nsmap=NSMAP)
    header = sub(root, "Header")
    demographic = sub(header, "DemographicGroup")
    sub(demographic, "dAgency.01", agency.state_id)
    sub(demographic, "dAgency.02", agency.number)
    sub(demographic, "dAgency.04", agency.state)
    for data in records:
        if data.agency != agency:
            raise NemsisExportError("one data set holds one agency's records.", field="agency")
        check_ready(data)
        pcr = sub(header, "PatientCareReport", UUID=data.uuid)
        for section in SECTIONS:
            section(pcr, data)
    return etree.ElementTree(root)


def dataset_bytes(records: Iterable[PcrInput]) -> bytes:
    """`dataset` serialised as UTF-8 XML with its declaration."""
    return etree.tostring(
        dataset(records), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
