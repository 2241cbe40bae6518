"""Where the hospital system sends outcomes in: HL7 v2 ADT^A03 and FHIR Encounter updates.

Authenticated as the hospital by its inbound token (`Authorization: Bearer ghin_...`), not
by a user session: no cookie, no CSRF. Each view translates the body, calls one service of
handoff.services.inbound and answers in the sender's standard (an ACK, an OperationOutcome).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.system_tokens import system_token_unauthenticated
from handoff.interop import inbound
from handoff.services.inbound import (
    INBOUND_TOKEN,
    a03_ack,
    a03_receive,
    fhir_encounter_receive,
    inbound_token_hospital,
)

HL7_CONTENT_TYPE = "application/hl7-v2; charset=utf-8"
FHIR_CONTENT_TYPE = "application/fhir+json"


class _HospitalInbound(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []


class InboundHl7View(_HospitalInbound):
    @extend_schema(
        request={"application/hl7-v2": OpenApiTypes.STR},
        responses={
            (200, "application/hl7-v2"): OpenApiResponse(OpenApiTypes.STR, description="ACK AA"),
            (400, "application/hl7-v2"): OpenApiResponse(
                OpenApiTypes.STR, description="ACK AE/AR with ERR naming the field"
            ),
            401: OpenApiResponse(description="No valid inbound token"),
        },
        auth=[],
    )
    def post(self, request: Request) -> HttpResponse:
        """An HL7 v2 ADT^A03 (discharge) from the hospital: records the patient's outcome."""
        hospital = inbound_token_hospital(request.headers.get("Authorization"))
        if hospital is None:
            return system_token_unauthenticated(INBOUND_TOKEN)
        body = request.body.decode("utf-8", errors="replace")
        received = a03_receive(hospital=hospital, body=body)
        answer = a03_ack(body=body, received=received)
        return HttpResponse(
            answer, content_type=HL7_CONTENT_TYPE, status=200 if received.error is None else 400
        )


class InboundFhirEncounterView(_HospitalInbound):
    @extend_schema(
        request={FHIR_CONTENT_TYPE: OpenApiTypes.OBJECT},
        responses={
            (200, FHIR_CONTENT_TYPE): OpenApiTypes.OBJECT,
            (400, FHIR_CONTENT_TYPE): OpenApiTypes.OBJECT,
            (404, FHIR_CONTENT_TYPE): OpenApiTypes.OBJECT,
            401: OpenApiResponse(description="No valid inbound token"),
        },
        auth=[],
    )
    def put(self, request: Request) -> HttpResponse:
        """A finished FHIR R4 Encounter (hospitalization.dischargeDisposition, diagnosis)
        from the hospital: records the outcome; answers an OperationOutcome."""
        hospital = inbound_token_hospital(request.headers.get("Authorization"))
        if hospital is None:
            return system_token_unauthenticated(INBOUND_TOKEN)
        body = request.body.decode("utf-8", errors="replace")
        try:
            resource = json.loads(body)
        except ValueError:
            resource = None
        received = fhir_encounter_receive(hospital=hospital, body=body, resource=resource)
        if received.error is None:
            code, kind = 200, "informational"
        elif received.not_found:
            code, kind = 404, "not-found"
        else:
            code, kind = 400, "invalid"
        return JsonResponse(
            inbound.operation_outcome(received.error, kind=kind),
            status=code,
            content_type=FHIR_CONTENT_TYPE,
        )

    post = put
