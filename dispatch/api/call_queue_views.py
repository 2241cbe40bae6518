"""The call queue's REST routes: the telephony system rings and ends calls (its centre's
telephony token, `Authorization: Bearer ghtel_...`, no session or CSRF), and a dispatcher
answers one (docs/centres.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.system_tokens import system_token_unauthenticated
from config.api import IsDispatcher, validated
from dispatch import access, selectors, services
from dispatch.api import serializers as s
from dispatch.models import DispatchCentre, QueuedCall
from dispatch.services.call_queue import TELEPHONY_TOKEN

_NO_TOKEN = OpenApiResponse(description="No valid telephony token")


def _body(call: QueuedCall, *, with_phone: bool) -> Any:
    loaded = QueuedCall.objects.select_related(
        "centre", "offered_to", "answered_by__dispatch_centre"
    ).get(pk=call.pk)
    return s.QueuedCallSerializer(selectors.queued_call_summary(loaded, with_phone=with_phone)).data


class _Telephony(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def centre(self, request: Request) -> DispatchCentre | None:
        return services.telephony_token_centre(request.headers.get("Authorization"))


class CallQueueView(_Telephony):
    @extend_schema(
        request=s.QueuedCallRingSerializer,
        responses={201: s.QueuedCallSerializer, 401: _NO_TOKEN},
        auth=[],
    )
    def post(self, request: Request) -> HttpResponse:
        """A call ringing now at the token's centre (from its telephony system)."""
        centre = self.centre(request)
        if centre is None:
            return system_token_unauthenticated(TELEPHONY_TOKEN)
        data = validated(s.QueuedCallRingSerializer, request.data)
        call = services.queued_call_ring(
            centre=centre, caller_phone=data["caller_phone"], line=data["line"]
        )
        return Response(_body(call, with_phone=False), status=status.HTTP_201_CREATED)


class CallQueueEndView(_Telephony):
    @extend_schema(
        request=None,
        responses={200: s.QueuedCallSerializer, 401: _NO_TOKEN, 404: None},
        auth=[],
    )
    def post(self, request: Request, call_id: int) -> HttpResponse:
        """The caller hung up: a call still ringing is abandoned; every call gets its end time."""
        centre = self.centre(request)
        if centre is None:
            return system_token_unauthenticated(TELEPHONY_TOKEN)
        call = services.queued_call_end(centre=centre, call_id=call_id)
        return Response(_body(call, with_phone=False))


class CallQueueAnswerView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(
        request=None,
        responses={
            200: s.QueuedCallSerializer,
            409: OpenApiResponse(description="Already answered (by whom, when) or hung up"),
        },
    )
    def post(self, request: Request, call_id: int) -> HttpResponse:
        """Answer a ringing call of the centre, or one a partner's queue offered to it: the
        first answer wins. The answer has the caller's number for the intake form."""
        call = access.access_queued_call(request.user, call_id)
        answered = services.queued_call_answer(user=request.user, call_id=call.pk)
        return Response(_body(answered, with_phone=True))
