"""The OpenAPI document at /api/v1/openapi.json, built from the routes themselves.

An API endpoint declares itself with `@api_doc(...)`; the document lists every route of
the app that carries such a declaration, with its pydantic request/response schemas.
Later packages only decorate their endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from starlette.routing import BaseRoute, Mount, Route

from core.inputs import INT32_MAX
from core.paging import MAX_PAGE

# Path parameters `{name:int}` match 0..2**31-1 only (core.inputs); others are a 404.
PATH_INT_SCHEMA = {"type": "integer", "minimum": 0, "maximum": INT32_MAX}
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": INT32_MAX}
# An id filter of a query string: an id, or empty (a form's blank choice: no filter).
ID_QUERY_SCHEMA = {"anyOf": [ID_SCHEMA, {"type": "string", "maxLength": 0}]}
# A date filter of a query string: YYYY-MM-DD, or empty (a form's blank field: no filter).
DATE_QUERY_SCHEMA = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]
}


def choice_query_schema(values: list[str]) -> dict[str, Any]:
    """A query filter with a fixed set of values; empty (a form's blank choice) = none."""
    return {"type": "string", "enum": [*values, ""]}


def query_param(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def page_params(max_per_page: int, default: int = 50) -> list[dict[str, Any]]:
    """`page` and `per_page` as the list endpoints read them (core.http.int_query_param)."""
    return [
        query_param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "page"),
        query_param(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": max_per_page},
            f"taille de page ({default} par défaut)",
        ),
    ]


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def api_doc(
    *,
    summary: str,
    tags: list[str],
    request: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    response_status: int = 200,
    auth: str = "staff",  # "public", "staff", "device"
    params: list[dict[str, Any]] | None = None,
    errors: list[int] | None = None,
    request_content: dict[str, Any] | None = None,
    response_content: dict[str, Any] | None = None,
    description: str | None = None,
    other_responses: dict[int, tuple[str, type[BaseModel]]] | None = None,
    request_required: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`other_responses`: further successful answers, {status: (description, schema)};
    `request_required=False`: an empty body means every field's default."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__openapi__ = {  # type: ignore[attr-defined]
            "summary": summary,
            "description": description,
            "tags": tags,
            "request": request,
            "response": response,
            "response_status": response_status,
            "auth": auth,
            "params": params or [],
            "errors": errors or [],
            "request_content": request_content,
            "response_content": response_content,
            "other_responses": other_responses or {},
            "request_required": request_required,
        }
        return func

    return decorator


def _walk(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, Route]]:
    found: list[tuple[str, Route]] = []
    for route in routes:
        if isinstance(route, Mount):
            found.extend(_walk(list(route.routes), prefix + route.path))
        elif isinstance(route, Route):
            found.append((prefix + route.path, route))
    return found


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_openapi(routes: list[BaseRoute], base_url: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for path, route in _walk(routes):
        doc = getattr(route.endpoint, "__openapi__", None)
        if doc is None:
            continue
        methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": dict(PATH_INT_SCHEMA) if kind == ":int" else {"type": "string"},
            }
            for name, kind in re.findall(r"{([^}:]+)(:[^}]+)?}", path)
        ]
        clean_path = re.sub(r"{([^}:]+):[^}]+}", r"{\1}", path)
        for method in methods:
            op: dict[str, Any] = {
                "summary": doc["summary"],
                "tags": doc["tags"],
                "operationId": f"{method.lower()}_{route.name}",
                "parameters": params + doc["params"],
                "responses": {},
            }
            if doc.get("description"):
                op["description"] = doc["description"]
            if doc["auth"] != "public":
                op["security"] = [{"bearerAuth": []}]
            if doc["request"] is not None:
                op["requestBody"] = {
                    "required": doc["request_required"],
                    "content": {
                        "application/json": {"schema": _schema_ref(doc["request"], components)}
                    },
                }
            elif doc["request_content"] is not None:
                op["requestBody"] = {"required": True, "content": doc["request_content"]}
            ok: dict[str, Any] = {"description": "OK"}
            if doc["response"] is not None:
                ok["content"] = {
                    "application/json": {"schema": _schema_ref(doc["response"], components)}
                }
            elif doc["response_content"] is not None:
                ok["content"] = doc["response_content"]
            op["responses"][str(doc["response_status"])] = ok
            for status, (text, model) in doc.get("other_responses", {}).items():
                op["responses"][str(status)] = {
                    "description": text,
                    "content": {"application/json": {"schema": _schema_ref(model, components)}},
                }
            error_codes = set(doc["errors"])
            if doc["auth"] != "public":
                error_codes |= {401, 403}
            if doc["request"] is not None or doc["request_content"] is not None:
                error_codes |= {413, 415, 422}
            for code in sorted(error_codes):
                op["responses"][str(code)] = {
                    "description": "Erreur",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            # Any other 4xx answer has the same error shape (pages and feeds answer in
            # text/plain or HTML for people, hence those content types).
            default_content: dict[str, Any] = {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
            }
            if (
                doc["response_content"] is not None
                and "application/json" not in (doc["response_content"])
            ):
                default_content["text/plain"] = {"schema": {"type": "string"}}
                default_content["text/html"] = {"schema": {"type": "string"}}
            op["responses"]["default"] = {
                "description": 'Erreur : {"error": {"code", "message", "fields"}}',
                "content": default_content,
            }
            paths.setdefault(clean_path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rassembleur API",
            "version": "1",
            "description": "Événements et mobilisation des instances régionales de concertation.",
        },
        "servers": [{"url": base_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
