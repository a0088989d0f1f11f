"""Console sessions: an HMAC-signed cookie carrying the API key's id, role, expiry and a nonce.

Why a signed cookie and not a server-side table: the API may run as several replicas (docker-compose
scales it) and the data layer is shared with the worker; a signed cookie needs no new table and no
sticky sessions. Every request still re-reads the key row, so revoking the key (`supportflow keys
revoke`) ends its sessions at once.

- Cookie `sf_session`: `<base64url(json)>.<hex HMAC-SHA256>`; HttpOnly, SameSite=Strict, Path=/,
  Secure when the request came over https; lives 8 hours.
- CSRF: unsafe calls made with the cookie must carry `X-CSRF-Token` (JSON API) or a `csrf` field
  (sign-out) equal to HMAC(secret, "csrf|" + nonce), which the pages embed in a meta tag. Cross-site
  pages cannot read it; SameSite=Strict already keeps the cookie off cross-site requests, the token
  is the second lock. The sign-in form uses a double-submit cookie (`sf_login_csrf`) so nobody can
  sign a victim in to another account (login CSRF).
- The signing secret: `SUPPORTFLOW_SESSION_SECRET` when set (needed when several API replicas
  serve the console), else `<data_dir>/console-session.key` (created once, mode 0600), else a
  random one for this process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.responses import Response

from store.settings import Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "sf_session"
LOGIN_CSRF_COOKIE = "sf_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL_SECONDS = 8 * 3600
SECRET_ENV = "SUPPORTFLOW_SESSION_SECRET"
SECRET_FILE = "console-session.key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class ConsoleSession:
    key_id: str
    role: str
    expires: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(settings: Settings) -> bytes:
    """The signing secret (see the module docstring for where it comes from)."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return hashlib.sha256(from_env.encode("utf-8")).digest()
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        if path.exists():
            return _unb64(path.read_text(encoding="ascii").strip())
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(_b64(secret))
        return secret
    except (OSError, ValueError):
        log.warning("console: no writable %s; sessions end when this process stops", path)
        return secrets.token_bytes(32)


def secret_of(request: Request) -> bytes:
    """The app's secret, loaded once and kept on the app state."""
    state = request.app.state
    secret: bytes | None = getattr(state, "console_secret", None)
    if secret is None:
        secret = load_secret(state.settings)
        state.console_secret = secret
    return secret


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode("ascii"), hashlib.sha256).hexdigest()


def encode(secret: bytes, session: ConsoleSession) -> str:
    body = {"k": session.key_id, "r": session.role, "e": session.expires, "n": session.nonce}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_sign(secret, payload)}"


def decode(secret: bytes, value: str | None, now: float | None = None) -> ConsoleSession | None:
    """The session in a cookie value, or None when it is missing, forged, malformed or expired."""
    if not value or len(value) > 1000 or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(_sign(secret, payload), signature):
        return None
    try:
        body = json.loads(_unb64(payload))
        session = ConsoleSession(
            key_id=str(body["k"]), role=str(body["r"]), expires=int(body["e"]), nonce=str(body["n"])
        )
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires < (time.time() if now is None else now):
        return None
    return session


def new_session(key_id: str, role: str) -> ConsoleSession:
    return ConsoleSession(
        key_id=key_id,
        role=role,
        expires=int(time.time()) + SESSION_TTL_SECONDS,
        nonce=secrets.token_urlsafe(16),
    )


def csrf_token(secret: bytes, session: ConsoleSession) -> str:
    """The CSRF token bound to this session (the pages embed it; unsafe calls send it back)."""
    return _sign(secret, f"csrf|{session.nonce}")


def csrf_ok(secret: bytes, session: ConsoleSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(secret, session), given or "")


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_TTL_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request)
    )
