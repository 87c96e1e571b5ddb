"""The one place where exceptions become RFC 9457 problem+json responses."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap, Scope
from sqlalchemy.exc import DBAPIError

from app.correlation import correlation_id_for
from app.problems import PROBLEM_JSON, FieldProblem, Problem, ProblemError, problem_type
from process_apis.errors import ProcessError
from process_apis.orders.errors import OrderError
from system_apis.errors import BackendError

__all__ = ["exception_handlers", "problem_response", "response_for"]

log = logging.getLogger("isthmus.errors")

_TITLES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_error", "Request failed validation"),
    429: ("rate_limited", "Too many requests"),
    431: ("headers_too_large", "Request headers too large"),
    500: ("internal_error", "Internal server error"),
    502: ("bad_gateway", "Backend answered badly"),
    503: ("service_unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Backend did not answer in time"),
}


def problem_response(
    scope: Scope,
    status: int,
    *,
    code: str | None = None,
    title: str | None = None,
    detail: str,
    errors: list[FieldProblem] | None = None,
    backend: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    retry_after_s: float | None = None,
    order_id: str | None = None,
) -> Response[Problem]:
    default_code, default_title = _TITLES.get(status, ("error", "Error"))
    code = code or default_code
    problem = Problem(
        type=problem_type(code),
        title=title or default_title,
        status=status,
        detail=detail,
        code=code,
        correlation_id=correlation_id_for(scope),
        instance=scope.get("path"),
        errors=errors,
        backend=backend,
        retry_after_s=retry_after_s,
        order_id=order_id,
    )
    return Response(content=problem, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _pointer(key: str | None, source: str | None) -> str:
    source = getattr(source, "value", source)  # Litestar's ParamType: "query", not its repr
    if source in {"header", "query", "path", "cookie"}:
        return f"{source}:{key}"
    if not key:
        return ""
    # msgspec reports "$.lines[3].qty"; RFC 6901 wants "/lines/3/qty".
    path = key.removeprefix("$")
    path = path.replace("[", ".").replace("]", "")
    return "/" + "/".join(p for p in path.split(".") if p)


def _validation_handler(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    errors: list[FieldProblem] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            errors.append(
                FieldProblem(
                    pointer=_pointer(item.get("key"), item.get("source")),
                    detail=str(item.get("message", "")),
                )
            )
    detail = exc.detail or "The request failed validation."
    if errors:
        detail = "; ".join(f"{e.pointer or 'body'}: {e.detail}" for e in errors)[:1000]
    status = 400 if _is_malformed(exc, errors) else 422
    return problem_response(request.scope, status, detail=detail, errors=errors or None)


def _is_malformed(exc: ValidationException, errors: list[FieldProblem]) -> bool:
    # A body that is not JSON at all is a 400; JSON that breaks our schema is a 422.
    text = " ".join([exc.detail or ""] + [e.detail for e in errors]).lower()
    return "malformed" in text or "invalid json" in text or "json is malformed" in text


def _http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    headers = {k: str(v) for k, v in (exc.headers or {}).items()}
    detail = exc.detail if exc.detail and exc.detail != _TITLES.get(status, ("", ""))[1] else ""
    if status == 405:
        detail = (
            detail or f"{request.method} is not allowed here; allowed: {headers.get('allow', '')}"
        )
    elif status == 404:
        detail = detail or f"No resource at {request.url.path}"
    elif status == 413:
        detail = "The request body exceeds the configured maximum size."
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("www-authenticate", 'Bearer realm="isthmus"')
    if isinstance(exc, PermissionDeniedException):
        detail = detail or "The caller lacks the scope this operation needs."
    return problem_response(
        request.scope,
        status,
        detail=detail or _TITLES.get(status, ("", "Error"))[1],
        headers=headers,
    )


def _problem_handler(request: Request[Any, Any, Any], exc: ProblemError) -> Response[Problem]:
    return problem_response(
        request.scope,
        exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        backend=exc.backend,
        headers=exc.headers,
    )


def _process_handler(request: Request[Any, Any, Any], exc: ProcessError) -> Response[Problem]:
    errors = (
        [FieldProblem(pointer=exc.pointer, detail=exc.detail)] if exc.pointer is not None else None
    )
    return problem_response(
        request.scope, exc.status, code=exc.code, title=exc.title, detail=exc.detail, errors=errors
    )


def _order_handler(request: Request[Any, Any, Any], exc: OrderError) -> Response[Problem]:
    errors = [
        FieldProblem(
            pointer=f"/lines/{r.line_no - 1}" if r.line_no else "", detail=f"{r.code}: {r.message}"
        )
        for r in exc.reasons
    ]
    if exc.pointer is not None:
        errors.insert(0, FieldProblem(pointer=exc.pointer, detail=exc.detail))
    headers = {}
    if exc.order_id is not None:
        base = request.url.path.rsplit("/orders", 1)[0]
        headers["location"] = f"{base}/orders/{exc.order_id}"
    if exc.status == 409 and exc.order_id is None:
        headers["retry-after"] = "1"
    return problem_response(
        request.scope, exc.status, code=exc.code, title=exc.title, detail=exc.detail,
        errors=errors or None, headers=headers, order_id=exc.order_id,
    )  # fmt: skip


def _store_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # A database error, or a refused connection (the only connections routes make are to the
    # store: ERP calls raise BackendError).
    log.error("store unavailable: %s", type(exc).__name__)
    return problem_response(
        request.scope,
        503,
        code="store_unavailable",
        title="The order store is unavailable",
        detail="Nothing was accepted; retry with the same Idempotency-Key.",
        headers={"retry-after": "1"},
        retry_after_s=1,
    )


_BACKEND_STATUS = {
    "not_found": (422, "backend_not_found", "The ERP does not know this record"),
    "rejected": (422, "backend_rejected", "The ERP refused the request"),
    "auth": (502, "backend_auth_failed", "The gateway's ERP credentials were refused"),
    "rate_limited": (503, "backend_rate_limited", "The ERP is throttling requests"),
    "unavailable": (503, "backend_unavailable", "The ERP is unavailable"),
    "timeout": (504, "backend_timeout", "The ERP did not answer in time"),
    "protocol": (502, "backend_protocol_error", "The ERP answered something unreadable"),
}


def _backend_handler(request: Request[Any, Any, Any], exc: BackendError) -> Response[Problem]:
    status, code, title = _BACKEND_STATUS[exc.kind]
    log.warning(
        "backend error", extra={"vendor": exc.vendor, "kind": exc.kind, "vendor_code": exc.code}
    )
    backend = {"vendor": exc.vendor, "code": exc.code, "message": exc.message, "field": exc.field}
    headers = {}
    if exc.retry_after is not None:
        headers["retry-after"] = str(max(1, round(exc.retry_after)))
    return problem_response(
        request.scope,
        status,
        code=code,
        title=title,
        detail=exc.message,
        backend={k: v for k, v in backend.items() if v is not None},
        headers=headers,
        retry_after_s=exc.retry_after,
    )


def _internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # Log the trace for operators; tell the caller nothing about internals.
    log.error("unhandled error", exc_info=exc)
    return problem_response(
        request.scope,
        500,
        detail="An unexpected error occurred. Quote the correlation id when reporting it.",
    )


exception_handlers: ExceptionHandlersMap = {
    ValidationException: _validation_handler,
    HTTPException: _http_handler,
    ProblemError: _problem_handler,
    OrderError: _order_handler,
    ProcessError: _process_handler,
    DBAPIError: _store_handler,
    ConnectionError: _store_handler,
    BackendError: _backend_handler,
    Exception: _internal_handler,
}


def response_for(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """The problem response the exception handlers would give ``exc`` (most specific first)."""
    for cls in type(exc).__mro__:
        handler = exception_handlers.get(cls)
        if handler is not None:
            return handler(request, exc)
    return _internal_handler(request, exc)
