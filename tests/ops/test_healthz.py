import pytest

from ops import health


@pytest.fixture
def client(client, admin):
    # The parts' details are for staff (test_anonymous_callers_get_no_internals covers others).
    client.force_login(admin)
    return client


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
    assert set(body["parts"]) == {"database", "channel_layer", "celery", "road_graph", "realtime"}
    assert body["degraded"] == []
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


def _busy_ingest() -> list[dict]:
    return [
        {
            "state": "busy",
            "queued_items": 7200,
            "oldest_wait_ms": 900,
            "ticks": 10,
            "items": 20000,
            "last_tick_ms": 80.0,
            "last_tick_items": 2000,
            "max_tick_ms": 120.0,
            "refused_frames": 3,
            "fallbacks": 0,
        }
    ]


def test_healthz_says_degraded_when_device_ingest_is_busy(client, db, road_map, monkeypatch):
    import realtime.ingest

    monkeypatch.setattr(realtime.ingest, "ingestors_status", _busy_ingest)
    response = client.get("/healthz")
    body = response.json()
    # Late is not down: a load balancer keeps the process, the page says why it is late.
    assert response.status_code == 200, body
    assert body["status"] == "degraded"
    assert body["degraded"] == ["realtime"]
    assert body["failing"] == []
    part = body["parts"]["realtime"]
    assert "7200 items waiting" in part["degraded"]
    assert part["ingest"][0]["refused_frames"] == 3


def test_healthz_says_degraded_when_screens_are_held_back(client, db, road_map, monkeypatch):
    import realtime.fanout

    monkeypatch.setattr(
        realtime.fanout,
        "hubs_status",
        lambda: [{"streams": 1, "screens": 50, "lagging": 4, "messages": 10, "layer_errors": 0}],
    )
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["parts"]["realtime"]["degraded"] == "4 screens are held back for lag"


def test_anonymous_callers_get_the_status_but_no_internals(db, road_map):
    from django.test import Client

    body = Client().get("/healthz").json()
    assert body["status"] == "ok"
    assert "parts" not in body


def test_a_monitor_with_the_token_sees_the_parts(db, road_map, settings):
    from django.test import Client

    settings.HEALTHZ_TOKEN = "monitor-secret-0123456789"
    anonymous = Client()
    assert "parts" not in anonymous.get("/healthz", HTTP_AUTHORIZATION="Bearer wrong").json()
    body = anonymous.get("/healthz", HTTP_AUTHORIZATION="Bearer monitor-secret-0123456789").json()
    assert body["parts"]["database"]["ok"]


@pytest.mark.usefixtures("_failing_database")
def test_a_failing_part_is_named_to_anyone_but_its_error_only_to_staff(db):
    from django.test import Client

    body = Client().get("/healthz").json()
    assert "database" in body["failing"]
    assert "connection refused" not in str(body)
