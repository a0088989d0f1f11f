"""Who may do what: the one role table of the API (SPEC §4).

Every route declares the permission it needs (`read`, `write` or `ingest`, see `app.api.deps`);
this table says which roles hold which permissions. `/health` (and, later, the console's static
and login pages) need none.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from store.keys import ROLES


class Permission(StrEnum):
    READ = "read"  # every GET, and the backtests (POSTs that change nothing)
    WRITE = "write"  # create, change, delete, dry run, templates use
    INGEST = "ingest"  # POST /events


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "integration": frozenset({Permission.INGEST}),
    "viewer": frozenset({Permission.READ}),
}
assert set(ROLE_PERMISSIONS) == set(ROLES), "every role of store.keys needs a row here"


def allows(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (or, later, a console session)."""

    role: str
    key_id: str | None = None
    via: str = "api_key"  # "api_key" or "session"
    key_name: str | None = None  # the key's free-text name, recorded as who saved a version

    @property
    def actor(self) -> str | None:
        """Who to record as the author of a change: the key's name, else its id."""
        return self.key_name or self.key_id
