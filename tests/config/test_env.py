import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import Env, EnvError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "value", "reader", "fragment"),
    [
        ("DEBUG", "maybe", lambda e: e.boolean("DEBUG", False), "DEBUG"),
        ("CHANNEL_CAPACITY", "lots", lambda e: e.integer("CHANNEL_CAPACITY", 100), "integer"),
        (
            "CHANNEL_CAPACITY",
            "3",
            lambda e: e.integer("CHANNEL_CAPACITY", 100, minimum=10),
            "at least 10",
        ),
        (
            "REDIS_URL",
            "localhost:6379",
            lambda e: e.url("REDIS_URL", schemes=("redis",)),
            "redis://",
        ),
        (
            "REDIS_URL",
            "redis://:99999999",
            lambda e: e.url("REDIS_URL", schemes=("redis",)),
            "host",
        ),
        ("REDIS_URL", "redis://h:port", lambda e: e.url("REDIS_URL", schemes=("redis",)), "port"),
        ("ALLOWED_HOSTS", "a,,b", lambda e: e.items("ALLOWED_HOSTS", []), "empty"),
    ],
)
def test_malformed_variable_is_named_in_the_error(name, value, reader, fragment):
    with pytest.raises(EnvError) as excinfo:
        reader(Env({name: value}))
    assert name in str(excinfo.value)
    assert fragment in str(excinfo.value)


def test_readers_return_defaults_and_parse_values():
    env = Env({"A": "yes", "B": "42", "C": "x, y"})
    assert env.boolean("A", False) is True
    assert env.boolean("MISSING", True) is True
    assert env.integer("B", 0) == 42
    assert env.items("C", []) == ["x", "y"]
    assert env.url("MISSING", schemes=("redis",)) is None


def _start(extra_env):
    environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environ.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@127.0.0.1/test"),
        ("DATABASE_URL", "not a url"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("LOG_LEVEL", "LOUD"),
        ("ROUTING_URGENT_FACTORS", "primary=fast"),
        ("GOLDEN_HOUR_ENV", "staging"),
        ("EVENT_REPLAY_LIMIT", "0"),
        ("AUDIT_CHAIN_KEY", "too-short"),
        ("FHIR_IDENTIFIER_BASE", "urn:golden-hour"),
        ("FHIR_IDENTIFIER_BASE", "http://ems.example.fi/sid"),
        ("FHIR_MRN_SYSTEMS", "STMARY"),
        ("FHIR_MRN_SYSTEMS", "STMARY=urn:private:mrn"),
        ("HANDOFF_FHIR_AUTH", "not json"),
        ("HANDOFF_FHIR_AUTH", '{"https://fhir.hospital.example": {"type": "oauth"}}'),
        ("HANDOFF_FHIR_AUTH_FILE", "/nonexistent/fhir-auth.json"),
        ("HL7_INBOUND_MLLP_SENDERS", "{hospital-1: 10.0.0.5}"),
        ("HL7_INBOUND_MLLP_SENDERS", '["10.0.0.5"]'),
        ("HL7_INBOUND_MLLP_SENDERS", '{"hospital-1": "10.0.0.5"}'),
        ("HL7_INBOUND_MLLP_SENDERS", '{"hospital-1": ["10.0.0.999"]}'),
        ("HL7_INBOUND_MLLP_SENDERS", '{"hospital-1": ["10.0.1.5/24"]}'),
        ("HL7_INBOUND_MLLP_SENDERS", '{"a": ["10.0.0.5"], "b": ["10.0.0.0/24"]}'),
    ],
)
def test_start_up_stops_with_a_message_naming_the_variable(variable, value):
    result = _start({variable: value})
    assert result.returncode != 0
    assert f"Environment variable {variable}" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_requires_a_secret_key():
    result = _start({"GOLDEN_HOUR_ENV": "production", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "Environment variable SECRET_KEY" in result.stderr


def test_production_requires_an_audit_chain_key_outside_the_database(tmp_path):
    result = _start(
        {
            "GOLDEN_HOUR_ENV": "production",
            "SECRET_KEY": "k" * 20 + "abcdefghijklmnopqrstuvwxyz0123456789",
            "AUDIT_CHAIN_KEY": "",
            "AUDIT_CHAIN_KEY_FILE": str(tmp_path / "none"),
        }
    )
    assert result.returncode != 0
    assert "Environment variable AUDIT_CHAIN_KEY" in result.stderr


def test_production_refuses_plain_http_delivery(tmp_path):
    result = _start(
        {
            "GOLDEN_HOUR_ENV": "production",
            "SECRET_KEY": "k" * 20 + "abcdefghijklmnopqrstuvwxyz0123456789",
            "AUDIT_CHAIN_KEY": "c" * 40,
            "HANDOFF_FHIR_HTTP_LOOPBACK": "1",
        }
    )
    assert result.returncode != 0
    assert "Environment variable HANDOFF_FHIR_HTTP_LOOPBACK" in result.stderr


def test_fhir_auth_file_errors_name_the_variable_and_the_endpoint(tmp_path):
    config = tmp_path / "fhir-auth.json"
    entry = {
        "type": "smart-backend",
        "token_url": "https://auth.hospital.example/token",
        "client_id": "ems",
        "private_key_file": str(tmp_path / "missing.pem"),
        "kid": "k1",
        "alg": "RS384",
        "scope": "system/Bundle.write",
    }
    config.write_text(json.dumps({"https://fhir.hospital.example": entry}))
    allowed = "auth.hospital.example,fhir.hospital.example"

    result = _start({"HANDOFF_FHIR_AUTH_FILE": str(config), "HANDOFF_FHIR_ALLOWED_HOSTS": allowed})

    assert result.returncode != 0
    assert "Environment variable HANDOFF_FHIR_AUTH_FILE" in result.stderr
    assert "endpoint https://fhir.hospital.example: private_key_file" in result.stderr
    assert "Traceback" not in result.stderr
