"""Request and response shapes of the routing and geocoding API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MODES = [("urgent", "lights and sirens"), ("non_urgent", "non-urgent transport")]


class PointSerializer(serializers.Serializer):  # type: ignore[type-arg]
    lat = serializers.FloatField(min_value=-90.0, max_value=90.0)
    lon = serializers.FloatField(min_value=-180.0, max_value=180.0)

    def to_internal_value(self, data: Any) -> tuple[float, float]:  # type: ignore[override]
        values = super().to_internal_value(data)
        return (values["lat"], values["lon"])


class SourcePointSerializer(PointSerializer):
    id = serializers.CharField(max_length=64, required=False)


class SnapQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    lat = serializers.FloatField(min_value=-90.0, max_value=90.0)
    lon = serializers.FloatField(min_value=-180.0, max_value=180.0)


class SnapSerializer(serializers.Serializer):  # type: ignore[type-arg]
    lat = serializers.FloatField(help_text="The point on the road")
    lon = serializers.FloatField()
    distance_m = serializers.FloatField(help_text="From the given point to the road")
    offset_m = serializers.FloatField(help_text="Along the road edge from its start")
    street = serializers.CharField(allow_blank=True)


class RankRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    target = PointSerializer()
    sources = serializers.ListField(child=SourcePointSerializer(), min_length=1, max_length=2000)
    mode = serializers.ChoiceField(choices=MODES, default="urgent")


class RankResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    index = serializers.IntegerField(help_text="Position in the request's sources")
    id = serializers.CharField(allow_null=True)
    reachable = serializers.BooleanField()
    eta_s = serializers.FloatField(allow_null=True)
    distance_m = serializers.FloatField(allow_null=True)


class RouteRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    origin = PointSerializer()
    destination = PointSerializer()
    mode = serializers.ChoiceField(choices=MODES, default="urgent")


class StepSerializer(serializers.Serializer):  # type: ignore[type-arg]
    street = serializers.CharField(allow_blank=True)
    maneuver = serializers.CharField()
    distance_m = serializers.FloatField()
    duration_s = serializers.FloatField()
    bearing = serializers.FloatField()


class RouteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    duration_s = serializers.FloatField()
    distance_m = serializers.FloatField()
    geometry = serializers.JSONField(help_text="GeoJSON LineString, [lon, lat] pairs")
    steps = StepSerializer(many=True)


class IsochroneRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    origin = PointSerializer()
    seconds = serializers.FloatField(min_value=1.0, max_value=7200.0)
    mode = serializers.ChoiceField(choices=MODES, default="urgent")


class IsochroneSerializer(serializers.Serializer):  # type: ignore[type-arg]
    seconds = serializers.FloatField()
    geometry = serializers.JSONField(help_text="GeoJSON Polygon or MultiPolygon")


class CoverageRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    units = serializers.ListField(child=PointSerializer(), min_length=1, max_length=2000)
    demand = serializers.ListField(child=PointSerializer(), min_length=1, max_length=20000)
    seconds = serializers.FloatField(min_value=1.0, max_value=7200.0)
    mode = serializers.ChoiceField(choices=MODES, default="urgent")


class CoverageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    seconds = serializers.FloatField()
    fraction = serializers.FloatField(help_text="Share of demand points covered")
    covered = serializers.ListField(child=serializers.BooleanField())
    eta_s = serializers.ListField(child=serializers.FloatField(allow_null=True))


class GeocodeQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    q = serializers.CharField(max_length=300, trim_whitespace=True)
    limit = serializers.IntegerField(min_value=1, max_value=20, default=5)


class CandidateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    label = serializers.CharField()  # type: ignore[assignment]
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    kind = serializers.CharField()
    confidence = serializers.FloatField()
    source = serializers.CharField()  # type: ignore[assignment]
    street = serializers.CharField(allow_blank=True)
    housenumber = serializers.CharField(allow_blank=True)
    postcode = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    distance_m = serializers.FloatField(allow_null=True)
    precision_m = serializers.FloatField(allow_null=True)


class GeocodeAnswerSerializer(serializers.Serializer):  # type: ignore[type-arg]
    candidates = CandidateSerializer(many=True)
    suggestions = CandidateSerializer(many=True, help_text="Nearest partial matches when none")
