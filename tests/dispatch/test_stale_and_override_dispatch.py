"""Safety defect 3: a stale position never blocks dispatch, and an excluded unit can be sent
with one explicit confirmation that is kept and audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from dispatch import selectors, services
from dispatch.models import Assignment, AssignmentTransition, UnitStatus
from tests import factories
from tests.dispatch.conftest import HAKANIEMI, KAMPPI

pytestmark = pytest.mark.django_db


def _stale(unit, where, minutes=7):
    unit.last_lat, unit.last_lon = where
    unit.last_fix_at = timezone.now() - timedelta(minutes=minutes)
    unit.position_stale = True
    unit.save()


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_every_unit_stale_is_still_ranked_from_its_last_place_with_its_age(
    dispatcher, demo_units, make_incident
):
    for unit, where in zip(demo_units, (KAMPPI, KAMPPI, HAKANIEMI), strict=True):
        _stale(unit, where)
    incident = make_incident(determinant="CHARLIE", where=HAKANIEMI)
    ranked = selectors.incident_recommendations(incident)
    assert [r.excluded for r in ranked] == [None, None, None]
    assert all(r.position_stale and r.position_source == "fix" for r in ranked)
    assert {r.position_note for r in ranked} == {"position 7 min old"}
    # Unit 1 is based at Erottaja but last seen at Kamppi: ranked from Kamppi.
    kamppi = next(r for r in ranked if r.unit.pk == demo_units[0].pk)
    route_from_fix = selectors.get_network().rank(
        (incident.road_lat, incident.road_lon), [KAMPPI], "urgent"
    )[0]
    assert kamppi.eta_s == pytest.approx(route_from_fix.eta_s, abs=0.2)
    assert ranked[0].unit.pk == demo_units[2].pk


def test_a_unit_with_no_fix_is_ranked_from_its_station_and_says_so(
    dispatcher, demo_units, make_incident
):
    incident = make_incident(determinant="CHARLIE")
    notes = {r.unit.pk: r.position_note for r in selectors.incident_recommendations(incident)}
    station = demo_units[0].home_station.name
    assert notes[demo_units[0].pk] == f"from station {station} (no position yet)"


def test_a_fix_off_the_map_falls_back_to_the_station_as_unsure(
    dispatcher, demo_units, make_incident
):
    far = demo_units[0]
    far.last_lat, far.last_lon, far.last_fix_at = 60.30, 25.30, timezone.now()
    far.save()
    incident = make_incident(determinant="CHARLIE")
    rec = next(r for r in selectors.incident_recommendations(incident) if r.unit.pk == far.pk)
    assert rec.excluded is None
    assert rec.position_source == "station"
    assert rec.position_stale
    assert "last fix off the map" in rec.position_note


def test_a_fresh_unit_ranks_before_a_stale_one_at_a_similar_eta(
    dispatcher, road_map, centre, make_incident
):
    station = factories.StationFactory(centre=centre, lat=KAMPPI[0], lon=KAMPPI[1])
    fresh = factories.UnitFactory(home_station=station, unit_type="ALS", call_sign="Z-FRESH")
    stale = factories.UnitFactory(home_station=station, unit_type="ALS", call_sign="A-STALE")
    for unit in (fresh, stale):
        unit.last_lat, unit.last_lon, unit.last_fix_at = KAMPPI[0], KAMPPI[1], timezone.now()
        unit.save()
    stale.last_fix_at = timezone.now() - timedelta(minutes=5)
    stale.save()
    incident = make_incident(determinant="CHARLIE", where=HAKANIEMI)
    ranked = selectors.incident_recommendations(incident)
    # Same place, same ETA: the call sign would put A-STALE first; the sure position wins.
    assert [r.unit.pk for r in ranked] == [fresh.pk, stale.pk]
    assert ranked[0].eta_s == ranked[1].eta_s


def test_a_stale_unit_dispatches_and_the_transition_says_from_where(
    dispatcher, demo_units, make_incident
):
    for unit in demo_units:
        _stale(unit, HAKANIEMI)
    incident = make_incident(determinant="CHARLIE")
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    assert assignment.eta_s is not None
    note = AssignmentTransition.objects.get(assignment=assignment).note
    assert note == "ranked from position 7 min old"
    assert assignment.override_reason == ""


def test_an_excluded_unit_needs_the_override_flag(dispatcher, demo_units, make_incident):
    bls = demo_units[1]
    incident = make_incident(determinant="DELTA")
    with pytest.raises(services.DispatchError) as refused:
        services.assignments_create(user=dispatcher, incident_id=incident.pk, unit_ids=[bls.pk])
    assert refused.value.field == "override"
    assert refused.value.code == "override_required"
    assert "Delta needs an ALS unit" in refused.value.message
    assert not Assignment.objects.exists()


def test_override_sends_the_excluded_unit_keeps_the_reason_and_audits_it(
    dispatcher, demo_units, make_incident
):
    bls = demo_units[1]
    incident = make_incident(determinant="DELTA")
    [assignment] = services.assignments_create(
        user=dispatcher,
        incident_id=incident.pk,
        unit_ids=[bls.pk],
        override=True,
        override_note="ALS units too far",
    )
    assert assignment.override_reason == "Delta needs an ALS unit"
    assert assignment.eta_s is not None
    transition = AssignmentTransition.objects.get(assignment=assignment)
    assert transition.note == "dispatched anyway: Delta needs an ALS unit (ALS units too far)"
    event = AuditEvent.objects.get(action="dispatch_override")
    assert event.actor == dispatcher
    assert event.object_id == str(assignment.pk)
    assert event.detail["excluded"] == "needs_als"
    assert event.detail["unit"] == bls.pk


def test_override_never_sends_a_busy_or_out_of_service_unit(dispatcher, demo_units, make_incident):
    out = demo_units[0]
    out.status = UnitStatus.OUT_OF_SERVICE
    out.save()
    incident = make_incident(determinant="CHARLIE")
    with pytest.raises(services.DispatchError) as refused:
        services.assignments_create(
            user=dispatcher, incident_id=incident.pk, unit_ids=[out.pk], override=True
        )
    assert refused.value.code == "unit_unavailable"


def test_api_recommendations_show_stale_and_overridable_units(
    client, dispatcher, demo_units, make_incident
):
    for unit in demo_units:
        _stale(unit, HAKANIEMI, minutes=12)
    incident = make_incident(determinant="ECHO")
    client.force_login(dispatcher)
    rows = client.get(f"/api/v1/incidents/{incident.pk}/recommendations/").json()
    by_unit = {r["unit_id"]: r for r in rows}
    bls = by_unit[demo_units[1].pk]
    assert bls["excluded_code"] == "needs_als"
    assert bls["overridable"] is True
    assert bls["eta_s"] is not None
    als = by_unit[demo_units[0].pk]
    assert als["excluded"] is None
    assert als["position_stale"] is True
    assert als["position_note"] == "position 12 min old"
    assert als["position_age_s"] == pytest.approx(720, abs=5)


def test_api_dispatch_of_an_excluded_unit_is_409_naming_override_then_201_with_it(
    client, dispatcher, demo_units, make_incident
):
    bls = demo_units[1]
    incident = make_incident(determinant="ECHO")
    client.force_login(dispatcher)
    url = f"/api/v1/incidents/{incident.pk}/assignments/"
    refused = post(client, url, {"unit_ids": [bls.pk]})
    assert refused.status_code == 409
    assert refused.json()["code"] == "override_required"
    assert "Echo needs an ALS unit" in refused.json()["override"][0]
    bad = post(client, url, {"unit_ids": [bls.pk], "override": "perhaps"})
    assert bad.status_code == 400
    assert "override" in bad.json()
    sent = post(client, url, {"unit_ids": [bls.pk], "override": True})
    assert sent.status_code == 201, sent.json()
    assert sent.json()[0]["override_reason"] == "Echo needs an ALS unit"


def test_a_bls_unit_beside_an_als_unit_needs_no_override(dispatcher, demo_units, make_incident):
    als, bls, _ = demo_units
    incident = make_incident(determinant="ECHO")
    services.assignments_create(user=dispatcher, incident_id=incident.pk, unit_ids=[als.pk])
    rec = next(r for r in selectors.incident_recommendations(incident) if r.unit.pk == bls.pk)
    assert rec.excluded is None
    [backup] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[bls.pk]
    )
    assert backup.override_reason == ""


def test_dispatch_still_works_without_a_road_map(
    dispatcher, demo_units, make_incident, monkeypatch
):
    from routing.services import MapNotBuiltError

    incident = make_incident(determinant="DELTA")

    def no_map():
        raise MapNotBuiltError("No road map has been built yet.")

    monkeypatch.setattr(selectors, "get_network", no_map)
    with pytest.raises(services.DispatchError) as refused:
        services.assignments_create(
            user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[1].pk]
        )
    assert refused.value.code == "override_required"
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    assert assignment.eta_s is None
    # With an ALS unit on its way, the BLS unit is backup.
    services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[1].pk]
    )
