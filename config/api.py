"""DRF glue shared by every API view: domain errors become clear HTTP answers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.fields import clinical_time_problem, text_problem
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
            "conflict",
            "already_answered",
            "call_ended",
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


# Free text, where tab and newline have a use; every other string is one line.
FREE_TEXT_FIELDS = frozenset(
    {"mechanism", "injuries", "text", "notes", "access_notes", "reason", "override_reason"}
)


def _unknown_fields(fields: Mapping[str, Any], data: Any, prefix: str = "") -> list[str]:
    """The keys of `data` (and of its nested objects) that no serializer field takes."""
    if not isinstance(data, Mapping):
        return []
    unknown = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        field = fields.get(key)
        if field is None or getattr(field, "read_only", False):
            unknown.append(name)
        elif (
            isinstance(field, serializers.ListSerializer)
            and isinstance(field.child, serializers.Serializer)
            and isinstance(value, list)
        ):
            for index, item in enumerate(value):
                unknown += _unknown_fields(field.child.fields, item, f"{name}[{index}].")
        elif isinstance(field, serializers.Serializer):
            unknown += _unknown_fields(field.fields, value, f"{name}.")
    return unknown


def _value_problems(value: Any, name: str, now: datetime) -> dict[str, list[str]]:
    """Control characters in strings and implausible times, by the dotted field name."""
    if isinstance(value, str):
        problem = text_problem(value, multiline=name.rsplit(".", 1)[-1] in FREE_TEXT_FIELDS)
        return {name: [f"This field {problem}"]} if problem else {}
    if isinstance(value, datetime):
        problem = clinical_time_problem(value, now=now)
        return {name: [f"This time {problem}"]} if problem else {}
    found: dict[str, list[str]] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            found.update(_value_problems(str(key), f"{name}.{key}" if name else str(key), now))
            found.update(_value_problems(item, f"{name}.{key}" if name else str(key), now))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(_value_problems(item, f"{name}[{index}]", now))
    return found


def validated(
    serializer_class: type[Any], data: Any, *, partial: bool = False, body: bool = True
) -> dict[str, Any]:
    """The serializer's validated data, or a 400 that names each bad field.

    A body (not a query string, which proxies and caches add to) may carry only the fields
    the serializer declares: an unknown one is refused by name rather than silently dropped,
    so a misspelt or unsupported change is never answered as if it had been made. Every
    string is refused with a control character (tab and newline only in FREE_TEXT_FIELDS),
    every time before 2000 or in the future (config.fields).
    """
    serializer = serializer_class(data=data, partial=partial)
    if body:
        # A form post carries Django's CSRF token beside the fields.
        unknown = [
            name
            for name in _unknown_fields(serializer.fields, data)
            if name != "csrfmiddlewaretoken"
        ]
        if unknown:
            raise exceptions.ValidationError(
                {name: ["Unknown field: this request does not take it."] for name in unknown}
            )
    serializer.is_valid(raise_exception=True)
    problems = _value_problems(dict(serializer.validated_data), "", timezone.now())
    if problems:
        raise exceptions.ValidationError(problems)
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
