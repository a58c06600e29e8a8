"""RFC 9457 problem details for every error a service or the gateway returns.

Business code raises a typed `Problem` subclass; `install_problem_handlers` maps it, FastAPI's
validation errors, Starlette's HTTP errors (404 for unknown routes, 405) and anything unexpected to
`application/problem+json`. Validation problems carry one entry per bad field in `errors`.

An unexpected exception is answered by `UnexpectedErrorMiddleware`, not by Starlette's
`ServerErrorMiddleware`: the latter re-raises after answering, and uvicorn then closes the
connection, so a caller's 500 would make the gateway's next request on that pooled connection fail.
Answered and swallowed inside, the 500 leaves the connection open for keep-alive.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability import request_id_var

__all__ = [
    "PROBLEM_JSON",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "Gone",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Problem",
    "ServiceUnavailable",
    "Unauthorized",
    "UnexpectedErrorMiddleware",
    "UnprocessableContent",
    "install_problem_handlers",
    "invalid",
    "invalid_field",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ewtp.errors")

FieldError = dict[str, str]


class Problem(Exception):
    """An error with an HTTP status, rendered as problem+json."""

    status: int = 500
    title: str = "Internal Server Error"
    slug: str = "internal"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers
        self.extra = extra

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://errors.ewtp.rw/{self.slug}",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(Problem):
    status, title, slug = 400, "Bad Request", "bad-request"


class Unauthorized(Problem):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(Problem):
    status, title, slug = 404, "Not Found", "not-found"


class MethodNotAllowed(Problem):
    status, title, slug = 405, "Method Not Allowed", "method-not-allowed"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class Gone(Problem):
    status, title, slug = 410, "Gone", "gone"


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition Failed", "precondition-failed"


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Content Too Large", "payload-too-large"


class UnprocessableContent(Problem):
    status, title, slug = 422, "Unprocessable Content", "validation"


def invalid(errors: Sequence[FieldError]) -> UnprocessableContent:
    """The 422 for field errors a service finds past schema validation (a rule across fields, a lookup).

    The same shape `validation_problem` gives a schema error, so a client reads every 422 one way:
    `Invalid fields: a, b.` (each field named once) and `errors: [{"field", "reason"}, ...]`.
    Usage: `raise invalid([{"field": "currency", "reason": "no rate is configured"}])`.
    """
    names = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return UnprocessableContent(f"Invalid fields: {names}.", errors=list(errors))


def invalid_field(field: str, reason: str) -> UnprocessableContent:
    """`invalid` for one field. Usage: `raise invalid_field("reason", "required to reject")`."""
    return invalid([{"field": field, "reason": reason}])


class ServiceUnavailable(Problem):
    status, title, slug = 503, "Service Unavailable", "unavailable"


_BY_STATUS: dict[int, type[Problem]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        Gone,
        PreconditionFailed,
        PayloadTooLarge,
        UnprocessableContent,
        ServiceUnavailable,
    )
}


_SURROGATE = re.compile("[\ud800-\udfff]")


def _printable(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD, so the problem itself can be encoded.

    A field name comes from the request (an unknown key, an attribute name); a JSON body can carry
    `"\\ud800"` there, and orjson refuses to encode it: the 422 would have become a 500.
    """
    return _SURROGATE.sub("\ufffd", text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _printable(value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _encode(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:  # a lone surrogate echoed from the request, in a detail or extra
        return orjson.dumps(_scrub(body))


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    return Response(
        _encode(problem.to_dict(instance)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field_name(loc: Sequence[Any]) -> str:
    """`("body", "contact", "email")` → `contact.email`; query and path parameters keep their name."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> Problem:
    raw = exc.errors()
    if any(err.get("type") == "json_invalid" for err in raw):
        return BadRequest("The request body is not valid JSON.")
    errors: list[FieldError] = []
    for err in raw:
        entry = {
            "field": _printable(_field_name(err.get("loc", ()))),
            "reason": _printable(str(err.get("msg", "invalid"))),
        }
        if entry not in errors:
            errors.append(entry)
    return invalid(errors)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request.url.path)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_problem(exc), request.url.path)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    cls = _BY_STATUS.get(exc.status_code, Problem)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != cls.title else None
    if exc.status_code == 404 and detail in (None, "Not Found"):
        detail = f"No route for {request.method} {request.url.path}."
    problem = cls(detail, headers=dict(exc.headers) if exc.headers else None)
    if cls is Problem:
        problem.status = exc.status_code
    return problem_response(problem, request.url.path)


async def _on_database_unavailable(request: Request, exc: Exception) -> Response:
    """The database is down, locked past the busy timeout, or the pool is exhausted: retryable, not a bug."""
    log.warning("database unavailable: %r", exc)
    problem = ServiceUnavailable("The service's database is unavailable; retry shortly.", headers={"retry-after": "1"})
    return problem_response(problem, request.url.path)


def _unexpected() -> Problem:
    problem = Problem("An unexpected error occurred.")
    request_id = request_id_var.get()
    if request_id:  # the one handle a caller can give us to find the logged traceback
        problem.extra["request_id"] = request_id
    return problem


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    """Last resort, for a crash outside `UnexpectedErrorMiddleware` (the connection is then closed)."""
    log.exception("unhandled error", exc_info=exc)
    return problem_response(_unexpected(), request.url.path)


class UnexpectedErrorMiddleware:
    """Turns an unexpected exception into a 500 problem (with the request id) and swallows it.

    Swallowing is the point: an exception that reaches the server makes uvicorn close the
    connection even after a complete response. If the response had already started, nothing can be
    said any more; the exception goes on and the server cuts the connection, so a truncated body
    never looks complete.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            log.exception("unhandled error", exc_info=exc)
            await problem_response(_unexpected(), scope["path"])(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    for transient in (OperationalError, InterfaceError, PoolTimeoutError):
        app.add_exception_handler(transient, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
    # Added first, so innermost of the user middleware: inside the layers that set the request id.
    app.add_middleware(UnexpectedErrorMiddleware)
