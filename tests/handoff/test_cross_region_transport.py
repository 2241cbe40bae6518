"""Cross-region transport: an ambulance of one centre's region takes its patient to a
hospital in another centre's area, and that ED receives the patient exactly as a local one."""

import pytest

from demo.data import area_box
from dispatch import region
from handoff.selectors import ed_incoming_list
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open
from tests import factories
from tests.handoff.conftest import PATIENT, make_assignment

pytestmark = pytest.mark.django_db


def _patient_to(hospital, centre):
    unit = factories.UnitFactory(home_station=factories.StationFactory(centre=centre))
    crew = factories.CrewFactory(unit=unit)
    assignment = make_assignment(unit, factories.DispatcherFactory(dispatch_centre=centre))
    encounter = encounter_open(user=crew, assignment_id=assignment.pk, data=PATIENT)
    destination_set(
        user=crew, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="regional_specialty"
    )
    return unit, encounter


def test_the_ed_of_another_region_receives_the_patient_as_a_local_one():
    south = factories.DispatchCentreFactory(area=area_box(60.10, 24.80, 60.1745, 25.10))
    north = factories.DispatchCentreFactory(area=area_box(60.1745, 24.80, 60.30, 25.10))
    hospital = factories.HospitalFactory(lat=60.1783, lon=24.9505)  # in the north's area
    assert region.centre_owning(hospital.lat, hospital.lon) == north

    local_unit, local = _patient_to(hospital, north)
    visiting_unit, visiting = _patient_to(hospital, south)

    rows = {row["encounter_id"]: row for row in ed_incoming_list(hospital_id=hospital.id)}
    assert set(rows) == {str(local.public_id), str(visiting.public_id)}
    here, there = rows[str(local.public_id)], rows[str(visiting.public_id)]
    assert here.keys() == there.keys()
    assert there["unit"]["call_sign"] == visiting_unit.call_sign
    assert here["unit"]["call_sign"] == local_unit.call_sign
    # Everything the board shows of the visiting crew's patient, shown as for the local one:
    # only the ids, the unit and the times of the records differ.
    differs = {k for k in here if here[k] != there[k]}
    assert differs <= {
        *("id", "encounter_id", "temp_identifier", "unit", "assignment_id"),
        *("updated_at", "eta_at", "eta_computed_at", "eta_drive_seconds", "trend"),
    }
    assert {"encounter_id", "unit"} <= differs
