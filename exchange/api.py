"""The inbound endpoint of messages from peers (docs/interop.md, "Between deployments")."""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange import signing
from exchange.services import message_receive


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"


_FHIR = {"type": "object", "description": "A FHIR R4 resource (application/fhir+json)"}


class ExchangeMessagesView(APIView):
    """POST a FHIR message Bundle from a peer deployment, signed with a peer key.

    Not a session endpoint: the HMAC signature is the authentication (no cookies, no CSRF).
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    # A peer asks for application/fhir+json; plain JSON clients get the same body.
    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    @extend_schema(
        operation_id="exchange_message_receive",
        summary="Receive a FHIR message Bundle from a peer deployment",
        request={"application/fhir+json": _FHIR},
        parameters=[
            OpenApiParameter(signing.KEY_ID_HEADER, str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                signing.TIMESTAMP_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Unix seconds; refused outside EXCHANGE_SIGNATURE_WINDOW",
            ),
            OpenApiParameter(
                signing.SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="hex HMAC-SHA256 of METHOD\\nPATH\\nTIMESTAMP\\nSHA256HEX(body)",
            ),
        ],
        responses={
            200: OpenApiResponse(_FHIR, description="Receipt: response Bundle, code ok"),
            400: OpenApiResponse(_FHIR, description="Malformed, not a message, or content refused"),
            401: OpenApiResponse(
                _FHIR, description="Unsigned, unknown key, expired or bad signature"
            ),
            409: OpenApiResponse(_FHIR, description="Message id reused with other content"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        answer = message_receive(
            method=request.method or "POST",
            path=request.path,
            headers=request.headers,
            body=request.body,
        )
        return Response(answer.resource, status=answer.status, content_type="application/fhir+json")


messages_view = csrf_exempt(ExchangeMessagesView.as_view())
