"""Two deployments, two servers, two databases: each hands a patient to the other over
HTTP signed with their shared key; both databases and both audit chains are checked."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import processes

pytestmark = pytest.mark.services

ROOT = processes.ROOT


def _env(db: Path, heads: Path, own_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)  # the outbox runs inline (no broker): one process, one database
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        SECRET_KEY=secrets.token_urlsafe(50),
        AUDIT_HEAD_FILE=str(heads),
        EMBEDDED_SCHEDULER="0",
        HANDOFF_FHIR_HTTP_LOOPBACK="1",
        EXCHANGE_PEER_ALLOWED_HOSTS="127.0.0.1",
        EXCHANGE_OWN_BASE_URL=own_url,
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"manage.py {args[0]}: {done.stderr[-2000:]}"
    return done.stdout


def _shell(env: dict[str, str], code: str) -> dict:
    out = _manage(env, "shell", "-c", f"from tests.exchange import deployment; {code}")
    return json.loads(out.strip().splitlines()[-1])


def test_two_deployments_hand_patients_to_each_other(tmp_path):
    port_a, port_b = processes.free_port(), processes.free_port()
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    env_a = _env(tmp_path / "a.sqlite3", tmp_path / "heads-a.jsonl", url_a)
    env_b = _env(tmp_path / "b.sqlite3", tmp_path / "heads-b.jsonl", url_b)
    key_id, secret = "k_ab", secrets.token_urlsafe(32)
    for env in (env_a, env_b):
        _manage(env, "migrate", "--no-input", "-v", "0")
    sent_a = _shell(env_a, f"deployment.seed(side='a', other='b', other_url='{url_b}', "
                           f"key_id='{key_id}', secret='{secret}')")  # fmt: skip
    sent_b = _shell(env_b, f"deployment.seed(side='b', other='a', other_url='{url_a}', "
                           f"key_id='{key_id}', secret='{secret}')")  # fmt: skip

    with processes.daphne_on(env_a, port_a), processes.daphne_on(env_b, port_b):
        out_a = _manage(env_a, "exchange_send", "b", sent_a["encounter"])
        out_b = _manage(env_b, "exchange_send", "a", sent_b["encounter"])
        # A's first message again over the wire: the same receipt, nothing new at B.
        again = _shell(env_a, "deployment.resend()")
    assert again["status"] == 200
    assert again["receipt"] == again["first"]
    assert out_a.strip().endswith(": accepted"), out_a
    assert out_b.strip().endswith(": accepted"), out_b

    side_a = _shell(env_a, "deployment.report()")
    side_b = _shell(env_b, "deployment.report()")
    for here, other, side in ((side_a, side_b, "a"), (side_b, side_a, "b")):
        peer = "b" if side == "a" else "a"
        assert here["outbound"] == [{"status": "accepted", "code": "ok", "http": 200}]
        [inbound] = here["inbound"]
        assert (inbound["status"], inbound["peer"]) == ("accepted", peer)
        received = next(e for e in here["encounters"] if e["id"] == inbound["encounter"])
        # The patient the other side sent, now bound for this side's hospital under the
        # other side's unit, as a record of its own (its own id).
        assert received["family"] == f"Patient{peer}"
        assert received["destination"] == f"H-{side}"
        assert received["unit"] == f"{peer}:{peer.upper()}-ALS-1"
        assert received["allergies"] == ["Latex"]
        assert received["id"] not in {e["id"] for e in other["encounters"]}
    for env in (env_a, env_b):
        assert "chain intact" in _manage(env, "audit_verify")
