"""REST endpoints over the road network and the geocoder. No patient data passes here."""

from __future__ import annotations

import math
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from shapely.geometry import mapping

from config.api import IsDispatcherOrCrew, validated
from routing import services
from routing.api import serializers as s


def _finite(value: float) -> float | None:
    return round(value, 1) if math.isfinite(value) else None


class RoutingView(APIView):
    permission_classes = [IsDispatcherOrCrew]


class SnapView(RoutingView):
    @extend_schema(parameters=[s.SnapQuerySerializer], responses=s.SnapSerializer)
    def get(self, request: Request) -> Response:
        """Snap a point to the nearest road (the point on the edge, not the nearest node)."""
        query = validated(s.SnapQuerySerializer, request.query_params, body=False)
        snap = services.get_network().snap(query["lat"], query["lon"])
        return Response(
            s.SnapSerializer(
                {
                    "lat": snap.lat,
                    "lon": snap.lon,
                    "distance_m": round(snap.distance_m, 1),
                    "offset_m": round(snap.offset_m, 1),
                    "street": snap.street,
                }
            ).data
        )


class RankView(RoutingView):
    @extend_schema(request=s.RankRequestSerializer, responses=s.RankResultSerializer(many=True))
    def post(self, request: Request) -> Response:
        """Rank sources by drive time to the target, fastest first; unreachable ones last."""
        data = validated(s.RankRequestSerializer, request.data)
        raw: list[Any] = list(request.data.get("sources", []))  # type: ignore[union-attr]
        results = services.get_network().rank(data["target"], data["sources"], data["mode"])
        rows = [
            {
                "index": r.index,
                "id": raw[r.index].get("id") if isinstance(raw[r.index], dict) else None,
                "reachable": r.reachable,
                "eta_s": _finite(r.eta_s) if r.reachable else None,
                "distance_m": _finite(r.distance_m) if r.reachable else None,
            }
            for r in results
        ]
        rows.sort(key=lambda row: (not row["reachable"], row["eta_s"] or 0.0))
        return Response(s.RankResultSerializer(rows, many=True).data)


class RouteView(RoutingView):
    @extend_schema(request=s.RouteRequestSerializer, responses=s.RouteSerializer)
    def post(self, request: Request) -> Response:
        """The fastest route, with its GeoJSON line and turn-by-turn steps."""
        data = validated(s.RouteRequestSerializer, request.data)
        route = services.get_network().route(data["origin"], data["destination"], data["mode"])
        return Response(
            s.RouteSerializer(
                {
                    "duration_s": round(route.duration_s, 1),
                    "distance_m": round(route.distance_m, 1),
                    "geometry": route.geojson()["geometry"],
                    "steps": [
                        {
                            "street": step.street,
                            "maneuver": step.maneuver,
                            "distance_m": round(step.distance_m, 1),
                            "duration_s": round(step.duration_s, 1),
                            "bearing": round(step.bearing),
                        }
                        for step in route.steps
                    ],
                }
            ).data
        )


class IsochroneView(RoutingView):
    @extend_schema(request=s.IsochroneRequestSerializer, responses=s.IsochroneSerializer)
    def post(self, request: Request) -> Response:
        """The area reachable from a point within the given seconds."""
        data = validated(s.IsochroneRequestSerializer, request.data)
        polygon = services.get_network().isochrone(data["origin"], data["seconds"], data["mode"])
        geometry = polygon if isinstance(polygon, dict) else mapping(polygon)
        return Response(
            s.IsochroneSerializer({"seconds": data["seconds"], "geometry": geometry}).data
        )


class CoverageView(RoutingView):
    @extend_schema(request=s.CoverageRequestSerializer, responses=s.CoverageSerializer)
    def post(self, request: Request) -> Response:
        """Which demand points some unit reaches within the given seconds."""
        data = validated(s.CoverageRequestSerializer, request.data)
        result = services.get_network().coverage(
            data["units"], data["demand"], data["seconds"], data["mode"]
        )
        return Response(
            s.CoverageSerializer(
                {
                    "seconds": data["seconds"],
                    "fraction": round(result.fraction, 4),
                    "covered": list(result.covered),
                    "eta_s": [_finite(v) for v in result.eta_s],
                }
            ).data
        )


def _candidate(c: Any) -> dict[str, Any]:
    return {
        "label": c.label,
        "lat": c.lat,
        "lon": c.lon,
        "kind": c.kind,
        "confidence": c.confidence,
        "source": c.source,
        "street": c.street,
        "housenumber": c.housenumber,
        "postcode": c.postcode,
        "city": c.city,
        "name": c.name,
        "distance_m": c.distance_m,
        "precision_m": c.precision_m,
    }


class GeocodeView(RoutingView):
    @extend_schema(parameters=[s.GeocodeQuerySerializer], responses=s.GeocodeAnswerSerializer)
    def get(self, request: Request) -> Response:
        """Addresses, places, "lat, lon" or plus codes to ranked candidates with a confidence."""
        query = validated(s.GeocodeQuerySerializer, request.query_params, body=False)
        answer = services.geocode_forward(text=query["q"], limit=query["limit"])
        return Response(
            s.GeocodeAnswerSerializer(
                {
                    "candidates": [_candidate(c) for c in answer.candidates],
                    "suggestions": [_candidate(c) for c in answer.suggestions],
                }
            ).data
        )


class ReverseGeocodeView(RoutingView):
    @extend_schema(parameters=[s.SnapQuerySerializer], responses=s.CandidateSerializer)
    def get(self, request: Request) -> Response:
        """The nearest address, else the nearest named street; 404 when nothing is near."""
        query = validated(s.SnapQuerySerializer, request.query_params, body=False)
        found = services.geocode_reverse(lat=query["lat"], lon=query["lon"])
        if found is None:
            return Response({"detail": "No address or named street near this point."}, status=404)
        return Response(s.CandidateSerializer(_candidate(found)).data)
