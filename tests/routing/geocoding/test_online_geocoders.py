"""Online geocoding against recorded Nominatim and Photon responses, served by a fake adapter."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from geopy.adapters import AdapterHTTPError, BaseSyncAdapter
from geopy.exc import GeocoderTimedOut, GeocoderUnavailable

from routing.engine.coords import GeocodeError
from routing.engine.geocode import Candidate, resolve
from routing.engine.geocode_index import GeocodeIndex
from routing.engine.online_geocoders import (
    GeopyGeocoder,
    OnlineGeocoderSettings,
    make_online_geocoder,
)

from .conftest import RECORDED

QUERY = "Mannerheimintie 6, Helsinki"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


class RecordedAdapter(BaseSyncAdapter):
    """Answers from recorded JSON keyed by host and path, and remembers every request."""

    def __init__(
        self,
        *,
        proxies: Any,
        ssl_context: Any,
        responses: dict[tuple[str, str], Any],
        requests: list[dict[str, Any]],
        fail: BaseException | None = None,
    ) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self.responses = responses
        self.requests = requests
        self.fail = fail

    def get_json(self, url: str, *, timeout: float, headers: dict[str, str]) -> Any:
        parts = urlsplit(url)
        self.requests.append(
            {
                "host": parts.netloc,
                "path": parts.path,
                "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                "timeout": timeout,
                "headers": headers,
            }
        )
        if self.fail is not None:
            raise self.fail
        try:
            return self.responses[(parts.netloc, parts.path)]
        except KeyError:
            raise AdapterHTTPError(
                "not recorded", status_code=404, headers={}, text="not recorded"
            ) from None

    def get_text(self, url: str, *, timeout: float, headers: dict[str, str]) -> str:
        return json.dumps(self.get_json(url, timeout=timeout, headers=headers))


def serve(*names: str, fail: BaseException | None = None) -> tuple[Any, list[dict[str, Any]]]:
    responses = {}
    for name in names:
        data = recorded(name)
        responses[(data["request"]["host"], data["request"]["path"])] = data["response"]
    requests: list[dict[str, Any]] = []

    def factory(**kwargs: Any) -> RecordedAdapter:
        return RecordedAdapter(**kwargs, responses=responses, requests=requests, fail=fail)

    return factory, requests


HELSINKI_BOX = (60.10, 24.80, 60.30, 25.10)


def test_nominatim_sends_bias_and_identity_and_parses_results() -> None:
    factory, requests = serve("nominatim_search_mannerheimintie_6.json")
    settings = OnlineGeocoderSettings(
        service="nominatim",
        user_agent="golden-hour-test/1.0",
        timeout_s=3.0,
        viewbox=HELSINKI_BOX,
        bounded=True,
        country_codes=("fi",),
    )
    found = GeopyGeocoder(settings, adapter_factory=factory).geocode(QUERY, limit=5)

    (sent,) = requests
    assert sent["host"] == "nominatim.openstreetmap.org"
    assert sent["path"] == "/search"
    assert sent["timeout"] == 3.0
    assert sent["headers"]["User-Agent"] == "golden-hour-test/1.0"
    expected = recorded("nominatim_search_mannerheimintie_6.json")["request"]["query"]
    assert expected.items() <= sent["query"].items()
    assert sent["query"]["viewbox"] == "24.8,60.1,25.1,60.3"
    assert sent["query"]["bounded"] == "1"
    assert sent["query"]["countrycodes"] == "fi"

    assert [c.kind for c in found] == ["online", "online"]
    first = found[0]
    assert first.source == "online"
    assert (first.lat, first.lon) == pytest.approx((60.167038, 24.941881))
    assert (first.street, first.housenumber, first.postcode, first.city) == (
        "Mannerheimintie",
        "6",
        "00100",
        "Helsinki",
    )
    assert first.category == "building=commercial"
    assert first.label.startswith("6, Mannerheimintie")
    # importance 0.2 -> 0.4 + 0.5 * 0.2
    assert first.confidence == pytest.approx(0.5)
    assert found[1].category == "highway=primary"


def test_photon_sends_bbox_and_parses_geojson() -> None:
    factory, requests = serve("photon_api_mannerheimintie_6.json")
    settings = OnlineGeocoderSettings(service="photon", viewbox=HELSINKI_BOX, language="fi")
    found = GeopyGeocoder(settings, adapter_factory=factory).geocode(QUERY, limit=5)

    (sent,) = requests
    assert (sent["host"], sent["path"]) == ("photon.komoot.io", "/api")
    assert sent["query"]["q"] == QUERY
    assert sent["query"]["limit"] == "5"
    assert sent["query"]["bbox"] == "24.8,60.1,25.1,60.3"
    assert float(sent["query"]["lat"]) == pytest.approx(60.2)
    assert float(sent["query"]["lon"]) == pytest.approx(24.95)
    assert sent["query"]["lang"] == "fi"

    first, second = found
    assert (first.street, first.housenumber, first.city) == ("Mannerheimintie", "6", "Helsinki")
    assert (first.lat, first.lon) == pytest.approx((60.167038, 24.941881))
    assert first.confidence > second.confidence
    assert second.name == "Mannerheimintie kaupunkipyöräasema"
    assert second.category == "amenity=bicycle_rental"


def test_custom_domain_from_the_setting_string() -> None:
    factory, requests = serve()
    geocoder = make_online_geocoder("photon:photon.example.org", adapter_factory=factory)
    assert geocoder is not None
    with pytest.raises(GeocodeError):
        geocoder.geocode(QUERY)
    assert requests[0]["host"] == "photon.example.org"


@pytest.mark.parametrize("setting", [None, "", "none", "off", "offline"])
def test_no_online_geocoder_when_switched_off(setting: str | None) -> None:
    assert make_online_geocoder(setting) is None


def test_unknown_service_is_a_configuration_error() -> None:
    with pytest.raises(GeocodeError) as err:
        make_online_geocoder("nosuchgeocoder")
    assert err.value.field == "geocoder"
    assert "nosuchgeocoder" in err.value.message


@pytest.mark.parametrize(
    "failure",
    [
        GeocoderTimedOut("Service timed out"),
        # geopy reads 503 as "try again later", the same as a timeout.
        AdapterHTTPError("busy", status_code=503, headers={}, text="busy"),
    ],
)
def test_timeout_becomes_a_geocode_error(failure: BaseException) -> None:
    factory, _ = serve(fail=failure)
    geocoder = GeopyGeocoder(OnlineGeocoderSettings(timeout_s=2.0), adapter_factory=factory)
    with pytest.raises(GeocodeError) as err:
        geocoder.geocode(QUERY)
    assert err.value.field == "online"
    assert err.value.message == "nominatim did not answer within 2 s"


@pytest.mark.parametrize(
    "failure",
    [
        GeocoderUnavailable("Service not available"),
        AdapterHTTPError("bad gateway", status_code=502, headers={}, text="bad gateway"),
        AdapterHTTPError("slow down", status_code=429, headers={}, text="slow down"),
        OSError("connection reset"),
    ],
)
def test_network_and_http_failures_become_geocode_errors(failure: BaseException) -> None:
    factory, _ = serve(fail=failure)
    geocoder = GeopyGeocoder(OnlineGeocoderSettings(), adapter_factory=factory)
    with pytest.raises(GeocodeError) as err:
        geocoder.geocode(QUERY)
    assert err.value.field == "online"
    assert err.value.message.startswith("nominatim failed: ")
    assert "\n" not in err.value.message


def test_empty_query_does_not_call_the_service() -> None:
    factory, requests = serve("nominatim_search_mannerheimintie_6.json")
    assert GeopyGeocoder(OnlineGeocoderSettings(), adapter_factory=factory).geocode("  ") == []
    assert requests == []


class FakeOnline:
    def __init__(self, answer: list[Candidate] | None = None, fail: bool = False) -> None:
        self.answer = answer or []
        self.fail = fail
        self.calls: list[str] = []

    def geocode(self, query: str, *, limit: int = 5) -> list[Candidate]:
        self.calls.append(query)
        if self.fail:
            raise GeocodeError("online", "nominatim did not answer within 5 s")
        return self.answer[:limit]


ONLINE_HIT = Candidate("Meilahden tornisairaala", 60.1899, 24.9044, "online", 0.7, source="online")


def test_resolve_tries_coordinates_first(helsinki: GeocodeIndex) -> None:
    online = FakeOnline([ONLINE_HIT])
    (hit,) = resolve("60.1670376, 24.9418805", helsinki, online=online)
    assert (hit.kind, hit.source) == ("latlon", "coords")
    assert "Mannerheimintie 6" in hit.label
    assert online.calls == []


def test_resolve_short_plus_code_uses_the_town_in_the_extract(helsinki: GeocodeIndex) -> None:
    (hit,) = resolve("5WCH+2V Helsinki", helsinki)
    assert hit.kind == "pluscode"
    assert (hit.lat, hit.lon) == pytest.approx((60.1700625, 24.9296875))


def test_resolve_short_plus_code_without_town_uses_the_extract_centre(
    helsinki: GeocodeIndex,
) -> None:
    (hit,) = resolve("5WCH+2V", helsinki)
    assert (hit.lat, hit.lon) == pytest.approx((60.1700625, 24.9296875))


def test_resolve_invalid_coordinate_raises(helsinki: GeocodeIndex) -> None:
    with pytest.raises(GeocodeError) as err:
        resolve("95.1, 24.9", helsinki)
    assert err.value.field == "lat"


def test_resolve_prefers_a_good_offline_match(helsinki: GeocodeIndex) -> None:
    online = FakeOnline([ONLINE_HIT])
    hits = resolve("Mannerheimintie 6", helsinki, online=online)
    assert hits[0].source == "offline"
    assert online.calls == []


def test_resolve_asks_online_when_offline_has_nothing(helsinki: GeocodeIndex) -> None:
    online = FakeOnline([ONLINE_HIT])
    hits = resolve("Meilahden tornisairaala", helsinki, online=online)
    assert hits[0] == ONLINE_HIT
    assert online.calls == ["Meilahden tornisairaala"]


def test_resolve_survives_an_online_failure(helsinki: GeocodeIndex) -> None:
    assert resolve("Meilahden tornisairaala", helsinki, online=FakeOnline(fail=True)) == []


def test_resolve_with_recorded_nominatim_end_to_end(helsinki: GeocodeIndex) -> None:
    factory, requests = serve("nominatim_search_mannerheimintie_6.json")
    online = make_online_geocoder("nominatim", adapter_factory=factory)
    hits = resolve("Meilahden tornisairaala", helsinki, online=online)
    assert len(requests) == 1
    assert hits[0].source == "online"
