"""Request dependencies: settings, database session, Temporal gateways, the caller and its
permission, and load-or-404 of a definition.

The engine, the gateways (`app.temporal`) and the ingestor are created once in the lifespan
(`app.main`) and read from `request.app.state`; routes receive them through the `...Dep` aliases
below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.api.params import WorkflowId
from app.auth import Permission, Principal, allows
from app.errors import ApiError, ErrorDetail
from app.temporal.gateway import TemporalGateway
from app.temporal.runs import RunsGateway
from desk.ingestion import EventIngestor
from store import definitions_repo
from store.db import read_session
from store.keys import verify_key
from store.models import WorkflowDefinitionRow
from store.settings import Settings

bearer = HTTPBearer(
    auto_error=False,
    description="An API key, `Authorization: Bearer sf_...` (`supportflow keys create` makes one)",
)

#: Hook for the console: a callable `(request, session) -> Principal | None` set on
#: `app.state.session_authenticator` accepts a session cookie where no bearer key is given.
SessionAuthenticator = Callable[[Request, Session], Principal | None]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One session per request; writes commit explicitly, anything uncommitted rolls back."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_gateway(request: Request) -> TemporalGateway:
    gateway: TemporalGateway = request.app.state.gateway
    return gateway


def get_runs(request: Request) -> RunsGateway:
    runs: RunsGateway = request.app.state.runs
    return runs


def get_ingestor(request: Request) -> EventIngestor:
    ingestor: EventIngestor = request.app.state.ingestor
    return ingestor


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
GatewayDep = Annotated[TemporalGateway, Depends(get_gateway)]
RunsDep = Annotated[RunsGateway, Depends(get_runs)]
IngestorDep = Annotated[EventIngestor, Depends(get_ingestor)]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def get_principal(
    request: Request,
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller: an API key given as a bearer token (or a console session, when enabled).

    Uses its own short session rather than the request's: a request-scoped session held for the
    whole request while the handler needs more connections starves the pool under load. A read
    session: on SQLite, checking a key does not queue for the write lock."""
    with read_session(engine) as session:
        if credentials is not None and credentials.scheme.lower() == "bearer":
            row = verify_key(session, credentials.credentials)
            if row is None:
                raise _unauthorized("unknown or revoked API key")
            return Principal(role=row.role, key_id=row.id, key_name=row.name)
        authenticator: SessionAuthenticator | None = getattr(
            request.app.state, "session_authenticator", None
        )
        if authenticator is not None:
            principal = authenticator(request, session)
            if principal is not None:
                return principal
    raise _unauthorized("missing API key: send 'Authorization: Bearer <api key>'")


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency that lets the call through only if the caller's role holds `permission`."""

    def check(principal: PrincipalDep) -> Principal:
        if not allows(principal.role, permission):
            raise ApiError(
                403,
                "forbidden",
                f"the {principal.role!r} role may not do this (needs {permission.value!r} access)",
            )
        return principal

    check.__name__ = f"require_{permission.value}"
    return check


#: Put one of these in a route's `dependencies=[...]`; every route except /health has one.
CanRead: DependsParam = Depends(require(Permission.READ))
CanWrite: DependsParam = Depends(require(Permission.WRITE))
CanIngest: DependsParam = Depends(require(Permission.INGEST))


def get_definition(session: SessionDep, workflow_id: WorkflowId) -> WorkflowDefinitionRow:
    """Load a stored definition or answer 404."""
    return definitions_repo.get(session, workflow_id)


DefinitionDep = Annotated[WorkflowDefinitionRow, Depends(get_definition)]


def parse_if_match(value: str | None) -> int | None:
    """`If-Match: 3`, `"3"` or `W/"3"` -> 3; absent -> None; anything else -> 422."""
    if value is None or value.strip() in ("", "*"):
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise ApiError(
            422,
            "validation_error",
            "If-Match must be the workflow version, e.g. If-Match: 3",
            [ErrorDetail(loc=["header", "If-Match"], msg=f"not a version number: {value!r}")],
        )
    return int(text)
