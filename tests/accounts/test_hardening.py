"""Brute-force throttling, idle sessions, security headers, and the production checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_login_brute_force_is_locked_out_even_with_the_right_password(client, dispatcher, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/login/", {"username": dispatcher.username, "password": "wrong"})
    response = client.post("/login/", {"username": dispatcher.username, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_a_successful_login_resets_the_failure_count(client, dispatcher, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        client.post("/login/", {"username": dispatcher.username, "password": "wrong"})
    assert (
        client.post(
            "/login/", {"username": dispatcher.username, "password": TEST_PASSWORD}
        ).status_code
        == 302
    )
    client.logout()
    for _ in range(2):
        client.post("/login/", {"username": dispatcher.username, "password": "wrong"})
    assert (
        client.post(
            "/login/", {"username": dispatcher.username, "password": TEST_PASSWORD}
        ).status_code
        == 302
    )


def test_sessions_expire_when_idle(settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600


def test_pages_carry_a_content_security_policy_and_frame_denial(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get("/dispatch/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_api_requests_are_rate_limited(client, dispatcher, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    # The rates are read when the throttle class is defined; patch the class's table.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "3/min"})
    client.force_login(dispatcher)
    codes = [client.get("/api/v1/me/").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_production_settings_pass_the_deploy_check():
    environ = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}
    }
    environ.update(
        {
            "GOLDEN_HOUR_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "ems.example.org",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("key", ["short", "a" * 60])
def test_a_weak_production_secret_key_is_refused(key):
    environ = {**os.environ, "GOLDEN_HOUR_ENV": "production", "SECRET_KEY": key}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Environment variable SECRET_KEY" in result.stderr


def test_an_account_tried_from_many_addresses_is_locked_out(client, dispatcher, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        client.post(
            "/login/",
            {"username": dispatcher.username, "password": "wrong"},
            REMOTE_ADDR=f"198.51.100.{n + 1}",
        )
    response = client.post(
        "/login/",
        {"username": dispatcher.username, "password": TEST_PASSWORD},
        REMOTE_ADDR="198.51.100.99",
    )
    assert response.status_code == 429


def test_an_address_trying_many_accounts_is_locked_out(client, dispatcher, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        client.post(
            "/login/", {"username": f"guess-{n}", "password": "wrong"}, REMOTE_ADDR="203.0.113.7"
        )
    response = client.post(
        "/login/",
        {"username": dispatcher.username, "password": TEST_PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 429
    # The same account from another address is not locked by that address's failures.
    assert (
        client.post(
            "/login/",
            {"username": dispatcher.username, "password": TEST_PASSWORD},
            REMOTE_ADDR="203.0.113.8",
        ).status_code
        == 302
    )


def test_production_does_not_serve_the_test_client_host_by_default():
    environ = {k: v for k, v in os.environ.items() if k != "ALLOWED_HOSTS"}
    environ.update({"GOLDEN_HOUR_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(60)})
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.ALLOWED_HOSTS)",
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "testserver" not in result.stdout
    assert "localhost" in result.stdout
