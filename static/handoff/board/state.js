// The ED board's constants, the page elements it draws into, and its one state object
// (the cards by encounter, the stream position, the alerts so far).

// Sickest first, the same order as handoff.selectors.RISK_ORDER.
const RISK_ORDER = { high: 0, medium: 1, "low-medium": 2, low: 3 };
const RISK_LABEL = { high: "High", medium: "Medium", "low-medium": "Low-medium", low: "Low" };
const SEX_LABEL = { male: "M", female: "F", other: "Other", unknown: "" };
// Vitals shown on every card (the rest only when recorded). Units are NEMSIS display units;
// glucose and EtCO2 carry their own unit with the value.
const VITALS = [
  { key: "heart_rate", label: "HR", unit: "/min", always: true },
  { key: "systolic_bp", label: "BP", unit: "mmHg", always: true },
  { key: "respiratory_rate", label: "RR", unit: "/min", always: true },
  { key: "spo2", label: "SpO\u2082", unit: "%", always: true },
  { key: "temperature", label: "Temp", unit: "\u00b0C", always: true },
  { key: "gcs_total", label: "GCS", unit: "", always: true },
  { key: "blood_glucose", label: "Glucose", unit: "mg/dL", unitKey: "blood_glucose_unit" },
  { key: "etco2", label: "EtCO\u2082", unit: "mmHg", unitKey: "etco2_unit" },
];
const NEWS2_PARAMETER = {
  respiratory_rate: "resp. rate", spo2: "SpO\u2082", on_oxygen: "air/O\u2082",
  systolic_bp: "systolic BP", heart_rate: "pulse", consciousness: "consciousness",
  temperature: "temperature",
};
// A handed-over patient stays on the board this long, showing the offload time.
const HANDED_OVER_VISIBLE_MS = 15 * 60 * 1000;
const RESYNC_EVERY_MS = 20000;

// Crew status on the card, beside the ETA (the assignment's status).
const CREW_STATUS = {
  dispatched: "Dispatched", en_route: "En route", on_scene: "On scene",
  transporting: "Transporting", at_destination: "At the door", cleared: "Cleared",
  cancelled: "Cancelled",
};
// The record (names, home medications, history) is read at most this often per card:
// every read is audited, and the live ETA changes the row every few seconds.
const DETAIL_EVERY_MS = 30000;
const SILENCE_KEY = "gh.ed.alerts.silenced";

const listEl = document.getElementById("incoming-list");
const recentEl = document.getElementById("recent-list");
const recentSection = document.getElementById("recent-section");
const liveEl = document.getElementById("alert-live");
const silenceBox = document.getElementById("alert-silence");
const wallButton = document.getElementById("wall-toggle");
const emptyEl = document.getElementById("empty-state");
const countEl = document.getElementById("incoming-count");
const clockEl = document.getElementById("clock");
const statusForm = document.getElementById("ed-status-form");

const state = {
  seq: null,
  hospital: null,
  isCharge: false,
  skewMs: 0,
  // encounter_id -> {row, el, messages: Map(id -> message), messagesLoaded, detail}
  cards: new Map(),
  // Alerts fire only for what arrives after the first paint (not for the patients
  // already on the board when the screen opened).
  primed: false,
  seenActivations: new Set(),
  alerts: [],
};

export { CREW_STATUS, DETAIL_EVERY_MS, HANDED_OVER_VISIBLE_MS, NEWS2_PARAMETER, RESYNC_EVERY_MS, RISK_LABEL, RISK_ORDER, SEX_LABEL, SILENCE_KEY, VITALS, clockEl, countEl, emptyEl, listEl, liveEl, recentEl, recentSection, silenceBox, state, statusForm, wallButton };
