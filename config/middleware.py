"""Responses that may hold patient data are never stored by a browser or a proxy."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on every response of a view (API, screens, exports)
    that did not set its own Cache-Control.

    Static files are served by WhiteNoise before this runs and keep their long cache; a view
    of reference data (the road geometry) says how long it may be kept; every other answer may
    carry patient data, or a page that shows it, and a shared tablet's cache or a proxy must
    not keep it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        add_never_cache_headers(response)
        patch_cache_control(response, private=True, no_store=True)
        return response
