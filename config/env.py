"""Typed readers for the environment: the only source of configuration.

Every reader names the variable in its error, so a bad deployment stops at start-up with a
message an operator can act on instead of failing later inside a request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvError(ImproperlyConfigured):
    """A configuration variable is missing or malformed."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        super().__init__(f"Environment variable {name}: {reason}")


class Env:
    """Reads variables from a mapping (os.environ by default) with typed defaults."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None:
            return None
        return value.strip()

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.raw(name)
        if value is None or value == "":
            if required or default is None:
                raise EnvError(name, "is required but not set")
            return default
        return value

    def optional_str(self, name: str) -> str | None:
        value = self.raw(name)
        return value or None

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise EnvError(name, f"expected one of 1/0, true/false, yes/no, on/off, got {value!r}")

    def integer(
        self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise EnvError(name, f"expected an integer, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise EnvError(name, f"must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise EnvError(name, f"must be at most {maximum}, got {number}")
        return number

    def number(self, name: str, default: float, *, minimum: float | None = None) -> float:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            number = float(value)
        except ValueError:
            raise EnvError(name, f"expected a number, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise EnvError(name, f"must be at least {minimum}, got {number}")
        return number

    def items(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default)
        items = [item.strip() for item in value.split(",")]
        if any(not item for item in items):
            raise EnvError(
                name, f"expected a comma-separated list without empty items, got {value!r}"
            )
        return items

    def url(self, name: str, *, schemes: tuple[str, ...]) -> str | None:
        """An optional URL whose scheme must be one of `schemes`."""
        value = self.optional_str(name)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            raise EnvError(
                name, f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        if parts.scheme != "unix" and not parts.hostname:
            raise EnvError(name, "the URL has no host")
        try:
            parts.port  # noqa: B018 - urlsplit only validates the port when it is read
        except ValueError:
            raise EnvError(name, "the URL has an invalid port") from None
        return value

    def path(self, name: str, default: Path) -> Path:
        value = self.optional_str(name)
        return Path(value).expanduser() if value else default
