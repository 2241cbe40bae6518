"""The screens' JavaScript is ES modules, each small enough to read at once (docs/architecture.md,
"Front end"): no classic script of ours on a page, no module past the size limit, one copy of
the shared helpers, and every import resolving to a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from dispatch.assets import module_closure, module_imports

STATIC = Path(settings.BASE_DIR) / "static"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Lines per module: a module past this is doing more than one job.
MAX_LINES = 350
# The one home of each helper every screen shares.
SHARED = {
    "escapeHtml": "js/dom.js",
    "el": "js/dom.js",
    "clock": "js/dom.js",
    "readJson": "js/dom.js",
    "uuid": "js/dom.js",
    "csrfToken": "js/api.js",
    "request": "js/api.js",
    "connect": "js/socket.js",
    "Outbox": "js/outbox.js",
}
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
SRC = re.compile(r"""src=["']\{%\s*static\s+["']([^"']+)["']\s*%\}["']""")


def _ours() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*.js") if "vendor" not in p.relative_to(STATIC).parts)


def _static_name(path: Path) -> str:
    return path.relative_to(STATIC).as_posix()


def _page_scripts() -> list[tuple[str, str, str]]:
    """(template, static name, attributes) of every static script a template loads."""
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for match in SCRIPT.finditer(template.read_text()):
            src = SRC.search(match[1])
            if src:
                found.append((template.name, src[1], match[1]))
    return found


def _entries() -> list[str]:
    return sorted({name for _, name, _ in _page_scripts() if not name.startswith("vendor/")})


def test_every_script_of_ours_on_a_page_is_a_module():
    scripts = _page_scripts()
    assert scripts, "no page loads a static script: the template scan is broken"
    classic = [
        (template, name)
        for template, name, attrs in scripts
        if not name.startswith("vendor/") and 'type="module"' not in attrs
    ]
    assert classic == []


@pytest.mark.parametrize("path", _ours(), ids=_static_name)
def test_a_module_is_small_and_says_what_it_owns(path):
    text = path.read_text()
    assert text.count("\n") <= MAX_LINES, f"{_static_name(path)}: split it (limit {MAX_LINES})"
    assert text.startswith(("//", "/*")), f"{_static_name(path)}: a header comment first"


def test_the_shared_helpers_are_defined_once():
    twice = []
    for path in _ours():
        for helper, home in SHARED.items():
            if _static_name(path) != home and re.search(
                rf"^\s*(?:export\s+)?function\s+{helper}\s*\(", path.read_text(), re.MULTILINE
            ):
                twice.append((_static_name(path), helper))
    assert twice == []


def test_every_import_resolves_and_every_module_is_used_by_a_screen():
    reachable: set[str] = set()
    for entry in _entries():
        reachable.update(module_closure(entry))  # raises on an import of a missing file
    assert {_static_name(p) for p in _ours()} - reachable == set()


def test_imports_are_read_in_every_form_the_modules_use():
    assert "js/dom.js" in module_imports("js/outbox.js")
    assert "dispatch/console.js" in module_imports("dispatch/intake/locate.js")
