"""The console's side of authentication: who a session cookie belongs to.

`session_principal` is installed as `app.state.session_authenticator` (the hook of
`app.api.deps.get_principal`): when a request has no bearer key, the console session cookie is
accepted instead, so the pages' JavaScript calls the JSON API same-origin. Unsafe methods also need
the session's CSRF token in `X-CSRF-Token`, or they get 403 `csrf_failed`.
"""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session

from app.auth import Principal
from app.console.session import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    ConsoleSession,
    csrf_ok,
    decode,
    secret_of,
)
from app.errors import ApiError, ErrorDetail
from store.models import ApiKeyRow


def current_session(request: Request, db: Session) -> ConsoleSession | None:
    """The valid session of this request: signed, unexpired, and its key still usable."""
    session = decode(secret_of(request), request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    row = db.get(ApiKeyRow, session.key_id)
    if row is None or row.revoked_at is not None or row.role != session.role:
        return None
    return session


def session_principal(request: Request, db: Session) -> Principal | None:
    """The caller of a JSON API request made with the console cookie, or None (then 401)."""
    session = current_session(request, db)
    if session is None:
        return None
    if request.method.upper() not in SAFE_METHODS and not csrf_ok(
        secret_of(request), session, request.headers.get(CSRF_HEADER)
    ):
        raise ApiError(
            403,
            "csrf_failed",
            "missing or wrong CSRF token: console calls that change something must send the "
            f"page's token in {CSRF_HEADER}",
            [ErrorDetail(loc=["header", CSRF_HEADER], msg="missing or wrong CSRF token")],
        )
    row = db.get(ApiKeyRow, session.key_id)  # already loaded by current_session: no query
    key_name = row.name if row is not None else None
    return Principal(role=session.role, key_id=session.key_id, via="session", key_name=key_name)
