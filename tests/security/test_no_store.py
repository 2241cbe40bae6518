"""Answers that may carry patient data are marked no-store; static files keep their cache."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/me/", "/ed/", "/login/", "/api/v1/incidents/"])
def test_views_answer_no_store(client, ed_nurse, dispatcher, path):
    client.force_login(dispatcher if "incidents" in path else ed_nurse)
    response = client.get(path)
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control


def test_an_anonymous_refusal_is_no_store_too(client):
    assert "no-store" in client.get("/api/v1/me/")["Cache-Control"]
