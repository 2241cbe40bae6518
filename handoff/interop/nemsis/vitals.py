"""eVitals: one VitalGroup per vitals set, every element the set lacks sent as Not Recorded.

Elements and units are REFERENCE.md's (handoff.clinical.vocabulary.VITALS): a glucose in
mmol/L goes out in mg/dL (eVitals.18 is mg/dL) with the vocabulary's factor, an EtCO2 in
kPa or % in mmHg (eVitals.16 is mmHg).
"""

from __future__ import annotations

from lxml import etree

from handoff.clinical.vocabulary import VITALS, round_half_up, to_base_unit
from handoff.interop.document import VitalsEntry
from handoff.interop.fhir.codes import travelling_unit
from handoff.interop.nemsis import codes
from handoff.interop.nemsis._xml import nil, sub, when
from handoff.interop.nemsis.record import PcrInput


def _put(parent: etree._Element, element: str, value: str | None) -> None:
    if value is None:
        nil(parent, element, codes.NOT_RECORDED)
    else:
        sub(parent, element, value)


def _int(entry: VitalsEntry, key: str) -> str | None:
    value = entry.values.get(key)
    return None if value is None or isinstance(value, str) else str(int(value))


def _in_display_unit(entry: VitalsEntry, key: str, places: int) -> str | None:
    value = entry.values.get(key)
    if value is None or isinstance(value, str):
        return None
    converted = to_base_unit(VITALS[key], float(value), travelling_unit(entry, key))
    rounded = round_half_up(converted, places)
    return str(int(rounded)) if places == 0 else f"{rounded:g}"


def rhythm_code(label: str, *, arrest: bool) -> str:
    key = label.strip().lower()
    if key == "ventricular tachycardia":
        return codes.VT_PULSELESS if arrest else codes.VT_WITH_PULSE
    return codes.RHYTHM.get(key, codes.RHYTHM["other"])


def _stroke(group: etree._Element, entry: VitalsEntry) -> None:
    scale = entry.values.get("stroke_scale_type")
    score = entry.values.get("stroke_scale_score")
    stroke = sub(group, "eVitals.StrokeScaleGroup")
    if not isinstance(scale, str) or scale not in codes.STROKE_SCALE_TYPE or score is None:
        nil(stroke, "eVitals.29", codes.NOT_RECORDED)
        nil(stroke, "eVitals.30", codes.NOT_RECORDED)
        return
    positive = not isinstance(score, str) and score > 0
    sub(stroke, "eVitals.29", codes.STROKE_POSITIVE if positive else codes.STROKE_NEGATIVE)
    sub(stroke, "eVitals.30", codes.STROKE_SCALE_TYPE[scale])
    sub(stroke, "eVitals.34", str(int(score)))


def vital_group(section: etree._Element, entry: VitalsEntry, *, arrest: bool) -> None:
    values = entry.values
    group = sub(section, "eVitals.VitalGroup")
    sub(group, "eVitals.01", when(entry.taken_at, "vitals.taken_at"))
    sub(group, "eVitals.02", codes.NO)  # taken by this unit's crew
    rhythm = sub(group, "eVitals.CardiacRhythmGroup")
    label = values.get("cardiac_rhythm")
    if isinstance(label, str) and label:
        sub(rhythm, "eVitals.03", rhythm_code(label, arrest=arrest))
    else:
        nil(rhythm, "eVitals.03", codes.NOT_RECORDED)
    # The ECG type and the method of interpretation are not recorded.
    nil(rhythm, "eVitals.04", codes.NOT_RECORDED)
    nil(rhythm, "eVitals.05", codes.NOT_RECORDED)
    pressure = sub(group, "eVitals.BloodPressureGroup")
    _put(pressure, "eVitals.06", _int(entry, "systolic_bp"))
    if _int(entry, "diastolic_bp") is not None:
        sub(pressure, "eVitals.07", _int(entry, "diastolic_bp"))
    heart = sub(group, "eVitals.HeartRateGroup")
    _put(heart, "eVitals.10", _int(entry, "heart_rate"))
    _put(group, "eVitals.12", _int(entry, "spo2"))
    _put(group, "eVitals.14", _int(entry, "respiratory_rate"))
    _put(group, "eVitals.16", _in_display_unit(entry, "etco2", 1))
    _put(group, "eVitals.18", _in_display_unit(entry, "blood_glucose", 0))
    gcs = sub(group, "eVitals.GlasgowScoreGroup")
    _put(gcs, "eVitals.19", _int(entry, "gcs_eye"))
    _put(gcs, "eVitals.20", _int(entry, "gcs_verbal"))
    _put(gcs, "eVitals.21", _int(entry, "gcs_motor"))
    nil(gcs, "eVitals.22", codes.NOT_RECORDED)
    total = entry.gcs_total if entry.gcs_total is not None else values.get("gcs_total")
    if total is not None and not isinstance(total, str):
        sub(gcs, "eVitals.23", str(int(total)))
    temperature = values.get("temperature")
    if temperature is not None and not isinstance(temperature, str):
        sub(sub(group, "eVitals.TemperatureGroup"), "eVitals.24", f"{float(temperature):g}")
    avpu = values.get("avpu")
    _put(group, "eVitals.26", codes.AVPU.get(avpu) if isinstance(avpu, str) else None)
    pain = sub(group, "eVitals.PainScaleGroup")
    _put(pain, "eVitals.27", _int(entry, "pain_score"))
    _stroke(group, entry)
    nil(group, "eVitals.31", codes.NOT_RECORDED)


def e_vitals(pcr: etree._Element, data: PcrInput) -> None:
    """Every vitals set, oldest first; none taken is one group of Not Recorded values."""
    section = sub(pcr, "eVitals")
    arrest = bool(data.findings.get("cardiac_arrest"))
    if not data.document.vitals:
        group = sub(section, "eVitals.VitalGroup")
        nil(group, "eVitals.01", codes.NOT_RECORDED)
        nil(group, "eVitals.02", codes.NOT_RECORDED)
        rhythm = sub(group, "eVitals.CardiacRhythmGroup")
        for element in ("eVitals.03", "eVitals.04", "eVitals.05"):
            nil(rhythm, element, codes.NOT_RECORDED)
        nil(sub(group, "eVitals.BloodPressureGroup"), "eVitals.06", codes.NOT_RECORDED)
        nil(sub(group, "eVitals.HeartRateGroup"), "eVitals.10", codes.NOT_RECORDED)
        for element in ("eVitals.12", "eVitals.14", "eVitals.16", "eVitals.18"):
            nil(group, element, codes.NOT_RECORDED)
        gcs = sub(group, "eVitals.GlasgowScoreGroup")
        for element in ("eVitals.19", "eVitals.20", "eVitals.21", "eVitals.22"):
            nil(gcs, element, codes.NOT_RECORDED)
        nil(group, "eVitals.26", codes.NOT_RECORDED)
        nil(sub(group, "eVitals.PainScaleGroup"), "eVitals.27", codes.NOT_RECORDED)
        stroke = sub(group, "eVitals.StrokeScaleGroup")
        nil(stroke, "eVitals.29", codes.NOT_RECORDED)
        nil(stroke, "eVitals.30", codes.NOT_RECORDED)
        nil(group, "eVitals.31", codes.NOT_RECORDED)
        return
    for entry in data.document.vitals:
        vital_group(section, entry, arrest=arrest)
