"""Online geocoding through geopy, picked by a setting string, returning candidates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geopy.exc import GeocoderNotFound, GeocoderTimedOut, GeopyError
from geopy.geocoders import get_geocoder_for_service
from geopy.location import Location

from routing.engine.coords import GeocodeError
from routing.engine.geocode import Candidate

__all__ = [
    "GeopyGeocoder",
    "OnlineGeocoderSettings",
    "location_to_candidate",
    "make_online_geocoder",
]

# Online answers cannot be checked against our own data, so they never claim certainty.
ONLINE_MAX_CONFIDENCE = 0.9
ONLINE_MIN_CONFIDENCE = 0.4


@dataclass(frozen=True, slots=True)
class OnlineGeocoderSettings:
    """What a deployment configures: provider name, identity, limits and area bias."""

    service: str = "nominatim"
    user_agent: str = "golden-hour-dispatch"
    timeout_s: float = 5.0
    domain: str | None = None
    api_key: str | None = None
    # (south, west, north, east) in degrees: results inside are preferred.
    viewbox: tuple[float, float, float, float] | None = None
    bounded: bool = False
    country_codes: tuple[str, ...] = ()
    language: str | None = None


class GeopyGeocoder:
    """A geopy geocoder wrapped so every failure is a GeocodeError and results are Candidates."""

    def __init__(
        self,
        settings: OnlineGeocoderSettings,
        *,
        adapter_factory: Callable[..., Any] | None = None,
    ) -> None:
        """Instantiate the provider named in settings.service."""
        self.settings = settings
        self.service = settings.service.strip().lower()
        try:
            cls = get_geocoder_for_service(self.service)
        except GeocoderNotFound as exc:
            raise GeocodeError("geocoder", f"unknown online geocoder '{settings.service}'") from exc
        kwargs: dict[str, Any] = {"user_agent": settings.user_agent, "timeout": settings.timeout_s}
        if settings.domain:
            kwargs["domain"] = settings.domain
        if settings.api_key:
            kwargs["api_key"] = settings.api_key
        if adapter_factory is not None:
            kwargs["adapter_factory"] = adapter_factory
        try:
            self._geocoder = cls(**kwargs)
        except (GeopyError, TypeError, ValueError) as exc:
            raise GeocodeError("geocoder", f"cannot configure '{self.service}': {exc}") from exc

    def geocode(self, query: str, *, limit: int = 5) -> list[Candidate]:
        """Ranked candidates from the provider; GeocodeError on any network or service failure."""
        if not query or not query.strip():
            return []
        try:
            found = self._geocoder.geocode(query, exactly_one=False, **self._query_kwargs(limit))
        except GeocoderTimedOut as exc:
            raise GeocodeError(
                "online", f"{self.service} did not answer within {self.settings.timeout_s:g} s"
            ) from exc
        except (GeopyError, OSError, ValueError) as exc:
            raise GeocodeError("online", f"{self.service} failed: {_one_line(exc)}") from exc
        locations: list[Location] = list(found or [])[:limit]
        return [location_to_candidate(loc, rank) for rank, loc in enumerate(locations)]

    def _query_kwargs(self, limit: int) -> dict[str, Any]:
        s = self.settings
        box = None
        if s.viewbox is not None:
            south, west, north, east = s.viewbox
            box = [(south, west), (north, east)]
        if self.service == "nominatim":
            kwargs: dict[str, Any] = {"limit": limit, "addressdetails": True}
            if box:
                kwargs.update(viewbox=box, bounded=s.bounded)
            if s.country_codes:
                kwargs["country_codes"] = list(s.country_codes)
            if s.language:
                kwargs["language"] = s.language
            return kwargs
        if self.service == "photon":
            kwargs = {"limit": limit}
            if box:
                kwargs["bbox"] = box
                kwargs["location_bias"] = ((box[0][0] + box[1][0]) / 2, (box[0][1] + box[1][1]) / 2)
            if s.language:
                kwargs["language"] = s.language
            return kwargs
        # Other providers share no area-bias parameters; they get the plain query.
        return {}


def location_to_candidate(location: Location, rank: int = 0) -> Candidate:
    """Convert a geopy Location from Nominatim, Photon, ArcGIS or others to a Candidate."""
    raw: dict[str, Any] = location.raw if isinstance(location.raw, dict) else {}
    props: dict[str, Any] = raw.get("properties") or {}
    # Nominatim nests the address as a dict; ArcGIS gives a plain string under the same key.
    address = raw.get("address")
    addr: dict[str, Any] = address if isinstance(address, dict) else {}
    street = props.get("street") or addr.get("road") or addr.get("pedestrian") or ""
    housenumber = props.get("housenumber") or addr.get("house_number") or ""
    postcode = props.get("postcode") or addr.get("postcode") or ""
    city = (
        props.get("city")
        or addr.get("city")
        or addr.get("town")
        or addr.get("village")
        or addr.get("municipality")
        or ""
    )
    category = ""
    if raw.get("class") and raw.get("type"):
        category = f"{raw['class']}={raw['type']}"
    elif props.get("osm_key") and props.get("osm_value"):
        category = f"{props['osm_key']}={props['osm_value']}"
    return Candidate(
        label=str(location.address or ""),
        lat=float(location.latitude),
        lon=float(location.longitude),
        kind="online",
        confidence=round(_confidence(raw, rank), 3),
        street=str(street),
        housenumber=str(housenumber),
        postcode=str(postcode),
        city=str(city),
        source="online",
        name=str(props.get("name") or raw.get("name") or ""),
        category=category,
    )


def _confidence(raw: dict[str, Any], rank: int) -> float:
    span = ONLINE_MAX_CONFIDENCE - ONLINE_MIN_CONFIDENCE
    importance = raw.get("importance")
    if isinstance(importance, int | float):
        return ONLINE_MIN_CONFIDENCE + span * min(max(float(importance), 0.0), 1.0)
    score = raw.get("score")
    if isinstance(score, int | float):
        # ArcGIS and Pelias-style scores are 0..100.
        return ONLINE_MIN_CONFIDENCE + span * min(max(float(score) / 100.0, 0.0), 1.0)
    # Photon gives no score; its order is its ranking.
    return max(ONLINE_MIN_CONFIDENCE, 0.65 - 0.05 * rank)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def make_online_geocoder(
    setting: str | None,
    *,
    user_agent: str = "golden-hour-dispatch",
    timeout_s: float = 5.0,
    viewbox: tuple[float, float, float, float] | None = None,
    country_codes: tuple[str, ...] = (),
    adapter_factory: Callable[..., Any] | None = None,
) -> GeopyGeocoder | None:
    """Build the geocoder named by a setting like 'nominatim' or 'photon:photon.example.org'."""
    if not setting or setting.strip().lower() in ("", "none", "off", "offline"):
        return None
    service, _, domain = setting.strip().partition(":")
    settings = OnlineGeocoderSettings(
        service=service,
        user_agent=user_agent,
        timeout_s=timeout_s,
        domain=domain or None,
        viewbox=viewbox,
        country_codes=country_codes,
    )
    return GeopyGeocoder(settings, adapter_factory=adapter_factory)
