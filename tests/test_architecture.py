"""The layout every feature package keeps (DESIGN.md, "Architecture"), checked on the
source: small modules, HTTP only in `*_routes.py`, no ORM query in a route handler, and
import-linter contracts that name every route module (so a new one is covered too)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ["people", "events", "registrations", "campaigns", "evaluations", "reports"]
QUERY_METHODS = {"filter", "get", "get_or_none", "all", "exists", "create", "count", "first"}
MAX_LINES = 600


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).glob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _route_modules(package: str) -> list[str]:
    base = ".".join(package.split("/"))
    return [f"{base}.{p.stem}" for p in sorted((ROOT / package).glob("*_routes.py"))]


@pytest.mark.parametrize("package", FEATURES)
def test_no_module_over_600_lines(package):
    long = {
        p.name: n
        for p in _modules(package)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize("package", FEATURES)
def test_http_lives_only_in_route_modules(package):
    """Domain modules import neither starlette nor the templates nor any route module."""
    offenders = {}
    for path in _modules(package):
        if path.name.endswith("_routes.py"):
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            bad = [
                n
                for n in names
                if n.startswith(("starlette", "core.templating")) or n.endswith("_routes")
            ]
            if bad:
                offenders[path.name] = bad
    assert offenders == {}


@pytest.mark.parametrize("package", FEATURES)
def test_route_handlers_run_no_orm_query(package):
    """Queries belong to the domain modules; a route module calls them."""
    found = []
    for path in _modules(package):
        if not path.name.endswith("_routes.py"):
            continue
        tree = _tree(path)
        models = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith(".models")
            for alias in node.names
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target = node.func.value
            if node.func.attr == "fetch_related" or (
                node.func.attr in QUERY_METHODS
                and isinstance(target, ast.Name)
                and target.id in models
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_import_contracts_name_every_route_module():
    """Each package's contract forbids every route module of the packages below it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    forbidden = {
        source: set(c["forbidden_modules"])
        for c in contracts
        if c["type"] == "forbidden"
        for source in c["source_modules"]
    }
    below = {
        "people": ["core", "core/mail"],
        "events": ["core", "core/mail", "people"],
        "registrations": ["core", "core/mail", "people", "events"],
        "campaigns": ["core", "core/mail", "people", "events", "registrations"],
        "evaluations": ["core", "core/mail", "people", "events", "registrations", "campaigns"],
        "reports": [
            "core",
            "core/mail",
            "people",
            "events",
            "registrations",
            "campaigns",
            "evaluations",
        ],
    }
    missing = {
        source: sorted(
            m for pkg in packages for m in _route_modules(pkg) if m not in forbidden[source]
        )
        for source, packages in below.items()
    }
    assert missing == {source: [] for source in below}
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    assert layers == [
        "reports",
        "evaluations",
        "campaigns",
        "registrations",
        "events",
        "people",
        "core",
    ]
    assert forbidden["core"] >= set(FEATURES)
