"""``/ops/v1/exceptions``: the exception queue for people and their tools.

Scopes: ``exceptions:view`` to list, filter and read (and the audit log); ``exceptions:act``
to retry, replay an edited payload, discard, assign, tag, comment and act in bulk. Every
action is recorded in the audit log under the caller's client name and correlation id.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Body, PathParameter, QueryParameter

from app.correlation import current_correlation_id
from app.ops.exception_models import (
    AssignRequest,
    AuditEntryView,
    BulkRequest,
    BulkResultView,
    CommentRequest,
    DiscardRequest,
    ExceptionDetailView,
    ExceptionPage,
    ExceptionView,
    FilterBody,
    ReplayRequest,
    RetryRequest,
    Status,
    TagRequest,
    audit_view,
    detail_view,
    exception_view,
    ops_problems,
)
from app.problems import ProblemError
from app.security import (
    EXCEPTIONS_ACT,
    EXCEPTIONS_VIEW,
    Caller,
    requires,
    security_requirements,
)
from app.services import Services
from process_apis.exceptions import BulkResult, ExceptionQueue

__all__ = ["ExceptionsController", "actor_of", "queue_of"]

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


def queue_of(services: Services) -> ExceptionQueue:
    queue = services.exceptions
    if queue is None:
        raise ProblemError(
            503, "store_not_configured", "No store",
            "The exception queue needs the durable store; this gateway runs without one.",
        )  # fmt: skip
    return queue


def actor_of(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    return user.client if isinstance(user, Caller) else "unknown"


def _bulk_view(result: BulkResult) -> BulkResultView:
    return BulkResultView(matched=result.matched, done=result.done, skipped=result.skipped)


class ExceptionsController(Controller):
    path = "/ops/v1/exceptions"
    tags = ["ops: exceptions"]

    @get(
        "/",
        summary="List and filter the exception queue (newest activity first)",
        operation_id="opsListExceptions",
        opt=requires(EXCEPTIONS_VIEW),
        security=security_requirements(EXCEPTIONS_VIEW),
        responses=ops_problems(400, 401, 403, 404, 422, 429, 431, 503),
    )
    async def list_exceptions(  # noqa: PLR0917 - one parameter per filter
        self,
        services: NamedDependency[Services],
        flow: Annotated[list[str] | None, QueryParameter(max_items=20)] = None,
        category: Annotated[list[str] | None, QueryParameter(max_items=20)] = None,
        status: Annotated[list[Status] | None, QueryParameter(max_items=5)] = None,
        system: Annotated[str | None, QueryParameter(max_length=80)] = None,
        salesforce_id: Annotated[
            str | None, QueryParameter(name="salesforceId", pattern=r"^[A-Za-z0-9]{15,18}$")
        ] = None,
        erp_document: Annotated[
            str | None, QueryParameter(name="erpDocument", max_length=80)
        ] = None,
        subject_id: Annotated[str | None, QueryParameter(name="subjectId", max_length=80)] = None,
        assignee: Annotated[str | None, QueryParameter(max_length=80)] = None,
        unassigned: Annotated[bool, QueryParameter()] = False,
        tag: Annotated[str | None, QueryParameter(max_length=40)] = None,
        q: Annotated[str | None, QueryParameter(max_length=200, description="text search")] = None,
        older_than_minutes: Annotated[
            int | None, QueryParameter(name="olderThanMinutes", ge=0, le=5_256_000)
        ] = None,
        newer_than_minutes: Annotated[
            int | None, QueryParameter(name="newerThanMinutes", ge=0, le=5_256_000)
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> ExceptionPage:
        queue = queue_of(services)
        body = FilterBody(
            flow=flow or [], category=category or [], status=status or [], system=system,
            salesforce_id=salesforce_id, erp_document=erp_document, subject_id=subject_id,
            assignee=assignee, unassigned=unassigned, tag=tag, q=q,
            older_than_minutes=older_than_minutes, newer_than_minutes=newer_than_minutes,
        )  # fmt: skip
        page = await queue.search(body.to_filter(queue.clock.now()), limit=limit, offset=offset)
        return ExceptionPage(
            items=[exception_view(r, queue.redactor) for r in page.items],
            total=page.total, limit=limit, offset=offset,
        )  # fmt: skip

    @get(
        "/{failure_id:int}",
        summary="One record with its audit trail, comments and the business record's timeline",
        operation_id="opsGetException",
        opt=requires(EXCEPTIONS_VIEW),
        security=security_requirements(EXCEPTIONS_VIEW),
        responses=ops_problems(400, 401, 403, 404, 422, 429, 431, 503),
    )
    async def get_exception(
        self, services: NamedDependency[Services], failure_id: Id
    ) -> ExceptionDetailView:
        queue = queue_of(services)
        return detail_view(await queue.detail(failure_id), queue.redactor)

    @post(
        "/{failure_id:int}/retry",
        status_code=200,
        summary="Send the work again as it is, through its flow's idempotent path",
        operation_id="opsRetryException",
        opt=requires(EXCEPTIONS_ACT),
        security=security_requirements(EXCEPTIONS_ACT),
        responses=ops_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503),
    )
    async def retry(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        failure_id: Id,
        data: Annotated[RetryRequest | None, Body()] = None,
    ) -> ExceptionView:
        queue = queue_of(services)
        record = await queue.retry(
            failure_id, actor=actor_of(request), correlation_id=current_correlation_id(),
            reason=data.reason if data else None,
        )  # fmt: skip
        return exception_view(record, queue.redactor)

    @post(
        "/{failure_id:int}/replay",
        status_code=200,
        summary="Replace the payload and send it again (an order keeps its external reference)",
        operation_id="opsReplayException",
        opt=requires(EXCEPTIONS_ACT),
        security=security_requirements(EXCEPTIONS_ACT),
        responses=ops_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503),
    )
    async def replay(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        failure_id: Id,
        data: Annotated[ReplayRequest, Body()],
    ) -> ExceptionView:
        queue = queue_of(services)
        record = await queue.replay(
            failure_id, data.payload, actor=actor_of(request),
            correlation_id=current_correlation_id(), reason=data.reason,
        )  # fmt: skip
        return exception_view(record, queue.redactor)

    @post(
        "/{failure_id:int}/discard",
        status_code=200,
        summary="Close the record without sending anything, with a reason",
        operation_id="opsDiscardException",
        opt=requires(EXCEPTIONS_ACT),
        security=security_requirements(EXCEPTIONS_ACT),
        responses=ops_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503),
    )
    async def discard(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        failure_id: Id,
        data: Annotated[DiscardRequest, Body()],
    ) -> ExceptionView:
        queue = queue_of(services)
        record = await queue.discard(
            failure_id, reason=data.reason, actor=actor_of(request),
            correlation_id=current_correlation_id(),
        )  # fmt: skip
        return exception_view(record, queue.redactor)

    @post(
        "/{failure_id:int}/assign",
        status_code=200,
        summary="Assign the record to someone (null: unassign)",
        operation_id="opsAssignException",
        opt=requires(EXCEPTIONS_ACT),
        security=security_requirements(EXCEPTIONS_ACT),
        responses=ops_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503),
    )
    async def assign(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        failure_id: Id,
        data: Annotated[AssignRequest, Body()],
    ) -> ExceptionView:
        queue = queue_of(services)
        record = await queue.assign(
            failure_id, data.assignee, actor=actor_of(request),
            correlation_id=current_correlation_id(),
        )  # fmt: skip
        return exception_view(record, queue.redactor)

    @post(
        "/{failure_id:int}/tags",
        status_code=200,
        summary="Add and remove tags",
        operation_id="opsTagException",
        opt=requires(EXCEPTIONS_ACT),
        security=security_requirements(EXCEPTIONS_ACT),
        responses=ops_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503),
    )
    async def tag(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        failure_id: Id,
        data: Annotated[TagRequest, Body()],
    ) -> ExceptionView:
        queue = queue_of(services)
        record = await queue.tag(
            failure_id, add=data.add, remove=data.remove, actor=actor_of(request),
            correlation_id=current_correlation_id(),
        )  # fmt: skip
        return exception_view(record, queue.redactor)

    @post(
        "/{failure_id:int}/comments",
        status_code=201,
        summary="Add a comment to the record's trail",
        operation_id="opsCommentException",
        opt=requires(EXCEPTIONS_ACT),
        security=security_requirements(EXCEPTIONS_ACT),
        responses=ops_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503),
    )
    async def comment(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        failure_id: Id,
        data: Annotated[CommentRequest, Body()],
    ) -> AuditEntryView:
        queue = queue_of(services)
        entry = await queue.comment(
            failure_id, data.text, actor=actor_of(request),
            correlation_id=current_correlation_id(),
        )  # fmt: skip
        return audit_view(entry)

    @post(
        "/bulk/retry",
        status_code=200,
        summary="Retry every active record matching a filter (at most 1000)",
        operation_id="opsBulkRetryExceptions",
        opt=requires(EXCEPTIONS_ACT),
        security=security_requirements(EXCEPTIONS_ACT),
        responses=ops_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503),
    )
    async def bulk_retry(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: Annotated[BulkRequest, Body()],
    ) -> BulkResultView:
        queue = queue_of(services)
        result = await queue.bulk(
            "retry", data.filter.to_filter(queue.clock.now()), actor=actor_of(request),
            reason=data.reason, correlation_id=current_correlation_id(), limit=data.limit,
        )  # fmt: skip
        return _bulk_view(result)

    @post(
        "/bulk/discard",
        status_code=200,
        summary="Discard every active record matching a filter (at most 1000), with a reason",
        operation_id="opsBulkDiscardExceptions",
        opt=requires(EXCEPTIONS_ACT),
        security=security_requirements(EXCEPTIONS_ACT),
        responses=ops_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503),
    )
    async def bulk_discard(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: Annotated[BulkRequest, Body()],
    ) -> BulkResultView:
        queue = queue_of(services)
        result = await queue.bulk(
            "discard", data.filter.to_filter(queue.clock.now()), actor=actor_of(request),
            reason=data.reason, correlation_id=current_correlation_id(), limit=data.limit,
        )  # fmt: skip
        return _bulk_view(result)
