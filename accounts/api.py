"""GET /api/v1/me/: who the caller is and what they belong to (devices check their token)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class MeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField()
    role = serializers.CharField()
    dispatch_centre = serializers.IntegerField(source="dispatch_centre_id", allow_null=True)
    unit = serializers.IntegerField(source="unit_id", allow_null=True)
    hospital = serializers.IntegerField(source="hospital_id", allow_null=True)
    is_charge = serializers.BooleanField()


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
