"""The crew tablet carries the patient record: its section, its vocabulary and its scripts."""

from __future__ import annotations

import json
import re

import pytest

from dispatch import services
from dispatch.assets import module_imports
from handoff.clinical import VITALS
from handoff.services.encounters import encounter_open
from tests import factories

URL = "/dispatch/tablet/"


def _record_initial(html: str) -> dict:
    match = re.search(r'<script id="record-initial" type="application/json">(.*?)</script>', html)
    assert match, "the page embeds the record's initial state"
    return json.loads(match.group(1))


@pytest.fixture
def page(client, paramedic, hospital):
    client.force_login(paramedic)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_tablet_renders_the_record_section_for_crew(page):
    for element in (
        "record",
        "add-patient",
        "vitals-form",
        "save-vitals",
        "gcs-total",
        "patient-form",
        "dest-list",
        "dest-reason",
        "thread",
        "ed-ack-state",
        "scores",
        "atmist",
        "outbox-state",
    ):
        assert f'id="{element}"' in page
    for vital in ("heart_rate", "respiratory_rate", "systolic_bp", "spo2", "blood_glucose"):
        assert f'data-vital-input="{vital}"' in page
    for item in ("balance", "eyes", "face", "arm", "speech"):
        assert f'data-befast="{item}"' in page


def test_record_is_imported_by_the_tablet_and_its_styles_load(page):
    assert "/static/dispatch/record.css" in page
    assert '<script type="module" src="/static/dispatch/tablet.js">' in page
    assert "dispatch/record.js" in module_imports("dispatch/tablet.js")


def test_record_mirrors_the_servers_plausible_ranges_and_reasons(page):
    record = _record_initial(page)
    assert record["encounters"] == []
    for key in ("heart_rate", "spo2", "temperature", "blood_glucose"):
        spec = VITALS[key]
        assert record["vitals"][key]["min"] == spec.minimum
        assert record["vitals"][key]["max"] == spec.maximum
    assert record["vitals"]["blood_glucose"]["units"]["mmol/L"] == 18.0
    assert record["stroke_scales"]["RACE"] == [0, 9]
    assert {"closest", "regional_specialty", "diversion"} <= {r["value"] for r in record["reasons"]}
    assert '<option value="regional_specialty">' in page


@pytest.mark.parametrize("minutes", [60, 7])
def test_the_page_carries_the_servers_handover_window_after_clear(
    client, paramedic, settings, minutes
):
    settings.CREW_HANDOVER_MINUTES_AFTER_CLEAR = minutes
    client.force_login(paramedic)
    record = _record_initial(client.get(URL).content.decode())
    assert record["handover_minutes_after_clear"] == minutes


def test_open_encounters_of_the_current_assignment_are_in_the_page(
    client, dispatcher, demo_units, make_incident
):
    crew = factories.CrewFactory(unit=demo_units[0])
    incident = make_incident(chief_complaint="fall from ladder")
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[crew.unit_id]
    )
    encounter = encounter_open(
        user=crew, assignment_id=assignment.pk, data={"estimated_age_years": 70}
    )
    client.force_login(crew)
    record = _record_initial(client.get(URL).content.decode())
    [row] = record["encounters"]
    assert row["encounter_id"] == str(encounter.public_id)
    assert row["estimated_age_years"] == 70
    assert row["chief_complaint"] == "fall from ladder"


def test_the_record_is_for_crew_only(client, dispatcher):
    client.force_login(dispatcher)
    assert client.get(URL).status_code == 403
