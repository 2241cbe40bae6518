"""The static files a screen needs, derived from its ES modules' imports.

The screens' JavaScript is ES modules loaded with `<script type="module">` and no build
step; a module names the modules it needs with relative `import ... from "./x.js"`. The
crew tablet's service worker must precache every one of them (an offline reload fetches
nothing), so the list is read from the modules themselves rather than kept by hand.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from django.contrib.staticfiles import finders

# `import {a} from "./x.js"`, `import "./x.js"`, `export {a} from "./x.js"` (static imports;
# the screens use no dynamic import()).
_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^"';]*?(?:\bfrom\s*)?["'](?P<path>\.{1,2}/[^"']+)["']""",
    re.MULTILINE,
)


def module_imports(name: str) -> list[str]:
    """The static names of the modules that the module `name` imports directly.

    `name` is a static name ("dispatch/tablet.js"); a missing file raises FileNotFoundError.
    """
    path = finders.find(name)
    if not path:
        raise FileNotFoundError(f"static module {name!r} not found")
    source = Path(str(path)).read_text(encoding="utf-8")
    base = posixpath.dirname(name)
    return [
        posixpath.normpath(posixpath.join(base, match["path"]))
        for match in _IMPORT.finditer(source)
    ]


def module_closure(entry: str) -> list[str]:
    """`entry` and every module it imports, directly or not: each once, the entry first."""
    seen: list[str] = []
    pending = [entry]
    while pending:
        name = pending.pop(0)
        if name in seen:
            continue
        seen.append(name)
        pending.extend(module_imports(name))
    return seen
