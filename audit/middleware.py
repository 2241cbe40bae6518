"""Sets the audit context (request id, client address) for each HTTP request and answers
with the request id in `X-Request-ID`, so a user's report can be matched to the trail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from audit.context import AuditContext, audit_context, client_address, request_id_or_new, safe_path


def _context(request: HttpRequest) -> AuditContext:
    return AuditContext(
        request_id=request_id_or_new(request.headers.get("X-Request-ID")),
        client_address=client_address(
            request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR")
        ),
        channel="http",
        path=safe_path(request.path),
    )


class AuditContextMiddleware:
    """First in MIDDLEWARE: everything after it, logins included, runs inside the context."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        context = _context(request)
        with audit_context(context):
            response: HttpResponseBase = self.get_response(request)
        response["X-Request-ID"] = context.request_id
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        context = _context(request)
        with audit_context(context):
            get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
            response = await get_response(request)
        response["X-Request-ID"] = context.request_id
        return response
