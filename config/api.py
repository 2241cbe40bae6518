"""DRF glue shared by every API view: domain errors become clear HTTP answers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, parsers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from dispatch.services import DispatchError
from handoff.services import CONFLICT_CODES, HandoffError
from routing.engine import RoutingError, UnreachableError
from routing.engine.coords import GeocodeError
from routing.services import MapNotBuiltError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus domain errors as 4xx/503 answers that name the field."""
    if isinstance(exc, DispatchError):
        # A state conflict (unit taken, transition not allowed) is 409; bad input is 400.
        conflict = exc.code in {
            "invalid_transition",
            "unit_unavailable",
            "duplicate",
            "override_required",
        }
        return Response(
            {exc.field or "non_field_errors": [exc.message], "code": exc.code},
            status=status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, HandoffError):
        conflict = exc.code in CONFLICT_CODES
        return Response(
            {exc.field or "non_field_errors": [exc.message], "code": exc.code},
            status=status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ObjectDoesNotExist):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, MapNotBuiltError):
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, RoutingError | GeocodeError):
        field = getattr(exc, "field", None) or "non_field_errors"
        code = (
            status.HTTP_422_UNPROCESSABLE_ENTITY
            if isinstance(exc, UnreachableError)
            else status.HTTP_400_BAD_REQUEST
        )
        return Response({field: [getattr(exc, "message", str(exc))]}, status=code)
    if isinstance(exc, DjangoValidationError):
        detail: Any = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with JSON nested too deep to read refused as a 400, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                "JSON parse error - nested too deep to read; nothing was taken."
            ) from None


def validated(serializer_class: type[Any], data: Any, *, partial: bool = False) -> dict[str, Any]:
    """The serializer's validated data, or a 400 that names each bad field."""
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data  # type: ignore[no-any-return]


class IsDispatcher(BasePermission):
    """Dispatchers only (the view then scopes to their centre through access.py)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        from accounts.access import user_has_role
        from accounts.models import Role

        return user_has_role(request.user, Role.DISPATCHER)


class IsDispatcherOrCrew(BasePermission):
    """The people who send and drive the ambulances."""

    def has_permission(self, request: Request, view: Any) -> bool:
        from accounts.access import user_has_role
        from accounts.models import Role

        return user_has_role(request.user, Role.DISPATCHER, Role.CREW)
