"""Fixtures of the handoff tests: an assignment made without the road map, and encounters."""

import pytest
from django.utils import timezone

from dispatch.models import Assignment, AssignmentStatus, Incident
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open
from tests import factories

PATIENT = {"family_name": "Virtanen", "given_name": "Aino"}


def make_assignment(unit, dispatcher, status=AssignmentStatus.TRANSPORTING):
    """An incident and an assignment written directly: no road map needed."""
    now = timezone.now()
    incident = Incident.objects.create(
        centre=unit.centre,
        chief_complaint="chest pain",
        determinant="DELTA",
        response_mode="lights_sirens",
        location_source="map",
        lat=60.1694,
        lon=24.9520,
        confidence=0.9,
        road_lat=60.1694,
        road_lon=24.9520,
        road_distance_m=3.0,
        call_received_at=now,
        created_at=now,
        created_by=dispatcher,
    )
    return Assignment.objects.create(incident=incident, unit=unit, status=status, notified_at=now)


@pytest.fixture
def assignment(unit, centre, dispatcher):
    return make_assignment(unit, dispatcher)


@pytest.fixture
def encounter(paramedic, assignment):
    return encounter_open(user=paramedic, assignment_id=assignment.pk, data=PATIENT)


def arrive(crew, encounter, *, hours_ago: float = 0):
    """The crew marks the patient arrived at the destination; `hours_ago` moves the door time
    back (an outcome or a treatment time after it is then not in the future)."""
    from datetime import timedelta

    from handoff.models import Encounter
    from handoff.services.handover import patient_arrived

    patient_arrived(user=crew, encounter_id=encounter.pk)
    if hours_ago:
        Encounter.objects.filter(pk=encounter.pk).update(
            arrived_at=timezone.now() - timedelta(hours=hours_ago)
        )
    encounter.refresh_from_db()
    return encounter


@pytest.fixture
def routed(paramedic, encounter, hospital):
    """An encounter bound for `hospital` (pre-registered there)."""
    return destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )


@pytest.fixture
def other_crew(db):
    """Crew of another unit (of another centre)."""
    return factories.CrewFactory()


@pytest.fixture
def other_ed(db):
    """ED staff of another hospital."""
    return factories.EDStaffFactory()


@pytest.fixture
def charge_nurse(hospital):
    return factories.EDStaffFactory(hospital=hospital, is_charge=True)


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    """The delivery tests' receivers listen on 127.0.0.1, over plain http and MLLP: allowed
    here as an operator would allow a receiver on the same machine."""
    settings.HANDOFF_FHIR_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.HANDOFF_HL7_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.HANDOFF_FHIR_HTTP_LOOPBACK = True
