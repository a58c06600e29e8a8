"""Problem responses in every OpenAPI operation, so generated clients and fuzzers see every status.

FastAPI documents only what a route returns on success and its 422. Every error here is RFC 9457
problem+json (`shared.errors`), and which statuses an operation can answer follows from what it is:

- every operation but the health probes: 401 (no valid signed identity / API key), 403 (role), 429 (rate limit at the
  gateway), 503 (database or broker unavailable);
- a path parameter: 404 (no such resource, or another owner's);
- a query parameter or a request body: 400 (malformed JSON, a cursor we did not issue);
- a request body: 413 (past the body limit), and 422 in problem form (FastAPI's own 422 schema
  describes a body we never send);
- a write (POST, PUT, PATCH, DELETE): 409 (state conflict, idempotency key in flight);
- an `If-Match` header: 412.

The document is derived from the operation itself (parameters, body, method), so a new route is
described without anyone remembering to.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from shared.auth import UNSIGNED_PATHS
from shared.errors import PROBLEM_JSON

__all__ = ["PROBLEM_SCHEMA", "add_problem_responses", "problem_statuses"]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    503: "Service Unavailable",
}
_WRITES = frozenset({"post", "put", "patch", "delete"})
_METHODS = frozenset({"get", "head", "options", "post", "put", "patch", "delete", "trace"})
_REF = {"$ref": "#/components/schemas/Problem"}


def problem_statuses(method: str, operation: dict[str, Any], *, public: bool = False) -> list[int]:
    """The problem statuses an operation can answer, from its method, parameters and body.

    `public` operations (health probes) run without identity or rate limit: only 503 applies.
    """
    if public:
        return [503]
    params = operation.get("parameters", [])
    where = {p.get("in") for p in params}
    headers = {str(p.get("name", "")).lower() for p in params if p.get("in") == "header"}
    has_body = "requestBody" in operation
    statuses = {401, 403, 429, 503}
    if "path" in where:
        statuses.add(404)
    if "query" in where or has_body:
        statuses.add(400)
    if has_body:
        statuses |= {413, 422}
    if "path" in where or "query" in where or "header" in where:
        statuses.add(422)
    if method in _WRITES:
        statuses.add(409)
    if "if-match" in headers:
        statuses.add(412)
    return sorted(statuses)


def _decorate(document: dict[str, Any]) -> None:
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in problem_statuses(method, operation, public=path in UNSIGNED_PATHS):
                existing = responses.get(str(status))
                description = existing.get("description", _DESCRIPTIONS[status]) if existing else _DESCRIPTIONS[status]
                # A declared 422 is FastAPI's `HTTPValidationError`, which we never send: replaced.
                responses[str(status)] = {"description": description, "content": {PROBLEM_JSON: {"schema": _REF}}}


def add_problem_responses(app: FastAPI) -> None:
    """Make `app.openapi()` declare the problem responses of every operation (see module docstring)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _decorate(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
