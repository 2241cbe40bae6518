"""Fixtures of the handoff tests: an assignment made without the road map, and encounters."""

import pytest
from django.utils import timezone

from dispatch.models import Assignment, AssignmentStatus, Incident
from handoff import services
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
    return services.encounter_open(user=paramedic, assignment_id=assignment.pk, data=PATIENT)


@pytest.fixture
def routed(paramedic, encounter, hospital):
    """An encounter bound for `hospital` (pre-registered there)."""
    return services.destination_set(
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
