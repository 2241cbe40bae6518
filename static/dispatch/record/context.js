// The record's context, set once by initContext(tablet): the tablet it builds on (its outbox
// and unit), the server's vocabulary from the page, the elements, and this unit's stored record
// (db); plus the record's small helpers (times typed on scene, numbers, lists).
import { FUTURE_SLACK_MS } from "./vocabulary.js";
import { load } from "./store.js";
import { el as make } from "../../js/dom.js";

let tablet = null;
let root = null;
let cfg = null;
let SPEC = null;
let STROKE = null;
let KEY = null;
let outbox = null;
let el = null;
let inputs = null;
let fieldInputs = null;
let db = null;
let HANDOVER_AFTER_CLEAR_MS = null;
const $ = function (id) { return document.getElementById(id); };

// Reads the page's record and its vocabulary, the elements, and this unit's stored record;
// false when the page has no record (nothing else then starts).
function initContext(theTablet) {
  tablet = theTablet;
  root = document.getElementById("record");
  const initialNode = document.getElementById("record-initial");
  if (!root || !initialNode) return false;
  cfg = JSON.parse(initialNode.textContent || "{}");
  SPEC = cfg.vitals || {};
  STROKE = cfg.stroke_scales || { RACE: [0, 9], LAMS: [0, 5] };
  KEY = "gh.record." + tablet.unitId;
  outbox = tablet.outbox;
  el = {
    tabs: $("patient-tabs"), add: $("add-patient"), empty: $("record-empty"), body: $("record-body"),
    vitalsForm: $("vitals-form"), patientForm: $("patient-form"), keypadTarget: $("keypad-target"),
    gcsTotal: $("gcs-total"), rhythm: $("rhythm"), stemi: $("stemi"), confusion: $("new-confusion"),
    scaleScores: $("scale-scores"), scaleHint: $("scale-hint"), takenAt: $("taken-at"),
    vitalsProblem: $("vitals-problem"), history: $("vitals-history"), patientState: $("patient-state"),
    meds: $("meds"), medName: $("med-name"), medAnticoag: $("med-anticoag"),
    destList: $("dest-list"), destNote: $("dest-note"), destReason: $("dest-reason"),
    destSend: $("dest-send"), destCurrent: $("dest-current"), destWarning: $("dest-warning"), thread: $("thread"),
    compose: $("compose"), messageText: $("message-text"), unread: $("ed-unread"),
    ack: $("ed-ack-state"), ackBox: $("ed-ack-box"), scores: $("scores"), atmist: $("atmist"),
    scaleItems: $("scale-items"), scaleTotal: $("scale-total"), scaleFallback: $("scale-fallback"),
    txTime: $("tx-time"), txText: $("tx-text"), txList: $("tx-list"), txProblem: $("tx-problem"),
    mgForm: $("med-given"), mgName: $("mg-name"), mgDose: $("mg-dose"), mgUnit: $("mg-unit"),
    mgRoute: $("mg-route"), delivery: $("delivery-failed"),
  };
  inputs = {};
  for (const input of root.querySelectorAll("[data-vital-input]")) inputs[input.dataset.vitalInput] = input;
  fieldInputs = {
    family_name: $("p-family"), given_name: $("p-given"), chief_complaint: $("p-complaint"),
    working_impression: $("p-impression"), age_text: $("p-age-text"), mechanism: $("p-mechanism"),
    injuries: $("p-injuries"),
  };
  HANDOVER_AFTER_CLEAR_MS = (Number(cfg.handover_minutes_after_clear) || 60) * 60000;
  db = load();
  return true;
}

// ---- helpers ------------------------------------------------------------------------------
function clone(value) { return JSON.parse(JSON.stringify(value)); }
// A time of day typed on scene is today's, unless that is in the future: then yesterday's.
function fromHhmm(value) {
  const match = /^\s*(\d{1,2})[:.]?(\d{2})\s*$/.exec(value || "");
  if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) return null;
  const d = new Date();
  d.setHours(Number(match[1]), Number(match[2]), 0, 0);
  if (d.getTime() - Date.now() > FUTURE_SLACK_MS) d.setDate(d.getDate() - 1);
  return d.toISOString();
}
function minutesAgo(n) {
  const d = new Date(Date.now() - n * 60000);
  d.setSeconds(0, 0);
  return d.toISOString();
}
function fmt(number) {
  if (number === null || number === undefined || number === "") return "";
  const n = Number(number);
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 10) / 10);
}
function splitList(text) {
  return (text || "").split(/[,;\n]/).map(function (s) { return s.trim(); }).filter(Boolean);
}
function activeAssignment() {
  const a = tablet.assignment();
  return a && a.id ? a : null;
}

export { $, HANDOVER_AFTER_CLEAR_MS, KEY, SPEC, STROKE, activeAssignment, cfg, clone, db, el, fieldInputs, fmt, fromHhmm, initContext, inputs, make, minutesAgo, outbox, root, splitList, tablet };
