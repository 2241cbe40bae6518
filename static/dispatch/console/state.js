// The dispatcher console's page elements, its labels, and its one state object (units,
// hospitals and incidents by id, presence, the stream position, the map's pick modes).

const GH = (window.GoldenHour = window.GoldenHour || {});
const mapEl = document.getElementById("map");
const L = window.L;

const DEFAULT_CENTRE = [60.1699, 24.9384]; // used only until the first data or roads arrive
const TILE_ERRORS_BEFORE_FALLBACK = 3;
const TILE_TIMEOUT_MS = 6000; // a blackholed tile server neither loads nor errors for long
const OSM_ATTRIBUTION =
  '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';
const STATUS_LABELS = {
  available: "Available",
  dispatched: "Dispatched",
  en_route: "En route",
  on_scene: "On scene",
  transporting: "Transporting",
  at_destination: "At destination",
  out_of_service: "Out of service",
};

const unitList = document.getElementById("unit-list");
const incidentList = document.getElementById("incident-list");
const hospitalList = document.getElementById("hospital-list");

const state = {
  units: new Map(), // id -> {data, marker, li}
  hospitals: new Map(),
  incidents: new Map(),
  presence: new Map(), // unit id -> device id (online) ; absent = offline
  stacks: new Map(), // rounded position -> unit ids standing there (a station's fleet)
  roadsLayer: null,
  fitted: false,
  userMoved: false,
  seq: null, // last sequence number applied from the centre stream
  route: null,
  pick: null,
  clickHandlers: [],
  messageHandlers: new Map(),
  lastPopupClose: 0,
  unitPick: null, // unit id while the dispatcher picks its position on the map
  touched: new Map(), // "unit:<id>" / "incident:<id>" -> socket copies applied (see answerIsNewest)
  resyncing: null, // {reason: "gap" | "timer" | "probe", at} until its answer comes
};

export { DEFAULT_CENTRE, GH, L, OSM_ATTRIBUTION, STATUS_LABELS, TILE_ERRORS_BEFORE_FALLBACK, TILE_TIMEOUT_MS, hospitalList, incidentList, mapEl, state, unitList };
