"""Calls the browser tests make to their live server as a device would (a token, JSON),
outside the page, so that what the server then streams reaches the screen under test."""

from __future__ import annotations

import json
import urllib.request


def post_json(base_url: str, path: str, token: str, body: dict, *, scheme: str = "Token") -> dict:
    """POST `body` to the live server with a device token (or, with `scheme="Bearer"`, a
    system's token such as a centre's telephony token); the parsed JSON answer."""
    request = urllib.request.Request(  # noqa: S310  (the test's own live server, http only)
        base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"{scheme} {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())
