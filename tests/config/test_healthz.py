import pytest

from config import health


@pytest.fixture
def _failing_database(monkeypatch):
    def broken():
        raise RuntimeError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", broken)


def test_healthz_is_200_when_every_part_is_usable(client, db, road_map):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["parts"]) == {"database", "channel_layer", "celery", "road_graph"}
    assert body["parts"]["channel_layer"]["backend"] == "InMemoryChannelLayer"
    assert body["parts"]["celery"]["mode"] == "embedded"
    assert body["parts"]["road_graph"]["nodes"] == road_map.graph.n_nodes > 0
    assert body["parts"]["road_graph"]["source"] == "Helsinki.osm.pbf"


def test_healthz_names_the_missing_road_graph(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["road_graph"]
    assert "build_map" in body["parts"]["road_graph"]["error"]


@pytest.mark.usefixtures("_failing_database")
def test_healthz_names_a_failing_database(client, db, road_map):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
    assert "connection refused" in response.json()["parts"]["database"]["error"]


def test_healthz_reports_a_channel_layer_that_loses_messages(client, db, road_map, monkeypatch):
    from channels.layers import InMemoryChannelLayer

    async def swallow(self, channel, message):
        return None

    monkeypatch.setattr(InMemoryChannelLayer, "send", swallow)
    monkeypatch.setattr(health, "CHANNEL_TIMEOUT_S", 0.2)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["channel_layer"]


def test_healthz_needs_no_login_and_is_never_cached(client, db):
    response = client.get("/healthz")
    assert response.status_code in {200, 503}
    assert "no-cache" in response["Cache-Control"]
