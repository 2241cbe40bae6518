"""Our models map onto the exporters' EncounterDocument, and it exports."""

import pytest
from django.utils import timezone

from handoff import selectors, services
from handoff.interop import fhir, hl7

pytestmark = pytest.mark.django_db


def test_encounter_document_carries_the_record_and_exports(paramedic, ed_nurse, routed):
    services.encounter_update(
        user=paramedic,
        encounter_id=routed.pk,
        data={
            "medications": [{"name": "warfarin", "anticoagulant": True}],
            "findings": {"cardiac_arrest": True},
        },
    )
    services.vitals_record(
        user=paramedic,
        encounter_id=routed.pk,
        data={"heart_rate": 110, "blood_glucose": 5.5, "blood_glucose_unit": "mmol/L"},
        client_id="v1",
    )
    services.patient_arrived(user=paramedic, encounter_id=routed.pk)
    routed.refresh_from_db()
    doc = selectors.encounter_document(routed)
    assert doc.status == "arrived"
    assert doc.patient.family == "Virtanen"
    assert doc.patient.temp_id == routed.temp_identifier
    assert doc.medications == [("warfarin", True)]
    assert doc.vitals[0].units == {"blood_glucose": "mmol/L"}
    assert "blood_glucose_unit" not in doc.vitals[0].values
    assert [a.kind for a in doc.activations] == ["cardiac arrest"]
    bundle = fhir.encounter_bundle(doc)
    assert bundle["resourceType"] == "Bundle"
    message = hl7.adt_message(
        doc,
        "A04",
        sending_facility="GOLDENHOUR",
        receiving_facility="ED",
        control_id="1",
        now=timezone.now(),
    )
    assert routed.temp_identifier in message
