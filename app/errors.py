"""One JSON error shape for every error the API answers, and the one place where domain errors
become HTTP statuses.

```json
{"error": {"code": "validation_error", "message": "steps.0.params.team: Field required",
           "details": [{"loc": ["body", "steps", 0, "params", "team"], "msg": "Field required"}]}}
```

`code` is stable (clients switch on it), `message` is for people, `details` lists each offending
location (pydantic locations for 422, the header or field for 409).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.temporal.errors import InvalidRunsQuery, RunConflict
from definitions.errors import NotFound
from definitions.runs import StartRefused
from store.definitions_repo import AlreadyCurrent, VersionConflict
from store.schedules_repo import ScheduleInUse
from temporal_edge import TemporalUnavailable

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """One offending location."""

    loc: list[str | int] = Field(
        description="Where the problem is: 'body', 'query', 'path' or 'header' then the path",
        examples=[["body", "steps", 0, "params", "team"]],
    )
    msg: str = Field(description="What is wrong there", examples=["Field required"])


class ErrorBody(BaseModel):
    code: str = Field(
        description=(
            "Stable machine-readable code: validation_error, not_found, version_conflict, "
            "unauthorized, forbidden, temporal_unavailable, ..."
        ),
        examples=["not_found"],
    )
    message: str = Field(
        description="Human-readable summary", examples=["workflow 'wf_1' not found"]
    )
    details: list[ErrorDetail] = Field(default=[], description="Each offending location")


class ErrorResponse(BaseModel):
    """Every error the API answers has this shape."""

    error: ErrorBody = Field(description="What went wrong")


class ApiError(Exception):
    """An error a route raises on purpose; rendered in the one shape."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Sequence[ErrorDetail] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = headers


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Sequence[ErrorDetail] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=list(details)))
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


def _dotted(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_details(
    errors: Sequence[Any], prefix: Sequence[str | int] = ()
) -> list[ErrorDetail]:
    """pydantic error dicts as details, optionally under a prefix such as ('body',)."""
    return [
        ErrorDetail(loc=[*prefix, *error.get("loc", ())], msg=str(error.get("msg", "invalid")))
        for error in errors
    ]


def validation_error(details: list[ErrorDetail]) -> JSONResponse:
    first = details[0] if details else None
    located = [str(part) for part in first.loc if part not in ("body",)] if first else []
    message = (
        f"{_dotted(located)}: {first.msg}"
        if first and located
        else first.msg
        if first
        else "invalid"
    )
    if len(details) > 1:
        message += f" (and {len(details) - 1} more)"
    return error_response(422, "validation_error", message, details)


_UNPARSABLE_BODY = "There was an error parsing the body"

# Stable codes for plain HTTP statuses (404 of an unknown route, 405, ...).
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers mapping every error to the one shape."""

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(validation_details(exc.errors()))

    @app.exception_handler(ValidationError)
    async def _model_validation(_: Request, exc: ValidationError) -> JSONResponse:
        # A merged document (PATCH) or a stored body that does not validate: located in the body.
        return validation_error(validation_details(exc.errors(), prefix=("body",)))

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error_response(
            404, "not_found", str(exc), [ErrorDetail(loc=["path", f"{exc.kind}_id"], msg=str(exc))]
        )

    @app.exception_handler(VersionConflict)
    async def _conflict(_: Request, exc: VersionConflict) -> JSONResponse:
        loc: list[str | int] = (
            ["header", "If-Match"] if exc.source == "If-Match" else ["body", "version"]
        )
        detail = ErrorDetail(loc=loc, msg=f"current version is {exc.current}, given {exc.given}")
        return error_response(409, "version_conflict", str(exc), [detail])

    @app.exception_handler(AlreadyCurrent)
    async def _already_current(_: Request, exc: AlreadyCurrent) -> JSONResponse:
        detail = ErrorDetail(loc=["path", "version"], msg=f"same as current version {exc.current}")
        return error_response(409, "already_current", str(exc), [detail])

    @app.exception_handler(RunConflict)
    async def _run_conflict(_: Request, exc: RunConflict) -> JSONResponse:
        detail = ErrorDetail(loc=["path", "run_id"], msg=f"run is {exc.status}")
        return error_response(409, "conflict", str(exc), [detail])

    @app.exception_handler(InvalidRunsQuery)
    async def _invalid_runs_query(_: Request, exc: InvalidRunsQuery) -> JSONResponse:
        detail = ErrorDetail(loc=["query", exc.field], msg=exc.message)
        return error_response(422, "validation_error", str(exc), [detail])

    @app.exception_handler(ScheduleInUse)
    async def _schedule_in_use(_: Request, exc: ScheduleInUse) -> JSONResponse:
        details = [
            ErrorDetail(loc=["workflow", definition_id], msg=f"{name!r} uses this schedule")
            for definition_id, name in exc.users
        ]
        return error_response(409, "schedule_in_use", str(exc), details)

    @app.exception_handler(TemporalUnavailable)
    async def _temporal_down(_: Request, exc: TemporalUnavailable) -> JSONResponse:
        return error_response(503, "temporal_unavailable", str(exc), headers={"Retry-After": "5"})

    @app.exception_handler(StartRefused)
    async def _start_refused(_: Request, exc: StartRefused) -> JSONResponse:
        # Permanent (a payload Temporal refuses): never a 503, never Retry-After.
        return error_response(422, "start_refused", f"Temporal refused the run: {exc.reason}")

    @app.exception_handler(OperationalError)
    async def _database_down(_: Request, exc: OperationalError) -> JSONResponse:
        if not _connection_problem(exc):
            log.exception("database error", exc_info=exc)
            return error_response(500, "internal_error", "internal error; see the server log")
        log.warning("database unavailable: %s", exc)
        return error_response(
            503, "database_unavailable", "the database is unreachable", headers={"Retry-After": "5"}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
            # FastAPI's answer to a body that is not JSON text at all (bad UTF-8, too deep):
            # invalid input like any other, so the one 422.
            detail = ErrorDetail(loc=["body"], msg="the body is not readable JSON")
            return validation_error([detail])
        code = _CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        # The server drops the connection after an unhandled error: say so, so the client does
        # not send its next request down a connection about to close.
        return error_response(
            500,
            "internal_error",
            "internal error; see the server log",
            headers={"Connection": "close"},
        )


def _connection_problem(exc: DBAPIError) -> bool:
    """A lost or refused connection, or (SQLite) a database locked past the busy timeout: worth
    retrying. Anything else the database reports is a bug, not an outage."""
    text = str(exc.orig).lower()
    return exc.connection_invalidated or any(
        word in text
        for word in ("connect", "connection", "locked", "terminating", "server closed", "timeout")
    )


#: For route decorators: the error responses documented in OpenAPI.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "Missing or unknown API key",
        403: "The key's role may not do this",
        404: "Not found",
        409: "Stale version (optimistic concurrency)",
        413: "The request body is larger than 1 MiB",
        422: "Invalid input; `details` names each offending field",
        503: "Temporal (or, for POST /events, the database) is unreachable; retry later",
    }
    # Any route can answer 422 (a bad parameter) and 413 (a body over the limit, body or not).
    wanted = sorted({*statuses, 413, 422})
    return {
        s: {"model": ErrorResponse, "description": descriptions.get(s, "Error")} for s in wanted
    }
