// The patient record's fixed vocabulary: the numeric vitals, their short labels, NEWS2 risk
// wording, BE-FAST, the stroke scales item by item (REFERENCE.md) and the record's timings.

const NUMERIC = [
  "heart_rate", "respiratory_rate", "systolic_bp", "diastolic_bp", "spo2", "temperature",
  "blood_glucose", "etco2", "pain_score",
];
const SHORT = {
  heart_rate: "HR", respiratory_rate: "RR", systolic_bp: "SBP", diastolic_bp: "DBP",
  spo2: "SpO₂", temperature: "Temp", blood_glucose: "Glucose", etco2: "EtCO₂",
  pain_score: "Pain", gcs_total: "GCS", consciousness: "AVPU", on_oxygen: "air/O₂",
  avpu: "AVPU", stroke_scale_score: "stroke scale", cardiac_rhythm: "rhythm",
  altered_mentation: "mentation",
};
const MISSING_LABEL = {
  respiratory_rate: "RR", spo2: "SpO₂", on_oxygen: "air/O₂", systolic_bp: "SBP",
  heart_rate: "HR", consciousness: "AVPU", temperature: "temp",
};
const RISK_LABEL = {
  low: "low risk", "low-medium": "low–medium risk", medium: "medium risk", high: "high risk",
};
const RISK_RESPONSE = {
  low: "ward-based response", "low-medium": "urgent review", medium: "urgent response",
  high: "emergency response",
};
const BEFAST = ["balance", "eyes", "face", "arm", "speech"];
// Stroke scales item by item (docs REFERENCE.md): [key, label, [[score, meaning], ...]].
// The total goes out as the vitals set's stroke_scale_score with stroke_scale_type.
const STROKE_ITEMS = {
  RACE: [
    ["facial_palsy", "Facial palsy", [[0, "absent"], [1, "mild"], [2, "moderate–severe"]]],
    ["arm_motor", "Arm motor", [[0, "normal–mild"], [1, "moderate"], [2, "severe"]]],
    ["leg_motor", "Leg motor", [[0, "normal–mild"], [1, "moderate"], [2, "severe"]]],
    ["gaze", "Head & gaze deviation", [[0, "absent"], [1, "present"]]],
    ["cortical", "Aphasia (right weak) / agnosia (left weak)", [[0, "both tasks"], [1, "one task"], [2, "neither"]]],
  ],
  LAMS: [
    ["facial_droop", "Facial droop", [[0, "absent"], [1, "present"]]],
    ["arm_drift", "Arm drift", [[0, "absent"], [1, "drifts down"], [2, "falls rapidly"]]],
    ["grip", "Grip strength", [[0, "normal"], [1, "weak"], [2, "no grip"]]],
  ],
};
const LVO_THRESHOLD = { RACE: 5, LAMS: 4 };
const RECORD_STATUSES = ["on_scene", "transporting", "at_destination"];
const FUTURE_SLACK_MS = 5 * 60 * 1000;
const DEST_REFRESH_MS = 30 * 1000;

export { BEFAST, DEST_REFRESH_MS, FUTURE_SLACK_MS, LVO_THRESHOLD, MISSING_LABEL, NUMERIC, RECORD_STATUSES, RISK_LABEL, RISK_RESPONSE, SHORT, STROKE_ITEMS };
