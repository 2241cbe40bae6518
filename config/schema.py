"""OpenAPI generation: every operation documents the errors it can really answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

# Errors name the field they concern: {"<field>": ["message"], "code": "..."} or {"detail": "..."}.
ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "description": 'An error: {"<field>": ["why"], "code": "..."} or {"detail": "why"}.',
}

COMMON_ERRORS = {
    "400": "Invalid input; the body names the field and the reason",
    "401": "Not authenticated",
    "403": "Not allowed for this user, or not theirs",
    "404": "No such object (or not visible to this user)",
    "429": "Too many requests",
}
WRITE_ERRORS = {
    "409": "Conflicts with the current state; the body names it",
    "415": "The body's media type is not accepted, or its multipart framing is broken",
}
ROUTING_ERRORS = {
    "422": "No road route between the points",
    "503": "No road map is built yet",
}


class GoldenHourAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error answers the exception handler gives."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:  # type: ignore[override]
        responses: dict[str, Any] = super()._get_response_bodies(direction=direction)  # type: ignore[arg-type]
        if direction != "response":
            return responses
        errors = dict(COMMON_ERRORS)
        if self.method in {"POST", "PUT", "PATCH", "DELETE"}:
            errors.update(WRITE_ERRORS)
        if "/routing/" in self.path or "/recommendations/" in self.path or "/geocode" in self.path:
            errors.update(ROUTING_ERRORS)
        for code, description in errors.items():
            responses.setdefault(
                code,
                {
                    "description": description,
                    "content": {"application/json": {"schema": ERROR_BODY}},
                },
            )
        return responses
