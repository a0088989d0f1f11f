"""The console's pages: server-rendered shells (Jinja2) whose small JavaScript modules call the JSON
API same-origin with the session cookie. Sign-in and sign-out are plain HTML forms.

Pages live under `/console/` (the JSON API owns `/workflows`, `/templates`, `/runs`...); `/`
sends the browser to the Workflows page.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.api.deps import SessionDep
from app.auth import Permission, allows
from app.console.auth import current_session
from app.console.session import (
    LOGIN_CSRF_COOKIE,
    ConsoleSession,
    clear_session_cookie,
    csrf_ok,
    csrf_token,
    encode,
    is_https,
    new_session,
    secret_of,
    set_session_cookie,
)
from app.console.vocabulary import builder_vocabulary
from store.keys import verify_key

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

router = APIRouter(include_in_schema=False)

PREFIX = "/console"
NO_STORE = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _safe_next(target: str | None) -> str:
    """Only redirect to our own pages (no open redirect)."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/workflows"


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)


def _page(
    request: Request,
    db: Session,
    template: str,
    *,
    nav: str,
    title: str,
    **context: Any,
) -> Response:
    """A signed-in page, or the sign-in redirect when there is no valid session."""
    session = _session(request, db)
    if session is None:
        return _login_redirect(request)
    can_write = allows(session.role, Permission.WRITE)
    return templates.TemplateResponse(
        request,
        template,
        {
            "title": title,
            "nav": nav,
            "role": session.role,
            "can_write": can_write,
            "csrf": csrf_token(secret_of(request), session),
            "prefix": PREFIX,
            **context,
        },
        headers=NO_STORE,
    )


def _session(request: Request, db: Session) -> ConsoleSession | None:
    return current_session(request, db)


# ------------------------------------------------------------------ sign-in / sign-out


@router.get("/", response_model=None)
def root() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/workflows", status_code=307)


@router.get(PREFIX, response_model=None)
@router.get(f"{PREFIX}/", response_model=None)
def console_root() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/workflows", status_code=307)


def _login_form(
    request: Request, *, next_: str, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"title": "Sign in", "next": next_, "error": error, "login_csrf": token, "prefix": PREFIX},
        status_code=status_code,
        headers=NO_STORE,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path=f"{PREFIX}/login",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )
    return response


@router.get(f"{PREFIX}/login", response_model=None)
def login_page(request: Request, db: SessionDep, next: str | None = None) -> Response:
    if _session(request, db) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, next_=_safe_next(next))


@router.post(f"{PREFIX}/login", response_model=None)
async def login(
    request: Request,
    db: SessionDep,
    api_key: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    target = _safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not csrf or not hmac.compare_digest(expected, csrf):
        return _login_form(
            request,
            next_=target,
            error="Your sign-in form expired. Please try again.",
            status_code=403,
        )
    row = await run_in_threadpool(verify_key, db, api_key.strip())
    if row is None:
        return _login_form(
            request,
            next_=target,
            error="That API key is unknown or has been revoked.",
            status_code=401,
        )
    if not allows(row.role, Permission.READ):
        return _login_form(
            request,
            next_=target,
            error=(
                f"A key with the '{row.role}' role can only post events. "
                "Sign in with an admin or viewer key."
            ),
            status_code=403,
        )
    session = new_session(row.id, row.role)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, encode(secret_of(request), session))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PREFIX}/login")
    return response


@router.post(f"{PREFIX}/logout", response_model=None)
def logout(request: Request, db: SessionDep, csrf: Annotated[str, Form()] = "") -> Response:
    session = _session(request, db)
    if session is not None and not csrf_ok(secret_of(request), session, csrf):
        return HTMLResponse("Sign-out refused: missing or wrong CSRF token.", status_code=403)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    clear_session_cookie(response, request)
    return response


# ------------------------------------------------------------------ pages


@router.get(f"{PREFIX}/workflows", response_model=None)
def workflows_page(request: Request, db: SessionDep) -> Response:
    labels = builder_vocabulary()["trigger_types"]
    return _page(
        request, db, "workflows.html", nav="workflows", title="Workflows", trigger_labels=labels
    )


@router.get(f"{PREFIX}/templates", response_model=None)
def templates_page(request: Request, db: SessionDep) -> Response:
    return _page(request, db, "templates.html", nav="templates", title="Templates")


@router.get(f"{PREFIX}/workflows/new", response_model=None)
def new_workflow_page(request: Request, db: SessionDep) -> Response:
    return _builder(request, db, None)


@router.get(f"{PREFIX}/workflows/{{workflow_id}}", response_model=None)
def edit_workflow_page(request: Request, db: SessionDep, workflow_id: str) -> Response:
    return _builder(request, db, workflow_id)


def _builder(request: Request, db: Session, workflow_id: str | None) -> Response:
    title = "Create workflow" if workflow_id is None else "Edit workflow"
    return _page(
        request,
        db,
        "builder.html",
        nav="workflows",
        title=title,
        workflow_id=workflow_id,
        vocabulary=builder_vocabulary(),
    )


@router.get(f"{PREFIX}/workflows/{{workflow_id}}/versions", response_model=None)
def workflow_versions_page(request: Request, db: SessionDep, workflow_id: str) -> Response:
    return _page(
        request, db, "versions.html", nav="workflows", title="History", workflow_id=workflow_id
    )


@router.get(f"{PREFIX}/workflows/{{workflow_id}}/runs", response_model=None)
def workflow_runs_page(request: Request, db: SessionDep, workflow_id: str) -> Response:
    return _page(request, db, "runs.html", nav="runs", title="Runs", workflow_id=workflow_id)


@router.get(f"{PREFIX}/runs", response_model=None)
def runs_page(request: Request, db: SessionDep) -> Response:
    return _page(request, db, "runs.html", nav="runs", title="Runs", workflow_id=None)


@router.get(f"{PREFIX}/runs/{{run_id:path}}", response_model=None)
def run_page(request: Request, db: SessionDep, run_id: str) -> Response:
    return _page(request, db, "run.html", nav="runs", title="Run", run_id=run_id)


@router.get(f"{PREFIX}/conversations/{{conversation_id:path}}", response_model=None)
def conversation_page(request: Request, db: SessionDep, conversation_id: str) -> Response:
    return _page(
        request,
        db,
        "conversation.html",
        nav="runs",
        title="Conversation",
        conversation_id=conversation_id,
    )


#: The directory pages: (title, singular, intro) per API collection.
DIRECTORY_PAGES = {
    "teams": ("Teams", "team", "Route, notify and create-ticket steps name a team by its id."),
    "agents": ("Agents", "agent", "Route, notify and escalate steps name an agent by its id."),
}


@router.get(f"{PREFIX}/teams", response_model=None)
def teams_page(request: Request, db: SessionDep) -> Response:
    return _directory_page(request, db, "teams")


@router.get(f"{PREFIX}/agents", response_model=None)
def agents_page(request: Request, db: SessionDep) -> Response:
    return _directory_page(request, db, "agents")


@router.get(f"{PREFIX}/schedules", response_model=None)
def schedules_page(request: Request, db: SessionDep) -> Response:
    return _page(request, db, "schedules.html", nav="schedules", title="Schedules")


def _directory_page(request: Request, db: Session, kind: str) -> Response:
    title, singular, intro = DIRECTORY_PAGES[kind]
    return _page(
        request,
        db,
        "directory.html",
        nav=kind,
        title=title,
        kind=kind,
        singular=singular,
        intro=intro,
    )


@router.get(f"{PREFIX}/analytics", response_model=None)
def analytics_page(request: Request, db: SessionDep) -> Response:
    return _page(request, db, "analytics.html", nav="analytics", title="Analytics")
