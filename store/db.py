"""Engine and sessions for SQLite (default) and PostgreSQL."""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from store import models  # noqa: F401  (registers the tables)


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and a thread-safe connection setting."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": WRITE_LOCK_TIMEOUT},
            pool_size=10,
            max_overflow=20,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # We issue BEGIN ourselves (below): pysqlite's implicit, deferred BEGIN lets a transaction
    # that read first fail with "database is locked" when another writer committed meanwhile.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


#: How long a transaction waits for SQLite's write lock before "database is locked".
WRITE_LOCK_TIMEOUT = 30.0  # seconds (the same as the connections' busy timeout)
#: Between two tries for the write lock: short, because SQLite's own busy handler sleeps 1, 2, 5,
#: 10, ... up to 100 ms between tries, so a lock held for 2 ms cost its waiters ~45 ms on average
#: under the benchmark's load (bench/RESULTS.md) while the lock sat free.
_LOCK_POLL_FIRST = 0.0002
_LOCK_POLL_MAX = 0.002


def _sqlite_begin_immediate(connection) -> None:  # type: ignore[no-untyped-def]
    """Take the write lock when the transaction starts, trying again every few hundred
    microseconds (not with SQLite's coarse busy handler) for up to WRITE_LOCK_TIMEOUT. A
    `read_session` only reads: a plain BEGIN (WAL readers never wait for the writer)."""
    # On the DBAPI connection: each try through SQLAlchemy's execution machinery (events, error
    # wrapping) cost the interpreter more than the statement did (profiles, bench/RESULTS.md).
    raw = connection.connection.dbapi_connection
    if connection.get_execution_options().get(_READ_ONLY):
        raw.execute("BEGIN")
        return
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
        pause = _LOCK_POLL_FIRST
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                    # SQLAlchemy's error, as callers expect
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            time.sleep(pause)
            pause = min(pause * 2, _LOCK_POLL_MAX)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(WRITE_LOCK_TIMEOUT * 1000)}")


def create_all(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


_READ_ONLY = "supportflow_read_only"


def read_session(engine: Engine, *, expire_on_commit: bool = True) -> Session:
    """A session that only reads. On SQLite it does not queue for the write lock that every other
    transaction takes (a condition's read held it for nothing); a write in it may fail there with
    "database is locked"."""
    reader = engine.execution_options(**{_READ_ONLY: True})  # ~20 µs: a view of the same pool
    return Session(reader, expire_on_commit=expire_on_commit)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error (nothing half-written)."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
