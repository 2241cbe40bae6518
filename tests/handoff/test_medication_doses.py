"""Dose sanity: a dose outside the drug's plausible range for the route needs the crew's
confirmation, one far beyond it (or in a unit the drug is not given in) is refused."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from handoff.clinical.doses import dose_check
from handoff.models import MedicationGiven
from handoff.services import HandoffError
from handoff.services.treatment import medication_record


def _give(paramedic, encounter, client_id, name, dose, unit, route, **extra):
    return medication_record(
        user=paramedic,
        encounter_id=encounter.pk,
        client_id=client_id,
        name=name,
        dose=dose,
        unit=unit,
        route=route,
        **extra,
    )


@pytest.mark.parametrize(
    ("name", "dose", "unit", "route", "verdict"),
    [
        ("Adrenaline", 1, "mg", "IV", "ok"),
        ("Adrenaline", 1000, "mcg", "IV", "ok"),
        ("epinephrine", 0.5, "mg", "IM", "ok"),
        ("Adrenaline", 5, "mg", "NEB", "ok"),
        ("Adrenaline", 5, "mg", "IV", "confirm"),
        ("Adrenaline", 5000, "mg", "IV", "refuse"),
        ("Adrenaline", 1, "mL", "IV", "refuse"),
        ("Aspirin", 300, "mg", "PO", "ok"),
        ("Aspirin", 300, "mg", "IV", "confirm"),
        ("Morphine", 10, "mg", "IV", "ok"),
        ("Morphine", 100, "mg", "IV", "confirm"),
        ("Sodium chloride 0.9%", 1, "L", "IV", "ok"),
        ("Salbutamol", 4, "puffs", "INH", "ok"),
        ("Some local remedy", 5000, "mg", "PO", "ok"),
    ],
)
def test_dose_check_judges_per_drug_route_and_unit(name, dose, unit, route, verdict):
    assert dose_check(name, dose, unit, route).verdict == verdict


def test_adrenaline_5000_mg_iv_is_refused_naming_the_dose(paramedic, encounter):
    with pytest.raises(HandoffError) as refused:
        _give(paramedic, encounter, "m1", "Adrenaline", 5000, "mg", "IV", dose_confirmed=True)
    assert refused.value.field == "dose"
    assert refused.value.code == "implausible_dose"
    assert "0.001-1 mg" in refused.value.message
    assert not MedicationGiven.objects.exists()


def test_a_dose_outside_the_range_needs_confirmation_and_is_audited(paramedic, encounter):
    with pytest.raises(HandoffError) as refused:
        _give(paramedic, encounter, "m2", "Adrenaline", 5, "mg", "IV")
    assert refused.value.code == "dose_unconfirmed"
    assert refused.value.field == "dose"
    assert not MedicationGiven.objects.exists()
    stored = _give(paramedic, encounter, "m2", "Adrenaline", 5, "mg", "IV", dose_confirmed=True)
    assert stored.dose == 5
    audit = AuditEvent.objects.filter(action="medication_record").last()
    assert audit.detail["dose_confirmed_outside_range"] is True


def test_an_ordinary_dose_needs_no_confirmation(paramedic, encounter):
    stored = _give(paramedic, encounter, "m3", "Adrenaline", 1, "mg", "IV")
    assert stored.dose == 1
