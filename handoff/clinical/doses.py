"""Plausible single doses of the medications a crew gives, per drug and route: a sanity check.

"Adrenaline 5000 mg IV" is a unit slip (mg for mcg) or a typo, and once it is in the record
the ED reads it as given. A dose outside the range needs the crew's explicit confirmation
(`dose_confirmed`); one more than ten times beyond it is refused, as vitals outside their
plausible range are (REFERENCE.md). A drug not in the table is not checked (free text).

The ranges span the smallest paediatric (weight-based) dose to the largest adult single dose
of pre-hospital practice, deliberately wider than what a clinician would prescribe: they are
not dosing guidance. Sources: JRCALC Clinical Guidelines 2022 (UK ambulance services' drug
pages), BNF / BNF for Children, Resuscitation Council UK 2021 (adult and paediatric advanced
life support). REFERENCE.md has no dose table; the medical director should review these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Units within one dimension, to the table's base unit (mg, mL, L/min, puffs).
MASS: Final = {"mcg": 0.001, "mg": 1.0, "g": 1000.0}
VOLUME: Final = {"mL": 1.0, "L": 1000.0}
FLOW: Final = {"L/min": 1.0}
PUFFS: Final = {"puffs": 1.0}
BASE_UNIT: Final = {id(MASS): "mg", id(VOLUME): "mL", id(FLOW): "L/min", id(PUFFS): "puffs"}


@dataclass(frozen=True)
class DoseRange:
    routes: tuple[str, ...]
    minimum: float
    maximum: float
    units: dict[str, float]

    @property
    def base_unit(self) -> str:
        return BASE_UNIT[id(self.units)]


IV_IO = ("IV", "IO")
DOSES: Final[dict[str, tuple[DoseRange, ...]]] = {
    # Cardiac arrest 1 mg IV/IO; push-dose and neonatal doses from 1 mcg. Anaphylaxis IM
    # 0.5 mg adult (0.1 mg infant). Croup: 5 mg (5 mL of 1:1000) nebulised.
    "adrenaline": (
        DoseRange(IV_IO, 0.001, 1.0, MASS),
        DoseRange(("IM",), 0.01, 0.5, MASS),
        DoseRange(("NEB",), 0.5, 5.0, MASS),
    ),
    "amiodarone": (DoseRange(IV_IO, 1.0, 300.0, MASS),),
    "aspirin": (DoseRange(("PO",), 75.0, 900.0, MASS),),
    "atropine": (DoseRange((*IV_IO, "IM"), 0.01, 3.0, MASS),),
    "fentanyl": (
        DoseRange(IV_IO, 0.001, 0.3, MASS),
        DoseRange(("IN",), 0.005, 0.2, MASS),
    ),
    "glucagon": (
        DoseRange(("IM", "SC"), 0.1, 1.0, MASS),
        DoseRange(IV_IO, 0.1, 10.0, MASS),
    ),
    # Glucose 10%: 2 mL/kg child to 500 mL adult, or the same as grams of glucose.
    "glucose 10%": (
        DoseRange(IV_IO, 2.0, 500.0, VOLUME),
        DoseRange(IV_IO, 200.0, 50_000.0, MASS),
    ),
    "glyceryl trinitrate": (
        DoseRange(("SL",), 0.3, 0.8, MASS),
        DoseRange(("SL",), 1.0, 2.0, PUFFS),
    ),
    "ipratropium": (DoseRange(("NEB",), 0.1, 0.5, MASS),),
    "midazolam": (DoseRange((*IV_IO, "IM", "IN"), 0.5, 10.0, MASS),),
    "morphine": (DoseRange((*IV_IO, "IM", "SC"), 0.1, 20.0, MASS),),
    "naloxone": (
        DoseRange((*IV_IO, "IM", "SC"), 0.01, 2.0, MASS),
        DoseRange(("IN",), 0.4, 8.0, MASS),
    ),
    "ondansetron": (DoseRange((*IV_IO, "IM", "PO"), 0.1, 8.0, MASS),),
    "paracetamol": (DoseRange((*IV_IO, "PO", "PR"), 7.5, 1000.0, MASS),),
    "salbutamol": (
        DoseRange(("NEB",), 1.25, 5.0, MASS),
        DoseRange(("INH",), 0.1, 1.0, MASS),
        DoseRange(("INH",), 1.0, 10.0, PUFFS),
        DoseRange(IV_IO, 0.005, 0.25, MASS),
    ),
    "sodium chloride 0.9%": (DoseRange(IV_IO, 5.0, 2000.0, VOLUME),),
    "tranexamic acid": (DoseRange(IV_IO, 15.0, 2000.0, MASS),),
    "oxygen": (DoseRange(("INH",), 0.5, 15.0, FLOW),),
}
ALIASES: Final = {
    "epinephrine": "adrenaline",
    "gtn": "glyceryl trinitrate",
    "nitroglycerin": "glyceryl trinitrate",
    "acetaminophen": "paracetamol",
    "albuterol": "salbutamol",
    "txa": "tranexamic acid",
    "normal saline": "sodium chloride 0.9%",
    "dextrose 10%": "glucose 10%",
}
# Beyond this many times past the range it is not a dose but a slip: refused outright.
REFUSE_FACTOR: Final = 10.0


@dataclass(frozen=True)
class DoseCheck:
    """`verdict`: "ok", "confirm" (outside the range: needs dose_confirmed) or "refuse"."""

    verdict: str
    message: str = ""


def _fmt(value: float) -> str:
    return f"{value:g}"


def dose_check(name: str, dose: float, unit: str, route: str) -> DoseCheck:
    """Judge one dose against the table; a drug not in it is "ok" (not checked)."""
    drug = name.strip().lower()
    drug = ALIASES.get(drug, drug)
    ranges = DOSES.get(drug)
    if ranges is None:
        return DoseCheck("ok")
    same_unit = [r for r in ranges if unit in r.units]
    if not same_unit:
        units = sorted({u for r in ranges for u in r.units})
        return DoseCheck(
            "refuse", f"{name} is not given in {unit or 'no unit'}: use {', '.join(units)}."
        )
    on_route = [r for r in same_unit if not route or route in r.routes]
    if not on_route:
        routes = sorted({x for r in same_unit for x in r.routes})
        return DoseCheck(
            "confirm", f"{name} {route} is not a usual route (usual: {', '.join(routes)})."
        )
    lowest = min(r.minimum for r in on_route)
    highest = max(r.maximum for r in on_route)
    factor = on_route[0].units[unit]
    base = dose * factor
    if lowest <= base <= highest:
        return DoseCheck("ok")
    shown = f"{_fmt(lowest / factor)}-{_fmt(highest / factor)} {unit}"
    given = f"{name} {_fmt(dose)} {unit}{' ' + route if route else ''}"
    if base > highest * REFUSE_FACTOR or base < lowest / REFUSE_FACTOR:
        return DoseCheck("refuse", f"{given} is not a plausible dose (range {shown}).")
    return DoseCheck("confirm", f"{given} is outside the plausible range {shown}: confirm it.")
