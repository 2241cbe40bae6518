"""Observations: each vitals set as vital-sign Observations under a panel (BP and GCS as
components), GCS as a survey, the NEWS2 total, and an estimated age."""

from __future__ import annotations

from typing import Any, Final

from handoff.clinical.vocabulary import (
    VITALS,
    Kind,
)
from handoff.interop.document import (
    EncounterDocument,
    VitalsEntry,
)
from handoff.interop.fhir._builder import (
    Resource,
    _Builder,
    _category,
    _coding,
    _concept,
    _number,
    _quantity,
    _time,
)
from handoff.interop.fhir.codes import (
    AGE_LOINC,
    AVPU_DISPLAY,
    BP_PANEL,
    DATA_ABSENT_CODES,
    FHIR_UNIT,
    LOINC,
    NEWS2_PARAMETER_CODES,
    NEWS2_SNOMED,
    SNOMED,
    SPO2_PULSE_OXIMETRY,
    STROKE_SCREEN_NEGATIVE,
    STROKE_SCREEN_POSITIVE,
    SURVEY_VITALS,
    VITAL_SIGNS_PROFILE,
    VITAL_SIGNS_PROFILES,
    VITALS_PANEL,
    travelling_unit,
)

# The order vitals appear in a set; BP and GCS keys fold into one Observation each.
_BP_KEYS: Final = ("systolic_bp", "diastolic_bp")


_GCS_COMPONENTS: Final = ("gcs_eye", "gcs_verbal", "gcs_motor")


class _Vitals:
    """The Observations of one vitals set."""

    def __init__(self, builder: _Builder, entry: VitalsEntry, patient: dict[str, str]) -> None:
        self.b = builder
        self.entry = entry
        self.effective = _time(entry.taken_at, "taken_at")
        self.base: Resource = {
            "status": "final",
            "category": _category("vital-signs", "Vital Signs"),
            "subject": patient,
            "encounter": builder.ref("Encounter"),
            "effectiveDateTime": self.effective,
        }
        self.members: list[dict[str, str]] = []

    def _add(self, key: str, body: Resource) -> None:
        resource: Resource = {"resourceType": "Observation"} | self.base | body
        if key in SURVEY_VITALS:
            resource["category"] = _category("survey", "Survey")
        else:
            resource = _claim_vital_signs(resource)
        self.members.append(self.b.add("Observation", f"{self.entry.id}/{key}", resource))

    def _loinc(self, key: str) -> dict[str, Any]:
        spec = VITALS[key]
        return _concept(spec.label, _coding(LOINC, spec.loinc))

    def build(self) -> list[dict[str, str]]:
        values = self.entry.values
        if any(key in values for key in _BP_KEYS):
            self._blood_pressure()
        for key, spec in VITALS.items():
            if key in _BP_KEYS or key.startswith("gcs_") or key not in values:
                continue
            if key == "spo2":
                self._spo2()
            elif spec.kind is Kind.CODE:
                self._coded(key)
            elif key == "stroke_scale_score":
                self._stroke_scale()
            elif spec.units:
                self._travelling(key)
            else:
                value = _number(values[key], key)
                self._add(
                    key, {"code": self._loinc(key), "valueQuantity": _quantity(value, spec.ucum)}
                )
        if self.entry.gcs_total is not None or any(
            key in values for key in (*_GCS_COMPONENTS, "gcs_total")
        ):
            self._gcs()
        return self.members

    def _travelling(self, key: str) -> None:
        unit = travelling_unit(self.entry, key)
        measured = _number(self.entry.values[key], key)
        ucum, factor = FHIR_UNIT[key][unit]
        body: Resource = {"code": self._loinc(key)}
        if factor == 1.0:
            body["valueQuantity"] = _quantity(measured, ucum, unit)
        else:
            converted = round(measured * factor, 1)
            shown = "mmHg" if ucum == "mm[Hg]" else ucum
            body["valueQuantity"] = _quantity(converted, ucum, shown)
            body["note"] = [{"text": f"measured {measured} {unit}; converted to {shown}"}]
        self._add(key, body)

    def _blood_pressure(self) -> None:
        # The R4 bp profile requires both components: one not measured is sent with a
        # dataAbsentReason (vs-3) rather than left out.
        components = [
            {
                "code": self._loinc(key),
                "valueQuantity": _quantity(_number(self.entry.values[key], key), "mm[Hg]", "mmHg"),
            }
            if key in self.entry.values
            else {
                "code": self._loinc(key),
                "dataAbsentReason": _concept(
                    "not recorded", _coding(DATA_ABSENT_CODES, "not-performed")
                ),
            }
            for key in _BP_KEYS
        ]
        code = _concept("Blood pressure", _coding(LOINC, BP_PANEL))
        self._add("blood_pressure", {"code": code, "component": components})

    def _spo2(self) -> None:
        spec = VITALS["spo2"]
        code = _concept(spec.label, _coding(LOINC, spec.loinc), _coding(LOINC, SPO2_PULSE_OXIMETRY))
        body: Resource = {
            "code": code,
            "valueQuantity": _quantity(_number(self.entry.values["spo2"], "spo2"), spec.ucum),
        }
        # SpO2 means little without knowing whether the patient was on oxygen (NEWS2 scores
        # it separately), so the modifier travels with the reading when it was recorded.
        on_oxygen = self.entry.values.get("on_oxygen")
        if on_oxygen is not None:
            body["note"] = [{"text": "on supplemental oxygen" if on_oxygen else "on room air"}]
        self._add("spo2", body)

    def _coded(self, key: str) -> None:
        raw = self.entry.values[key]
        if not isinstance(raw, str):
            raise ValueError(f"vital {key} must be a code")
        if key == "avpu":
            code = raw.strip().upper()
            value = _concept(AVPU_DISPLAY.get(code, code), _coding(self.b.systems.avpu, code))
        else:
            value = {"text": raw}
        self._add(key, {"code": self._loinc(key), "valueCodeableConcept": value})

    def _stroke_scale(self) -> None:
        """67520-7 is the stroke scale's overall interpretation, a nominal answer: positive
        when any item is abnormal (score >= 1, the deficit the stroke activation reads,
        handoff/clinical/activation.py), else negative. The numeric score travels as a
        component ({score}) named after its scale, and the scale is `method`."""
        spec = VITALS["stroke_scale_score"]
        score = _number(self.entry.values["stroke_scale_score"], "stroke_scale_score")
        scale = self.entry.values.get(
            "stroke_scale_type", self.entry.units.get("stroke_scale_score")
        )
        named = scale if isinstance(scale, str) else None
        code, display = STROKE_SCREEN_POSITIVE if score >= 1 else STROKE_SCREEN_NEGATIVE
        body: Resource = {
            "code": self._loinc("stroke_scale_score"),
            "valueCodeableConcept": _concept(display, _coding(LOINC, code, display)),
            "component": [
                {
                    # A score means nothing without its scale (RACE 5 vs LAMS 5).
                    "code": {"text": f"{named or 'stroke scale'} total score"},
                    "valueQuantity": _quantity(score, spec.ucum),
                }
            ],
        }
        if named:
            # How it was measured: the scale.
            body["method"] = {"text": named}
        self._add("stroke_scale_score", body)

    def _gcs(self) -> None:
        values = self.entry.values
        total = self.entry.gcs_total
        if total is None and "gcs_total" in values:
            total = int(_number(values["gcs_total"], "gcs_total"))
        body: Resource = {
            "code": self._loinc("gcs_total"),
            "component": [
                {
                    "code": self._loinc(key),
                    "valueQuantity": _quantity(_number(values[key], key), "{score}"),
                }
                for key in _GCS_COMPONENTS
                if key in values
            ],
        }
        if not body["component"]:
            del body["component"]
        if total is None:
            body["dataAbsentReason"] = {
                "coding": [_coding(DATA_ABSENT_CODES, "unknown")],
                "text": "GCS not complete",
            }
        else:
            body["valueQuantity"] = _quantity(total, "{score}")
        self._add("gcs", body)


def _vitals_set(b: _Builder, entry: VitalsEntry, patient: dict[str, str]) -> list[dict[str, str]]:
    vitals = _Vitals(b, entry, patient)
    members = vitals.build()
    refs: list[dict[str, str]] = []
    # The R4 vital-signs panel's members must be vital-sign Observations (GCS is a survey).
    signs = [ref for ref in members if _is_vital_sign(b.by_url[ref["reference"]])]
    if signs:
        panel = _claim_vital_signs(
            {"resourceType": "Observation"}
            | vitals.base
            | {
                "code": _concept("Vital signs panel", _coding(LOINC, VITALS_PANEL)),
                "hasMember": signs,
            }
        )
        refs.append(b.add("Observation", f"{entry.id}/panel", panel))
    refs.extend(members)
    if entry.news2_total is not None:
        refs.append(_news2(b, entry, entry.news2_total, patient, vitals.effective, members))
    return refs


def _claim_vital_signs(resource: Resource) -> Resource:
    """The resource with meta.profile naming the R4 vital-signs profile and, where R4 has
    one for its code, the specific profile (bp, heartrate, ...); the tests hold each one to
    the profile's fixed codes, units and cardinalities."""
    profiles = [VITAL_SIGNS_PROFILE]
    for coding in resource["code"].get("coding", []):
        specific = VITAL_SIGNS_PROFILES.get(coding["code"]) if coding["system"] == LOINC else None
        if specific is not None and specific not in profiles:
            profiles.append(specific)
    return {"resourceType": resource["resourceType"], "meta": {"profile": profiles}} | resource


def _is_vital_sign(resource: Resource) -> bool:
    return any(
        coding.get("code") == "vital-signs"
        for category in resource.get("category", [])
        for coding in category.get("coding", [])
    )


def _news2(
    b: _Builder,
    entry: VitalsEntry,
    total: int,
    patient: dict[str, str],
    effective: str,
    members: list[dict[str, str]],
) -> dict[str, str]:
    news2: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": _category("survey", "Survey"),
        "code": _concept("NEWS2 total score", _coding(SNOMED, NEWS2_SNOMED)),
        "subject": patient,
        "encounter": b.ref("Encounter"),
        "effectiveDateTime": effective,
        "valueQuantity": _quantity(total, "{score}"),
    }
    if members:
        news2["derivedFrom"] = members
    if not entry.news2_complete:
        # A total from incomplete vitals is a lower bound (a missing parameter can only add
        # points): said in data by the comparator, and each missing parameter is a
        # component with a dataAbsentReason, so a receiver need not parse the note.
        news2["valueQuantity"] = {"comparator": ">="} | news2["valueQuantity"]
        missing = [key for key in entry.news2_missing if key in NEWS2_PARAMETER_CODES]
        news2["component"] = [_news2_gap(entry, key) for key in missing]
        if not news2["component"]:
            del news2["component"]
        text = "Computed from incomplete vitals: the total is a lower bound."
        if missing:
            text += f" Missing: {', '.join(NEWS2_PARAMETER_CODES[key][0] for key in missing)}."
        news2["note"] = [{"text": text}]
    return b.add("Observation", f"{entry.id}/news2", news2)


def _news2_gap(entry: VitalsEntry, key: str) -> Resource:
    label, loinc = NEWS2_PARAMETER_CODES[key]
    code = _concept(label, _coding(LOINC, loinc)) if loinc else {"text": label}
    if key in entry.values or (key == "consciousness" and "avpu" in entry.values):
        # Recorded but not scorable (SpO2 >= 93 on scale 2 without the oxygen modifier).
        reason = _concept("recorded but could not be scored", _coding(DATA_ABSENT_CODES, "unknown"))
    else:
        reason = _concept("not recorded", _coding(DATA_ABSENT_CODES, "not-performed"))
    return {"code": code, "dataAbsentReason": reason}


def _estimated_age(
    b: _Builder, doc: EncounterDocument, patient: dict[str, str]
) -> list[dict[str, str]]:
    age = doc.patient.estimated_age_years
    if age is None or doc.patient.birth_date is not None:
        return []
    observation: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": _concept("Age", _coding(LOINC, AGE_LOINC)),
        "subject": patient,
        "encounter": b.ref("Encounter"),
        "effectiveDateTime": _time(doc.created_at, "created_at"),
        "valueQuantity": _quantity(age, "a", "years"),
        "method": {"text": "estimated by EMS crew"},
    }
    return [b.add("Observation", "estimated-age", observation)]
