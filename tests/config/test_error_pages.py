"""Errors raised before a view answers: the API still answers JSON that says why."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_body_over_the_upload_limit_is_a_json_400_under_the_api(client, dispatcher, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(dispatcher)
    answer = client.post("/api/v1/routing/coverage/", "x" * 5000, content_type="application/json")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"detail": "The request body is larger than 1000 bytes."}


def test_an_unknown_api_path_is_a_json_404(client):
    answer = client.get("/api/v1/no-such-route/")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not found."})
