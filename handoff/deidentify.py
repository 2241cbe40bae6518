"""De-identification of encounters for research exports (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).

A pure transformation: plain mappings in, plain records out, no database. It works by
allowlist: a source field reaches the output only when this module names it and says how it
is transformed, so a column added to a model later stays out of exports until someone
decides it is safe.

Decisions (docs/security.md, "Research export"):

- Dates: every element but the year is removed. Each encounter keeps one `year` (of the
  PSAP call) and its times become seconds since that call, so intervals (response, on
  scene, transport, offload, onset to call, vitals taken) survive exactly while no calendar
  date or clock time does. Nothing is shifted, so there is no offset to store or leak.
- Age: from the birth date at the call (else the crew's estimate); 90 and over becomes
  "90+". The birth date itself, and its year, are never exported.
- Geography: all of it is dropped (incident and road points, addresses, streets, station,
  dispatch centre, hospital name and address); our data has no state field to coarsen to.
  The destination is kept only as capability categories ("stroke", "trauma", ...).
- Identifiers: names, caller name and phone, MRN, temporary identifier, UUIDs, database
  ids, unit call signs, device ids, client ids and user links are dropped. Patients and
  incidents get a random pseudonym per export (`Pseudonyms`), held in memory only, so two
  exports of the same data cannot be joined on it.
- Free text is dropped (chief complaint, working impression, ATMIST text, notes, access
  notes, messages, allergy, medication and history text, intervention text, activation
  reasons, the cardiac rhythm, which the vocabulary does not restrict to codes). Coded values
  stay: sex, determinant, response mode, NEWS2 and other scores, vitals numbers, AVPU,
  ICD-10 working impression code, intervention codes, activation kinds, boolean findings.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

AGE_CAP = 90
AGE_CAP_LABEL = "90+"

ENCOUNTER = "encounter"
VITALS = "vitals"

# (output name, source table, source field) of the times exported as seconds since the call.
ENCOUNTER_TIMES: tuple[tuple[str, str, str], ...] = (
    ("t_unit_notified_s", "assignment", "notified_at"),
    ("t_unit_acknowledged_s", "assignment", "acknowledged_at"),
    ("t_en_route_s", "assignment", "en_route_at"),
    ("t_on_scene_s", "assignment", "on_scene_at"),
    ("t_left_scene_s", "assignment", "left_scene_at"),
    ("t_at_destination_s", "assignment", "at_destination_at"),
    ("t_cleared_s", "assignment", "cleared_at"),
    ("t_encounter_opened_s", "encounter", "created_at"),
    ("t_onset_s", "encounter", "time_of_onset"),
    ("t_last_known_well_s", "encounter", "last_known_well"),
    ("t_destination_set_s", "encounter", "destination_set_at"),
    ("t_ed_acknowledged_s", "encounter", "ed_acknowledged_at"),
    ("t_arrived_s", "encounter", "arrived_at"),
    ("t_transfer_of_care_s", "encounter", "transfer_of_care_at"),
    ("t_closed_s", "encounter", "closed_at"),
)

# Coded vitals values (numbers, booleans, fixed codes) that are copied as they are.
VITALS_VALUES: tuple[str, ...] = (
    "heart_rate",
    "respiratory_rate",
    "systolic_bp",
    "diastolic_bp",
    "spo2",
    "spo2_scale",
    "on_oxygen",
    "temperature",
    "gcs_eye",
    "gcs_verbal",
    "gcs_motor",
    "gcs_total",
    "blood_glucose",
    "blood_glucose_unit",
    "pain_score",
    "etco2",
    "etco2_unit",
    "avpu",
    "new_confusion",
    "stroke_scale_score",
    "stroke_scale_type",
    "ecg_stemi",
    "news2_total",
    "news2_risk",
    "shock_index",
    "qsofa_score",
)

ENCOUNTER_COLUMNS: tuple[str, ...] = (
    "record",
    "patient",
    "incident",
    "year",
    "age",
    "sex",
    "determinant",
    "response_mode",
    "unit_type",
    "encounter_status",
    "working_impression_code",
    "anticoagulated",
    "findings",
    "intervention_codes",
    "medications_given_count",
    "activation_kinds",
    "destination_reason",
    "destination_ed_status",
    "destination_capabilities",
    "offload_s",
    "vitals_count",
    "max_news2",
    *(name for name, _, _ in ENCOUNTER_TIMES),
)
VITALS_COLUMNS: tuple[str, ...] = ("record", "patient", "set", "t_taken_s", *VITALS_VALUES)
# One CSV holds both record kinds; `record` tells which columns apply.
CSV_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((*ENCOUNTER_COLUMNS, *VITALS_COLUMNS)))

# Codes and units are short tokens; anything else in a coded field is treated as free text.
_CODE = re.compile(r"^[A-Za-z0-9._/%-]{1,32}$")
# Finding names come from the services' fixed vocabulary; this only keeps them tokens.
_TOKEN = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass
class Pseudonyms:
    """Random pseudonyms for one export, in memory only.

    Safe Harbor allows a re-identification code only if it is not derived from the
    identifier; a random token per (kind, key) per export is not, and it dies with the
    export, so two exports cannot be linked through it.
    """

    _given: dict[tuple[str, Any], str] = field(default_factory=dict)

    def of(self, kind: str, key: Any) -> str:
        """The pseudonym of `key` (e.g. an encounter's pk) among objects of `kind`."""
        token = self._given.get((kind, key))
        if token is None:
            while True:
                token = f"{kind[0].upper()}-{secrets.token_hex(6)}"
                if token not in self._given.values():
                    break
            self._given[(kind, key)] = token
        return token


def age_band(age: int | None) -> int | str | None:
    """The age as exported: the number up to 89, "90+" from 90 (Safe Harbor (2)(i)(C))."""
    if age is None:
        return None
    return AGE_CAP_LABEL if age >= AGE_CAP else age


def age_at(birth_date: date | None, estimated: int | None, when: datetime | None) -> int | None:
    """Age in whole years on the day of `when`, from the birth date, else the estimate."""
    if birth_date is None or when is None:
        return estimated
    day = when.date()
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _seconds(since: datetime | None, moment: Any) -> int | None:
    if since is None or not isinstance(moment, datetime):
        return None
    return round((moment - since).total_seconds())


def _code(value: Any) -> str | None:
    return value if isinstance(value, str) and _CODE.match(value) else None


def _capability_categories(capabilities: Iterable[str]) -> list[str]:
    # "stroke_thrombectomy" and "trauma_1" become "stroke" and "trauma": the exact level
    # set narrows the destination to one hospital of a region.
    return sorted(
        {c.split("_", 1)[0] for c in capabilities if isinstance(c, str) and _TOKEN.match(c)}
    )


def _findings(findings: Any) -> list[str]:
    if not isinstance(findings, Mapping):
        return []
    present = []
    for key, value in findings.items():
        if key == "befast" and isinstance(value, Mapping):
            present += [f"befast_{item}" for item, flag in value.items() if flag is True]
        elif value is True:
            present.append(str(key))
    return sorted(name for name in present if _TOKEN.match(name))


def deidentify_encounter(
    source: Mapping[str, Any], pseudonyms: Pseudonyms
) -> Iterator[dict[str, Any]]:
    """One encounter record, then one record per vitals set, all de-identified.

    `source` holds mappings `encounter`, `incident`, `assignment`, `unit`, `destination`
    (or None) and lists `vitals`, `activations`, `interventions`, `medications_given`; any
    other key (calls, messages, ...) is ignored.
    """
    encounter = source["encounter"]
    incident = source.get("incident") or {}
    assignment = source.get("assignment") or {}
    unit = source.get("unit") or {}
    destination = source.get("destination") or {}
    call_at: datetime | None = incident.get("call_received_at") or encounter.get("created_at")
    tables = {"encounter": encounter, "assignment": assignment}
    vitals = sorted(
        source.get("vitals") or [], key=lambda v: (v.get("taken_at") is None, v.get("taken_at"))
    )
    patient = pseudonyms.of("patient", encounter["pk"])
    news2 = [v["news2_total"] for v in vitals if isinstance(v.get("news2_total"), int)]
    record: dict[str, Any] = {
        "record": ENCOUNTER,
        "patient": patient,
        "incident": pseudonyms.of("incident", incident.get("pk", ("encounter", encounter["pk"]))),
        "year": call_at.year if call_at else None,
        "age": age_band(
            age_at(encounter.get("birth_date"), encounter.get("estimated_age_years"), call_at)
        ),
        "sex": _code(encounter.get("sex")),
        "determinant": _code(incident.get("determinant")),
        "response_mode": _code(incident.get("response_mode")),
        "unit_type": _code(unit.get("unit_type")),
        "encounter_status": _code(encounter.get("status")),
        "working_impression_code": _code(encounter.get("working_impression_code")),
        "anticoagulated": any(
            isinstance(m, Mapping) and m.get("anticoagulant") is True
            for m in encounter.get("medications") or []
        ),
        "findings": _findings(encounter.get("findings")),
        "intervention_codes": sorted(
            {c for i in source.get("interventions") or [] if (c := _code(i.get("code")))}
        ),
        "medications_given_count": len(source.get("medications_given") or []),
        "activation_kinds": sorted(
            {k for a in source.get("activations") or [] if (k := _code(a.get("kind")))}
        ),
        "destination_reason": _code(encounter.get("destination_reason")),
        "destination_ed_status": _code(encounter.get("destination_ed_status")),
        "destination_capabilities": _capability_categories(destination.get("capabilities") or []),
        "offload_s": encounter.get("offload_seconds"),
        "vitals_count": len(vitals),
        "max_news2": max(news2) if news2 else None,
    }
    for name, table, column in ENCOUNTER_TIMES:
        record[name] = _seconds(call_at, tables[table].get(column))
    yield record
    for number, values in enumerate(vitals, start=1):
        row: dict[str, Any] = {
            "record": VITALS,
            "patient": patient,
            "set": number,
            "t_taken_s": _seconds(call_at, values.get("taken_at")),
        }
        for name in VITALS_VALUES:
            value = values.get(name)
            row[name] = value if not isinstance(value, str) else _code(value)
        yield row


def deidentify(
    sources: Iterable[Mapping[str, Any]], *, pseudonyms: Pseudonyms | None = None
) -> Iterator[dict[str, Any]]:
    """De-identified records of many encounters; one `Pseudonyms` spans the whole export."""
    pseudonyms = pseudonyms or Pseudonyms()
    for source in sources:
        yield from deidentify_encounter(source, pseudonyms)
