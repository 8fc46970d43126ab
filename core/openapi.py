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
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`other_responses`: further successful answers, {status: (description, schema)}."""

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
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{([^}:]+)(?::[^}]+)?}", path)
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
                    "required": True,
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
