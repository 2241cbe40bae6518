"""The direction of imports between apps (docs/architecture.md) holds in the code.

Every project module (migrations aside) is parsed with `ast`; each import of another app,
at module level or inside a function, is an edge from the importing module's unit to the
imported one's. An edge the allowed graph below does not list fails, and so does an import
cycle between units. The allowed graph is the target layout, in which `config/` holds
configuration only.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Units: the apps, with config/ split into its two kinds. "config" is the composition root
# (settings, urls, asgi/wsgi, celery, management commands that wire apps together): it may
# import any app and nothing imports it. "config.base" is the shared plumbing every app may
# use (env parsing, the API's base helpers and error mapping, fields, middleware, the
# WebSocket origin and auth checks, admin base classes).
CONFIG_BASE = {
    "config.api",
    "config.env",
    "config.fields",
    "config.middleware",
    "config.ws_auth",
    "config.ws_origin",
    "config.admin",
    "config.celery",
    "config.aio",
    "config.sql",
}

# The allowed graph: unit -> the units it may import. Keep in step with the table in
# docs/architecture.md ("Who may import whom").
ALLOWED: dict[str, set[str]] = {
    "device_client": set(),
    "scripts": set(),
    "config.base": {"accounts", "audit", "dispatch", "handoff", "routing"},
    "audit": {"config.base"},
    "accounts": {"audit", "config.base"},
    "realtime": {"accounts", "audit", "config.base"},
    "outbox": {"realtime", "accounts", "audit", "config.base"},
    # Health, the scheduler, heartbeats and `manage.py serve`: they look at every part.
    "ops": {
        "outbox",
        "realtime",
        "routing",
        "accounts",
        "audit",
        "config.base",
        "dispatch",
        "demo",
    },
    # The demo region: data for every app, imported by nobody but its command and tests.
    "demo": {"dispatch", "handoff", "routing", "accounts", "audit", "config.base"},
    "routing": {"config.base"},
    "dispatch": {
        "realtime",
        "outbox",
        "routing",
        "accounts",
        "audit",
        "config.base",
        "device_client",
    },
    "handoff": {"dispatch", "realtime", "outbox", "routing", "accounts", "audit", "config.base"},
    # Messages between deployments: builds on handoff's records and dispatch's incidents.
    "exchange": {
        "handoff",
        "dispatch",
        "realtime",
        "outbox",
        "accounts",
        "audit",
        "config.base",
    },
    "config": {
        "config.base",
        "ops",
        "demo",
        "accounts",
        "audit",
        "realtime",
        "outbox",
        "routing",
        "dispatch",
        "handoff",
        "exchange",
    },
    "bench": {
        "config.base",
        "accounts",
        "audit",
        "realtime",
        "outbox",
        "routing",
        "dispatch",
        "handoff",
        "scripts",
        "device_client",
    },
}
# config.base is plumbing, but its error mapping (config.api) names the domain errors of
# dispatch, handoff and routing, and ws_auth/admin call accounts and audit: those upward
# edges are why config.base is not below every app in the cycle check. They are allowed
# only from these modules, not from config.base at large.
CONFIG_BASE_UPWARD = {
    ("config.api", "accounts"),
    ("config.api", "dispatch"),
    ("config.api", "handoff"),
    ("config.api", "routing"),
    ("config.ws_auth", "accounts"),
    ("config.admin", "audit"),
}

# Modules of config/ whose imports are not checked: none since the platform moved out of
# config/ into realtime/, outbox/, ops/ and demo/. Kept for a module in transit.
TEMPORARY_PLATFORM_IN_CONFIG: set[str] = set()

APPS = set(ALLOWED) - {"config.base"} | {"config"}
SKIP_PARTS = {"migrations", "__pycache__", ".venv", "node_modules"}


def _unit(module: str) -> str | None:
    top = module.split(".")[0]
    if top not in APPS:
        return None
    if top == "config":
        for base in CONFIG_BASE:
            if module == base or module.startswith(base + "."):
                return "config.base"
    return top


def _modules() -> dict[str, Path]:
    out = {}
    for app in sorted(APPS):
        base = ROOT / app
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            if SKIP_PARTS & set(path.relative_to(ROOT).parts):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _temporary(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in TEMPORARY_PLATFORM_IN_CONFIG)


def _imports(module: str, path: Path, modules: set[str]) -> set[str]:
    """Absolute names `module` imports (relative imports resolved): for `from a import b`,
    a.b when that is a module of the project, else a."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                names.add(sub if sub in modules else base)
    return names


def _edges() -> set[tuple[str, str, str]]:
    """(importing module, its unit, imported unit) for every import across units; an
    import of a temporary platform module gives that module instead of a unit."""
    modules = _modules()
    found = set()
    for module, path in modules.items():
        src = _unit(module)
        if src is None:
            continue
        for name in _imports(module, path, set(modules)):
            dst = _unit(name)
            if dst is None or dst == src:
                continue
            found.add((module, src, name if _temporary(name) else dst))
    return found


def _checked(edges: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """The edges the direction applies to: not from or to the temporary platform modules."""
    return {e for e in edges if not _temporary(e[0]) and not _temporary(e[2])}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as its nodes in order, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _violations(edges: set[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """(module, imported unit) of every checked edge the allowed graph does not list."""
    bad = set()
    for module, src, dst in _checked(edges):
        allowed = dst in ALLOWED[src]
        if src == "config.base":
            allowed = any(
                dst == d and (module == m or module.startswith(m + "."))
                for m, d in CONFIG_BASE_UPWARD
            )
        if not allowed:
            bad.add((module, dst))
    return bad


def test_every_import_between_apps_goes_the_stated_direction() -> None:
    edges = _edges()
    assert len(_checked(edges)) > 50  # the walk saw the project, not an empty tree
    assert _violations(edges) == set()


def test_the_temporary_exceptions_are_still_needed() -> None:
    # A module in transit that no longer exists is removed, so the list only shrinks.
    present = set(_modules())
    assert {m for m in TEMPORARY_PLATFORM_IN_CONFIG if m not in present} == set()


def test_no_import_cycle_between_apps() -> None:
    # config.base's few upward edges (domain errors, auth) are calls from plumbing into
    # an app's published errors and services, not the app depending on config: the cycle
    # check is over the apps and the composition root.
    graph: dict[str, set[str]] = {}
    for _module, src, dst in _checked(_edges()):
        if "config.base" in (src, dst):
            continue
        graph.setdefault(src, set()).add(dst)
    assert _cycle(graph) is None


def test_the_allowed_graph_has_no_cycle_between_apps() -> None:
    graph = {u: {d for d in ds if d != "config.base"} for u, ds in ALLOWED.items()}
    graph.pop("config.base")
    assert _cycle(graph) is None


def test_the_checks_catch_a_wrong_import_and_a_cycle() -> None:
    # The checks can fail: routing importing dispatch goes against the direction, and
    # accounts <-> audit is a cycle.
    assert _violations({("routing.services", "routing", "dispatch")}) == {
        ("routing.services", "dispatch")
    }
    assert _cycle({"accounts": {"audit"}, "audit": {"accounts"}}) == [
        "accounts",
        "audit",
        "accounts",
    ]
