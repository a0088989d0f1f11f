"""API keys (SPEC §4): random, shown once, stored as a SHA-256 hash, compared in constant time.

A key looks like `sf_<role prefix>_<43 url-safe characters>` (`secrets.token_urlsafe(32)`, 256
bits). Only its hash and a short prefix (for listing) are kept; the plaintext is returned by
`create_key` once and never again. Revoked keys stay listed (with `revoked_at`) and never verify.

A key that verified is trusted for KEY_CACHE_SECONDS without reading it again (a read per request
was ~6 % of the API's CPU per event): a revocation in this process takes effect at once, one from
another process (`supportflow keys revoke`) within those seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from store.db import session_scope
from store.models import ApiKeyRow, utcnow

Role = Literal["admin", "integration", "viewer"]
ROLES: tuple[str, ...] = get_args(Role)

#: The middle part of a key names its role, so a leaked key is recognisable at a glance.
ROLE_PREFIX: dict[str, str] = {"admin": "admin", "integration": "int", "viewer": "view"}

#: How many leading characters of the plaintext are kept for listing (`sf_admin_AbCd…`).
PREFIX_LENGTH = 14

#: Seconds a verified key is trusted without reading it again (see the module docstring).
KEY_CACHE_SECONDS = 5.0
_verified: dict[str, tuple[float, ApiKeyRow]] = {}  # hash -> (when it verified, its row)


class ApiKeyInfo(BaseModel):
    """A stored key as it may be shown: never the plaintext, never the hash."""

    id: str = Field(description="Key id (for revoking)", examples=["key_3f9a1c2b7d4e"])
    name: str | None = Field(default=None, description="Free-text label given at creation")
    role: Role = Field(description="admin, integration or viewer")
    prefix: str = Field(description="First characters of the key, to recognise it")
    created_at: datetime
    revoked_at: datetime | None = None


class UnknownRole(ValueError):
    """A role that is not admin, integration or viewer."""


def hash_key(plaintext: str) -> str:
    """SHA-256 hex digest of a key (keys are 256-bit random: no salt or slow hash needed)."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _new_plaintext(role: str) -> str:
    return f"sf_{ROLE_PREFIX[role]}_{secrets.token_urlsafe(32)}"


def create_key(engine: Engine, role: str, name: str | None = None) -> str:
    """Create a key for `role` and return its plaintext: the only time it is ever visible."""
    if role not in ROLES:
        raise UnknownRole(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    plaintext = _new_plaintext(role)
    row = ApiKeyRow(
        id=f"key_{secrets.token_hex(6)}",
        name=name,
        role=role,
        key_hash=hash_key(plaintext),
        prefix=plaintext[:PREFIX_LENGTH],
    )
    with session_scope(engine) as session:
        session.add(row)
    return plaintext


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        role=row.role,  # type: ignore[arg-type]  # only valid roles are ever stored
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def list_keys(engine: Engine) -> list[ApiKeyInfo]:
    """Every key, oldest first, revoked ones included."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(ApiKeyRow).order_by(col(ApiKeyRow.created_at), col(ApiKeyRow.id))
        )
        return [_info(row) for row in rows]


def revoke_key(engine: Engine, key_id: str) -> bool:
    """Revoke a key by id. False when there is no such key; revoking twice is harmless."""
    with session_scope(engine) as session:
        row = session.get(ApiKeyRow, key_id)
        if row is None:
            return False
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
    _verified.pop(row.key_hash, None)
    return True


def count_keys(engine: Engine) -> int:
    """How many usable (not revoked) keys exist; 0 means the stack needs a first admin key."""
    with session_scope(engine) as session:
        statement = (
            select(func.count()).select_from(ApiKeyRow).where(col(ApiKeyRow.revoked_at).is_(None))
        )
        return int(session.exec(statement).one())


def verify_key(session: Session, plaintext: str) -> ApiKeyRow | None:
    """The usable key row whose hash matches `plaintext`, or None. The final comparison is
    constant-time (`hmac.compare_digest`)."""
    if not plaintext or len(plaintext) > 200:
        return None
    digest = hash_key(plaintext)
    cached = _verified.get(digest)
    if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    row = session.exec(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        _verified.pop(digest, None)
        return None
    if not hmac.compare_digest(row.key_hash.encode("ascii"), digest.encode("ascii")):
        return None
    _verified[digest] = (time.monotonic(), row)
    return row
