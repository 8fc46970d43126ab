"""The events package's shape: small files, HTTP only in `*_routes.py`, no queries there."""

import ast
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[2] / "events"
QUERY_METHODS = {"filter", "get", "get_or_none", "all", "exists", "create", "fetch_related"}
MODELS = {"Event", "EventPartner", "ActivitySubmission", "Territory", "Clientele"}


def _modules() -> list[Path]:
    return sorted(p for p in EVENTS.glob("*.py"))


def test_no_file_over_600_lines():
    long = {p.name: n for p in _modules() if (n := len(p.read_text().splitlines())) >= 600}
    assert long == {}


def test_only_route_modules_import_starlette():
    http = {
        p.name
        for p in _modules()
        if any(
            isinstance(node, ast.ImportFrom) and (node.module or "").startswith("starlette")
            for node in ast.walk(ast.parse(p.read_text()))
        )
    }
    assert http and all(name.endswith("_routes.py") for name in http)


def test_route_modules_run_no_orm_query():
    found = []
    for path in _modules():
        if not path.name.endswith("_routes.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in QUERY_METHODS
                and (
                    node.func.attr == "fetch_related"
                    or (isinstance(node.func.value, ast.Name) and node.func.value.id in MODELS)
                )
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
