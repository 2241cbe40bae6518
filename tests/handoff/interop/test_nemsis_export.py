"""The NEMSIS export of encounters built through the services passes the official XSD and
Schematron with no [ERROR] or [FATAL], and carries the recorded values as NEMSIS codes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from lxml import etree

from accounts.models import User
from handoff.interop.nemsis import builder, validate
from handoff.interop.nemsis.export import encounter_xml
from handoff.interop.nemsis.record import NemsisExportError
from handoff.interop.nemsis.source import pcr_input
from handoff.models import Hospital
from tests import factories
from tests.handoff.conftest import make_assignment

from .nemsis import check, failing
from .nemsis_encounters import stemi_patient, treated_on_scene

pytestmark = pytest.mark.django_db
N = {"n": "http://www.nemsis.org", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}


def _values(document: bytes, element: str) -> list[str | None]:
    tree = etree.fromstring(document)
    return [e.text for e in tree.iterfind(f".//n:{element}", N)]


def _nv(document: bytes, element: str) -> list[str | None]:
    tree = etree.fromstring(document)
    return [e.get("NV") for e in tree.iterfind(f".//n:{element}", N)]


@pytest.fixture
def stemi(paramedic, ed_nurse, hospital, dispatcher, unit):
    hospital.capabilities = ["general", "stemi_pci_24_7"]
    hospital.save()
    return stemi_patient(
        crew=paramedic, ed_nurse=ed_nurse, hospital=hospital, dispatcher=dispatcher, unit=unit
    )


def test_a_handed_over_stemi_patient_passes_xsd_and_schematron(stemi):
    document = encounter_xml(stemi)
    report = check(document)
    assert report.xsd == ()
    assert failing(report) == []


def test_the_export_carries_the_recorded_values_as_nemsis_codes(stemi):
    document = encounter_xml(stemi)
    assert _values(document, "eVitals.10") == ["118", "104"]
    assert _values(document, "eVitals.06") == ["96", "104"]
    # mmol/L x 18.0 (handoff.clinical.vocabulary): 6.1 -> 109.8 -> 110 mg/dL.
    assert _values(document, "eVitals.18") == ["110", None]
    assert _nv(document, "eVitals.18") == [None, "7701003"]
    # 4.8 kPa x 7.50062 = 36.0 mmHg.
    assert _values(document, "eVitals.16")[0] == "36"
    assert _values(document, "eVitals.23") == ["15"]  # omitted when not measured
    assert _values(document, "eVitals.26")[0] == "3326001"
    assert _values(document, "eVitals.03")[0] == "9901049"
    assert _values(document, "eMedications.03") == ["1191", "4917"]
    assert _values(document, "eMedications.04") == ["9927035", "9927047"]
    assert _values(document, "eMedications.06") == ["3706021", "3706021"]
    assert _values(document, "eProcedures.03") == ["268400002"]
    assert _values(document, "eSituation.11") == ["I21.19"]
    assert _values(document, "ePatient.25") == ["9919001"]
    assert _values(document, "ePatient.16") == ["2516009"]
    assert _values(document, "eDisposition.20") == ["4220019"]
    assert _values(document, "eDisposition.23") == ["9908007", "9908033"]
    assert "4224013" in _values(document, "eDisposition.24")
    assert _values(document, "eDisposition.30") == ["4230001"]
    assert _values(document, "eResponse.23") == ["2223001"]
    assert _values(document, "eDispatch.01") == ["2301021"]
    # Only a drug of the export's RxNorm table is coded; the rest is in the narrative.
    assert _values(document, "eHistory.06") == ["7052"]
    assert _values(document, "eHistory.12") == []
    for time in ("eTimes.01", "eTimes.03", "eTimes.05", "eTimes.06", "eTimes.09"):
        assert _values(document, time)[0] is not None, time
    assert _values(document, "eTimes.11")[0] is not None
    assert _values(document, "eTimes.12")[0] is not None
    narrative = _values(document, "eNarrative.01")[0]
    assert "warfarin (anticoagulant)" in narrative
    assert "penicillin" in narrative


def test_a_demo_region_encounter_passes_xsd_and_schematron():
    call_command("seed_demo", stdout=StringIO())
    crew = User.objects.get(username="paramedic")
    dispatcher = User.objects.get(username="dispatcher")
    hospital = Hospital.objects.get(code="demo-heart-stroke")
    ed_nurse = factories.EDStaffFactory(hospital=hospital)
    encounter = stemi_patient(
        crew=crew, ed_nurse=ed_nurse, hospital=hospital, dispatcher=dispatcher, unit=crew.unit
    )
    document = encounter_xml(encounter)
    report = check(document)
    assert report.xsd == ()
    assert failing(report) == []
    # HE101 carries critical care; the Heart and Stroke ED's four capabilities.
    assert _values(document, "eResponse.07") == ["2207019"]
    assert _values(document, "eResponse.14") == ["HE101"]
    assert _values(document, "eDisposition.23") == ["9908007", "9908043", "9908041", "9908033"]


def test_a_record_with_nothing_measured_passes_with_not_values(paramedic, dispatcher, unit):
    encounter = treated_on_scene(crew=paramedic, dispatcher=dispatcher, unit=unit)
    document = encounter_xml(encounter)
    report = check(document)
    assert report.xsd == ()
    assert failing(report) == []
    assert _nv(document, "eVitals.10") == ["7701003"]
    assert _nv(document, "eTimes.11") == ["7701001"]  # not transported
    assert _values(document, "eDisposition.30") == ["4230013"]


def test_a_record_whose_unit_has_not_cleared_is_refused_naming_the_field(
    paramedic, dispatcher, unit
):
    encounter = treated_on_scene(crew=paramedic, dispatcher=dispatcher, unit=unit, clear=False)
    with pytest.raises(NemsisExportError) as error:
        encounter_xml(encounter)
    assert "eTimes.13" in error.value.field


def test_the_validator_catches_a_broken_export(stemi):
    """The checks see our documents: a missing required section fails the XSD, and an
    empty element that does not say why (no NOT value) fails the Schematron."""
    tree = etree.fromstring(encounter_xml(stemi))
    times = tree.find(".//n:eTimes", N)
    times.getparent().remove(times)
    assert check(etree.tostring(tree)).xsd

    tree = etree.fromstring(encounter_xml(stemi))
    del tree.find(".//n:eTimes.07", N).attrib["NV"]
    report = check(etree.tostring(tree))
    assert report.xsd == ()
    assert [p for p in report.schematron if p.role in validate.FAILING_ROLES]


def test_an_encounter_whose_unit_is_not_on_scene_is_refused_naming_the_field(
    paramedic, dispatcher, unit
):
    from dispatch.models import AssignmentStatus
    from handoff.services.encounters import encounter_open

    assignment = make_assignment(unit, dispatcher, status=AssignmentStatus.EN_ROUTE)
    encounter = encounter_open(user=paramedic, assignment_id=assignment.pk, data={})
    with pytest.raises(NemsisExportError) as error:
        builder.dataset_bytes([pcr_input(encounter)])
    assert "eTimes.06" in error.value.field


def test_the_hospitals_outcome_goes_into_eoutcome_and_passes(stemi, ed_nurse):
    from handoff.services.outcome import outcome_record

    before = encounter_xml(stemi)
    assert _nv(before, "eOutcome.01") == ["7701003"]
    outcome_record(
        user=ed_nurse,
        encounter_id=stemi.pk,
        data={
            "diagnosis_text": "STEMI, inferior",
            "diagnosis_icd10": "I21.1",
            "ed_disposition": "09",
            "hospital_disposition": "01",
            "admitted_unit": "cardiology",
        },
    )
    document = encounter_xml(stemi)
    assert _values(document, "eOutcome.01") == ["09"]
    assert _values(document, "eOutcome.02") == ["01"]
    assert _values(document, "eOutcome.10") == ["I21.1"]
    report = check(document)
    assert report.xsd == ()
    assert failing(report) == []


@pytest.mark.parametrize(
    ("simple_type", "element"),
    [("EmergencyDepartmentDisposition", "eOutcome.01"), ("HospitalDisposition", "eOutcome.02")],
)
def test_every_disposition_the_ed_can_record_is_in_the_official_code_list(simple_type, element):
    from django.conf import settings

    from handoff.models import HOSPITAL_DISPOSITIONS, Disposition

    xsd = etree.parse(
        str(settings.NEMSIS_STANDARDS_DIR / "XSDs" / "NEMSIS_EMS_XSDs" / "eOutcome_v3.xsd")
    )
    allowed = {
        e.get("value")
        for e in xsd.iterfind(
            f".//{{http://www.w3.org/2001/XMLSchema}}simpleType[@name='{simple_type}']"
            "//{http://www.w3.org/2001/XMLSchema}enumeration"
        )
    }
    assert allowed, element
    recordable = Disposition.values if element == "eOutcome.01" else HOSPITAL_DISPOSITIONS
    assert {v if isinstance(v, str) else v[0] for v in recordable} - allowed == set()
