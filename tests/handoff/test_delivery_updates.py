"""Every later event delivers an update, and a reroute cancels at the first hospital.

Arrival, transfer of care, reconciliation, interventions and medications each enqueue an
HL7 v2 message and a new FHIR document version that replaces the last accepted one; the
hospital no longer receiving the patient gets ADT^A38 and a cancelled Encounter. Run
against the real MLLP and HTTP receivers of tests/handoff/interop/test_delivery.py.
"""

from __future__ import annotations

import json
from typing import Any

import hl7
import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from handoff import delivery_jobs
from handoff.interop.fhir.validation import schema_issues
from handoff.models import Hospital
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_close, encounter_update
from handoff.services.handover import admission_reconcile, patient_arrived, transfer_of_care_confirm
from handoff.services.treatment import intervention_record, medication_record
from handoff.services.vitals import vitals_record
from outbox import services as outbox
from outbox.models import OutboxTask
from tests.handoff.interop import test_delivery as receivers

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboxTask.Status
http_receiver = receivers.http_receiver
mllp_receiver = receivers.mllp_receiver


@pytest.fixture
def wired(hospital, mllp_receiver, http_receiver):
    """`hospital` with both receivers; returns (hospital, mllp state, http state)."""
    port, mllp_state = mllp_receiver
    url, http_state = http_receiver
    hospital.hl7_host, hospital.hl7_port = "127.0.0.1", port
    hospital.hl7_receiving_application = "HIS_ADT"
    hospital.hl7_receiving_facility = "FIRST_ED"
    hospital.fhir_endpoint = url
    hospital.save()
    return hospital, mllp_state, http_state


def route(paramedic, encounter, hospital):
    return destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )


def msh(message: str, number: int) -> str:
    return str(hl7.parse(message).segment("MSH")[number])


def kinds(state) -> list[str]:
    return [msh(m, 9) for m in state.received]


def bundles(state) -> list[dict[str, Any]]:
    return [json.loads(body) for _, _, body in state.received]


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def composition(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]


def delivered(kind: str) -> list[dict[str, Any]]:
    rows = OutboxTask.objects.filter(kind=kind, status=Status.DONE).order_by("pk")
    return [t.result for t in rows if t.result and t.result.get("delivered")]


def strict(message: str):
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)
    assert parsed.validate()
    return parsed


def test_arrival_sends_a04_and_a_new_document_version_replacing_the_first(
    paramedic, encounter, wired
):
    hospital, mllp_state, http_state = wired
    route(paramedic, encounter, hospital)

    patient_arrived(user=paramedic, encounter_id=encounter.pk)

    assert kinds(mllp_state) == ["ADT^A05^ADT_A05", "ADT^A04^ADT_A01"]
    first, second = bundles(http_state)
    assert "relatesTo" not in composition(first)
    assert composition(second)["relatesTo"] == [
        {"code": "replaces", "targetIdentifier": first["identifier"]}
    ]
    assert second["identifier"] != first["identifier"]
    (enc,) = resources(second, "Encounter")
    assert enc["status"] == "arrived"
    assert schema_issues(second) == []
    assert [(r["version"], r["replaces"]) for r in delivered(delivery_jobs.FHIR_KIND)] == [
        (1, None),
        (2, first["identifier"]["value"]),
    ]


def test_transfer_of_care_sends_a08_and_the_final_document(paramedic, ed_nurse, encounter, wired):
    hospital, mllp_state, http_state = wired
    route(paramedic, encounter, hospital)
    patient_arrived(user=paramedic, encounter_id=encounter.pk)

    transfer_of_care_confirm(user=paramedic, encounter_id=encounter.pk)
    assert len(http_state.received) == 2  # one side only: nothing changed for the ED
    transfer_of_care_confirm(user=ed_nurse, encounter_id=encounter.pk)

    assert kinds(mllp_state)[-1] == "ADT^A08^ADT_A01"
    final = bundles(http_state)[-1]
    assert composition(final)["status"] == "final"
    (enc,) = resources(final, "Encounter")
    assert enc["status"] == "finished"
    assert "end" in enc["period"]
    assert (
        composition(final)["relatesTo"][0]["targetIdentifier"]
        == (bundles(http_state)[-2]["identifier"])
    )


def test_reconcile_sends_the_mrn_in_pid_3_and_patient_identifier(
    paramedic, ed_nurse, encounter, wired
):
    hospital, mllp_state, http_state = wired
    route(paramedic, encounter, hospital)
    patient_arrived(user=paramedic, encounter_id=encounter.pk)

    admission_reconcile(user=ed_nurse, encounter_id=encounter.pk, mrn="MRN-0042")

    a08 = mllp_state.received[-1]
    assert msh(a08, 9) == "ADT^A08^ADT_A01"
    assert strict(a08).pid.pid_3[0].cx_1.to_er7() == "MRN-0042"
    (patient,) = resources(bundles(http_state)[-1], "Patient")
    assert patient["identifier"][0]["value"] == "MRN-0042"


def test_intervention_sends_a08_with_pr1_and_no_repeated_obx(paramedic, encounter, wired):
    hospital, mllp_state, http_state = wired
    route(paramedic, encounter, hospital)
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 88}, client_id="v1"
    )

    intervention_record(
        user=paramedic, encounter_id=encounter.pk, client_id="i1", text="IV access | 18G"
    )

    a08 = hl7.parse(mllp_state.received[-1])
    assert str(a08.segment("MSH")[9]) == "ADT^A08^ADT_A01"
    assert a08["PR1.F3.R1.C2"] == "IV access | 18G"
    # The heart rate went with the first A08; the procedure's A08 does not repeat it.
    hr = [m for m in mllp_state.received if "8867-4^" in m]
    assert len(hr) == 1
    (procedure,) = resources(bundles(http_state)[-1], "Procedure")
    assert procedure["code"]["text"] == "IV access | 18G"


def test_a_new_vitals_set_sends_only_its_own_obx(paramedic, encounter, wired):
    hospital, mllp_state, _ = wired
    route(paramedic, encounter, hospital)
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 88}, client_id="v1"
    )
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 97}, client_id="v2"
    )

    first, second = (hl7.parse(m) for m in mllp_state.received[1:])
    assert [str(o[5]) for o in first.segments("OBX") if "8867-4" in str(o[3])] == ["88"]
    assert [str(o[5]) for o in second.segments("OBX") if "8867-4" in str(o[3])] == ["97"]
    assert {k.split(":")[0] for k in delivered(delivery_jobs.HL7_KIND)[-1]["obx"]} >= {"vitals"}


def test_medications_go_as_ras_o17_one_new_dose_per_message(paramedic, encounter, wired):
    hospital, mllp_state, http_state = wired
    route(paramedic, encounter, hospital)

    medication_record(
        user=paramedic, encounter_id=encounter.pk, client_id="m1", name="Aspirin",
        dose=300, unit="mg", route="PO",
    )  # fmt: skip
    medication_record(
        user=paramedic, encounter_id=encounter.pk, client_id="m2", name="Glyceryl trinitrate",
        dose=0.4, unit="mg", route="SL",
    )  # fmt: skip

    assert kinds(mllp_state) == ["ADT^A05^ADT_A05", "RAS^O17^RAS_O17", "RAS^O17^RAS_O17"]
    first, second = (strict(m) for m in mllp_state.received[1:])
    assert [str(s[5]) for s in hl7.parse(mllp_state.received[1]).segments("RXA")] == ["^Aspirin"]
    assert [str(s[5]) for s in hl7.parse(mllp_state.received[2]).segments("RXA")] == [
        "^Glyceryl trinitrate"
    ]
    assert first.name == second.name == "RAS_O17"
    given = resources(bundles(http_state)[-1], "MedicationAdministration")
    assert len(given) == 2
    assert [r["medications"] for r in delivered(delivery_jobs.HL7_KIND)[1:]] == [["m1"], ["m2"]]


def test_reroute_cancels_at_the_first_hospital_only(paramedic, encounter, wired):
    hospital, mllp_state, http_state = wired
    route(paramedic, encounter, hospital)
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 131}, client_id="v1"
    )
    second = Hospital.objects.create(
        name="Second", code="second", lat=60.2, lon=24.9, capabilities=[]
    )

    route(paramedic, encounter, second)

    a38 = mllp_state.received[-1]
    assert msh(a38, 9) == "ADT^A38^ADT_A38"
    assert msh(a38, 6) == "FIRST_ED"
    parsed = strict(a38)
    assert parsed.pid.pid_3[0].cx_1.to_er7() == encounter.temp_identifier
    # Nothing clinical: no OBX, and the heart rate nowhere (timestamps may contain "131").
    assert [segment[:3] for segment in a38.split("\r") if segment] == ["MSH", "EVN", "PID", "PV1"]
    assert "|131|" not in a38
    cancel = bundles(http_state)[-1]
    (enc,) = resources(cancel, "Encounter")
    assert enc["status"] == "cancelled"
    assert (
        composition(cancel)["relatesTo"][0]["targetIdentifier"]
        == (bundles(http_state)[-2]["identifier"])
    )
    # The receiving hospital's Organization (the other one is the EMS organization, author).
    hospital_codes = [
        ident["value"]
        for org in resources(cancel, "Organization")
        for ident in org.get("identifier", [])
        if ident["value"] == hospital.code
    ]
    assert hospital_codes == [hospital.code]
    # Least disclosure: no clinical content goes to the hospital that no longer receives.
    assert resources(cancel, "Observation") == []
    assert '"value": 131' not in json.dumps(cancel)
    assert schema_issues(cancel) == []
    # Later changes go to the new destination (no endpoints here), never to the first.
    before = (len(mllp_state.received), len(http_state.received))
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 120}, client_id="v2"
    )
    assert (len(mllp_state.received), len(http_state.received)) == before


def test_rerouting_back_starts_over_at_the_first_hospital(paramedic, encounter, wired):
    hospital, mllp_state, http_state = wired
    route(paramedic, encounter, hospital)
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 131}, client_id="v1"
    )
    second = Hospital.objects.create(
        name="Second", code="second", lat=60.2, lon=24.9, capabilities=[]
    )
    route(paramedic, encounter, second)

    route(paramedic, encounter, hospital)

    assert kinds(mllp_state) == [
        "ADT^A05^ADT_A05",
        "ADT^A08^ADT_A01",
        "ADT^A38^ADT_A38",
        "ADT^A05^ADT_A05",
    ]
    # After the cancel the hospital has nothing: the new A05 carries the vitals again.
    assert "8867-4^" in mllp_state.received[-1]
    # The FHIR receiver keeps its documents: the new version replaces the cancel document.
    *_, cancel, again = bundles(http_state)
    assert resources(cancel, "Encounter")[0]["status"] == "cancelled"
    assert composition(again)["relatesTo"][0]["targetIdentifier"] == cancel["identifier"]
    assert resources(again, "Encounter")[0]["status"] == "planned"
    assert [r["version"] for r in delivered(delivery_jobs.FHIR_KIND)] == [1, 2, 3, 4]


def test_cancel_is_not_sent_where_nothing_was_delivered(paramedic, encounter, wired):
    hospital, mllp_state, http_state = wired
    mllp_state.answer, http_state.answer = "AR", 400
    route(paramedic, encounter, hospital)
    mllp_state.answer, http_state.answer = "AA", 201
    second = Hospital.objects.create(
        name="Second", code="second", lat=60.2, lon=24.9, capabilities=[]
    )

    route(paramedic, encounter, second)

    assert kinds(mllp_state) == ["ADT^A05^ADT_A05"]
    assert len(http_state.received) == 1
    cancels = OutboxTask.objects.filter(payload__cancel=True)
    assert cancels.count() == 2
    assert {t.result["reason"] for t in cancels} == {"nothing was sent there"}


def test_closing_before_arrival_cancels_at_the_destination(paramedic, encounter, wired):
    hospital, mllp_state, http_state = wired
    route(paramedic, encounter, hospital)

    encounter_close(user=paramedic, encounter_id=encounter.pk)

    assert kinds(mllp_state)[-1] == "ADT^A38^ADT_A38"
    (enc,) = resources(bundles(http_state)[-1], "Encounter")
    assert enc["status"] == "cancelled"


def test_an_update_retried_after_an_early_close_is_not_sent(paramedic, encounter, wired):
    hospital, mllp_state, http_state = wired
    mllp_state.answer, http_state.answer = "close", 503
    route(paramedic, encounter, hospital)
    mllp_state.answer, http_state.answer = "AA", 201

    encounter_close(user=paramedic, encounter_id=encounter.pk)
    for task in OutboxTask.objects.exclude(payload__has_key="cancel"):
        OutboxTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
        assert outbox.outbox_task_run(task.pk) == "done"

    # Nothing reached the hospital, so no cancel either; the A05 and Bundle stay unsent.
    assert len(mllp_state.received) == 1
    assert len(http_state.received) == 1
    assert {t.result.get("skipped") for t in OutboxTask.objects.all()} == {True}


def test_hl7_without_a_receiving_application_fails_naming_msh_5(paramedic, encounter, wired):
    hospital, mllp_state, _ = wired
    Hospital.objects.filter(pk=hospital.pk).update(hl7_receiving_application="")

    route(paramedic, encounter, hospital)

    (task,) = OutboxTask.objects.filter(kind=delivery_jobs.HL7_KIND)
    assert task.status == Status.FAILED
    assert "hl7_receiving_application" in task.last_error
    assert mllp_state.received == []


@override_settings(HANDOFF_HL7_ALLOWED_HOSTS=["ris.example"])
def test_hospital_clean_requires_the_receiving_application(hospital):
    hospital.hl7_host, hospital.hl7_port = "ris.example", 2575
    with pytest.raises(ValidationError) as caught:
        hospital.full_clean()
    assert "hl7_receiving_application" in caught.value.message_dict
    hospital.hl7_receiving_application = "HIS|ADT"
    with pytest.raises(ValidationError) as caught:
        hospital.full_clean()
    assert "HL7 delimiters" in caught.value.message_dict["hl7_receiving_application"][0]
    hospital.hl7_receiving_application = "HIS_ADT"
    hospital.full_clean()


def test_no_observation_is_sent_twice_across_a_whole_handoff(paramedic, ed_nurse, encounter, wired):
    hospital, mllp_state, _ = wired
    encounter_update(
        user=paramedic,
        encounter_id=encounter.pk,
        data={"medications": [{"name": "Warfarin", "anticoagulant": True}]},
    )
    route(paramedic, encounter, hospital)
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 88}, client_id="v1"
    )
    intervention_record(user=paramedic, encounter_id=encounter.pk, client_id="i1", text="IV access")
    patient_arrived(user=paramedic, encounter_id=encounter.pk)
    admission_reconcile(user=ed_nurse, encounter_id=encounter.pk, mrn="MRN-7")

    assert len(mllp_state.received) == 5
    seen: list[tuple[str, ...]] = []
    for message in mllp_state.received:
        for segment in hl7.parse(message):
            if str(segment[0]) == "OBX":
                # OBX-1, OBX-4 are positions in one message; OBX-11 (F or C) and OBX-14
                # are left out: one vitals set here, so equal content is the same value.
                fields = [str(f) for f in segment] + [""] * 18
                seen.append(tuple(fields[n] for n in (2, 3, 5, 6, 17)))
    assert len(seen) == len(set(seen)), "an OBX was repeated"
    assert any(s[1].startswith("10160-0^") and "Warfarin" in s[2] for s in seen)
    # The anticoagulant is in every message's AL1 list (a list the receiver replaces).
    for message in mllp_state.received:
        assert "AL1|1|MC^Miscellaneous contraindication^HL70127|^Warfarin" in message
