"""The registrations package's layout: domain modules named after their rule, no HTTP in
them, and no module over 600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "registrations"
DOMAIN = [
    "access",
    "actions",
    "answers",
    "capacity",
    "exports",
    "labels",
    "listing",
    "manage_links",
    "models",
    "notices",
    "opening",
    "questions",
    "receivers",
    "schemas",
    "service",
    "tickets",
]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


# The check-in modules (checkin*.py, tablet.py) have their own layout work.
ROUTES = ["admin_routes", "api_routes", "public_routes", "question_routes"]


def test_no_module_over_600_lines():
    for path in (PACKAGE / f"{name}.py" for name in DOMAIN + ROUTES):
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 600, f"{path.name}: {lines} lines"


def test_no_admin_module_for_domain_code():
    assert not (PACKAGE / "admin.py").exists()
    assert not (PACKAGE / "routes.py").exists()


def test_domain_modules_hold_no_http():
    for name in DOMAIN:
        imported = _imports(PACKAGE / f"{name}.py")
        http = {m for m in imported if m.startswith(("starlette", "core.templating"))}
        routes = {m for m in imported if m.endswith("_routes") or "_routes." in m}
        assert not http and not routes, f"{name}.py imports {sorted(http | routes)}"


def test_only_capacity_changes_the_seat_counter():
    for path in PACKAGE.glob("*.py"):
        if path.name == "capacity.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert 'F("seats_taken")' not in text and "SET seats_taken" not in text, path.name
