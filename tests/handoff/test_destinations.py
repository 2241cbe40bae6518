"""Destination recommendations on the demo road map: capability, diversion, approximation."""

import pytest

from handoff import selectors
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open, encounter_update
from handoff.services.vitals import vitals_record
from tests import factories
from tests.handoff.conftest import make_assignment

pytestmark = pytest.mark.django_db

# Inside the central-Helsinki extract, and the real Meilahti ED just outside it.
KAMPPI = (60.16930, 24.93860)
HAKANIEMI = (60.17830, 24.95050)
MEILAHTI = (60.19000, 24.90550)


@pytest.fixture
def on_map(road_map, unit, dispatcher, paramedic):
    assignment = make_assignment(unit, dispatcher)
    return encounter_open(user=paramedic, assignment_id=assignment.pk)


def hospital(name, where, capabilities, **extra):
    return factories.HospitalFactory(
        name=name, lat=where[0], lon=where[1], capabilities=capabilities, **extra
    )


def names(rows):
    return [r["hospital"]["name"] for r in rows]


def test_large_vessel_stroke_ranks_capable_open_eds_first_then_others_then_diversion(
    on_map, paramedic
):
    near = hospital("Near general", KAMPPI, ["general"])
    hospital("Thrombectomy", HAKANIEMI, ["stroke_thrombectomy"])
    hospital(
        "Diverted comprehensive",
        KAMPPI,
        ["stroke_comprehensive"],
        ed_status="diversion",
        diversion_reason="CT down",
    )
    vitals_record(
        user=paramedic,
        encounter_id=on_map.pk,
        data={"stroke_scale_score": 6, "stroke_scale_type": "RACE"},
        client_id="v1",
    )
    rows = selectors.destination_recommendations(on_map)
    assert names(rows) == ["Thrombectomy", "Near general", "Diverted comprehensive"]
    assert rows[0]["meets_needs"]
    assert rows[0]["needs"] == ["lvo_stroke"]
    assert rows[1]["needs_missing"] == ["large-vessel-occlusion stroke"]
    assert rows[2]["on_diversion"]
    assert rows[2]["diversion_reason"] == "CT down"
    assert rows[2]["meets_needs"]
    assert all(r["drive_time_s"] > 0 for r in rows)
    assert near.pk == rows[1]["hospital"]["id"]


def test_without_special_needs_open_eds_rank_by_drive_time(on_map):
    hospital("Far", HAKANIEMI, ["general"])
    hospital("Close", KAMPPI, ["general"])
    rows = selectors.destination_recommendations(on_map)
    assert names(rows) == sorted(names(rows), key=lambda n: n != "Close")
    assert rows[0]["drive_time_s"] <= rows[1]["drive_time_s"]
    assert not any(r["approximate"] for r in rows)


def test_a_hospital_off_the_road_graph_gets_an_approximate_drive_time(on_map):
    hospital("Meilahti", MEILAHTI, ["general"])
    [row] = selectors.destination_recommendations(on_map)
    assert row["approximate"] is True
    assert row["drive_time_s"] > 0


def test_children_need_a_pediatric_centre_and_stemi_a_24_7_pci_centre(on_map, paramedic):
    hospital("Adults PCI", KAMPPI, ["stemi_pci_24_7"])
    hospital("Children", HAKANIEMI, ["pediatric"])
    encounter_update(user=paramedic, encounter_id=on_map.pk, data={"estimated_age_years": 8})
    on_map.refresh_from_db()
    assert names(selectors.destination_recommendations(on_map))[0] == "Children"
    vitals_record(user=paramedic, encounter_id=on_map.pk, data={"ecg_stemi": True}, client_id="ecg")
    rows = selectors.destination_recommendations(on_map)
    assert {n.key for n in selectors.care_needs(on_map)} == {"pediatric", "stemi"}
    assert not any(r["meets_needs"] for r in rows)


def test_choosing_a_destination_sets_the_eta(on_map, paramedic):
    target = hospital("Close", KAMPPI, ["general"])
    chosen = destination_set(
        user=paramedic, encounter_id=on_map.pk, hospital_id=target.pk, reason="closest"
    )
    assert chosen.eta_at is not None
    assert chosen.eta_at > chosen.destination_set_at
    assert chosen.eta_approximate is False


def test_a_55_year_old_man_is_not_offered_the_womens_or_childrens_hospital(on_map, paramedic):
    hospital("General", HAKANIEMI, ["general"])
    hospital("Women's", KAMPPI, ["obstetrics", "neonatal"])
    hospital("Children's", KAMPPI, ["pediatric", "neonatal", "trauma_2"])
    rows = selectors.destination_recommendations(on_map)
    # Age and sex unknown: nothing excluded, the specialist hospitals marked to check.
    assert all(r["suitable"] for r in rows)
    notes = {r["hospital"]["name"]: r["fit_note"] for r in rows}
    assert notes["General"] is None
    assert "check" in notes["Women's"]
    assert "check" in notes["Children's"]

    encounter_update(
        user=paramedic, encounter_id=on_map.pk, data={"estimated_age_years": 55, "sex": "male"}
    )
    on_map.refresh_from_db()
    rows = selectors.destination_recommendations(on_map)
    assert [r["hospital"]["name"] for r in rows if r["suitable"]] == ["General"]
    unsuitable = {r["hospital"]["name"]: r["fit_note"] for r in rows if not r["suitable"]}
    assert "patient is male" in unsuitable["Women's"]
    assert "patient 55" in unsuitable["Children's"]
    assert rows[0]["hospital"]["name"] == "General"


def test_a_pregnant_woman_and_a_child_keep_their_specialist_hospitals(on_map, paramedic):
    hospital("Women's", KAMPPI, ["obstetrics"])
    hospital("Children's", HAKANIEMI, ["pediatric"])
    encounter_update(
        user=paramedic, encounter_id=on_map.pk, data={"estimated_age_years": 30, "sex": "female"}
    )
    on_map.refresh_from_db()
    fit = {
        r["hospital"]["name"]: r["suitable"] for r in selectors.destination_recommendations(on_map)
    }
    assert fit == {"Women's": True, "Children's": False}
    encounter_update(
        user=paramedic, encounter_id=on_map.pk, data={"estimated_age_years": 8, "sex": "male"}
    )
    on_map.refresh_from_db()
    fit = {
        r["hospital"]["name"]: r["suitable"] for r in selectors.destination_recommendations(on_map)
    }
    assert fit == {"Women's": False, "Children's": True}


def test_a_hospital_without_the_capability_warns_and_raises_no_activation_there(on_map, paramedic):
    from handoff.models import TeamActivation
    from realtime.models import EventLog

    eira = hospital("No PCI", KAMPPI, ["general", "stemi_non_pci"])
    pci = hospital("PCI", HAKANIEMI, ["general", "stemi_pci_24_7"])
    vitals_record(user=paramedic, encounter_id=on_map.pk, data={"ecg_stemi": True}, client_id="ecg")
    chosen = destination_set(
        user=paramedic, encounter_id=on_map.pk, hospital_id=eira.pk, reason="closest"
    )
    [warning] = selectors.destination_warnings(chosen)
    assert "No PCI has no STEMI care" in warning
    assert selectors.encounter_detail(chosen)["destination_warnings"] == [warning]
    stemi = TeamActivation.objects.get(encounter=on_map, kind="stemi")
    assert stemi.sent_at is None
    proposed = EventLog.objects.filter(type="handoff.activation.proposed")
    assert not proposed.filter(stream=f"handoff.ed.{eira.pk}").exists()
    assert selectors.board_row(chosen)["activations"] == []

    chosen = destination_set(
        user=paramedic, encounter_id=on_map.pk, hospital_id=pci.pk, reason="closest"
    )
    assert selectors.destination_warnings(chosen) == []
    stemi.refresh_from_db()
    assert stemi.sent_at is not None
    assert proposed.filter(stream=f"handoff.ed.{pci.pk}").exists()
