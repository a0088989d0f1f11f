"""Regression: on SQLite, a transaction that reads and then writes is serialised against other
writers. Without it, read-modify-write updates (the round-robin cursor of a team) were lost, and
under load POST /events failed with "database is locked" (found by the benchmark)."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from store import db
from store.db import create_all, make_engine, read_session
from store.models import TeamRow


def test_sqlite_read_modify_write_loses_no_update(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'serial.db'}")
    create_all(engine)
    with Session(engine) as session:
        session.add(TeamRow(id="support", name="Support"))
        session.commit()

    def advance_cursor(_: int) -> None:
        with Session(engine) as session:
            team = session.get(TeamRow, "support")
            assert team is not None
            cursor = team.round_robin_cursor
            time.sleep(0.01)  # widen the window another writer could slip into
            team.round_robin_cursor = cursor + 1
            session.add(team)
            session.commit()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(advance_cursor, range(40)))

    with Session(engine) as session:
        team = session.get(TeamRow, "support")
        assert team is not None and team.round_robin_cursor == 40


def _held_write_lock(engine: Engine, team_id: str = "holder") -> Session:
    """A session holding SQLite's write lock (a write not yet committed)."""
    session = Session(engine)
    session.add(TeamRow(id=team_id, name=team_id))
    session.flush()
    return session


def test_a_read_session_does_not_queue_for_the_write_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'reader.db'}")
    create_all(engine)
    _add_team(engine, "support")
    holder = _held_write_lock(engine)
    try:
        # db.WRITE_LOCK_TIMEOUT is 30 s: a reader that queued would sit here until the holder ends.
        with ThreadPoolExecutor(max_workers=1) as pool:
            read = pool.submit(_team_names, engine)
            names = read.result(timeout=5)
        assert names == ["support"]  # the last commit; the holder's row is not visible yet
    finally:
        holder.rollback()
        holder.close()


def _team_names(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        return sorted(session.exec(select(TeamRow.id)).all())


def test_a_writer_gets_the_lock_once_it_is_free_and_gives_up_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'writer.db'}")
    create_all(engine)
    holder = _held_write_lock(engine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(_add_team, engine, "waiter")
        time.sleep(0.2)  # the writer is polling for the lock meanwhile
        assert not waiting.done()
        holder.commit()
        holder.close()
        waiting.result(timeout=10)
    with read_session(engine) as session:
        assert sorted(session.exec(select(TeamRow.id)).all()) == ["holder", "waiter"]

    monkeypatch.setattr(db, "WRITE_LOCK_TIMEOUT", 0.3)
    holder = _held_write_lock(engine, "second-holder")
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            _add_team(engine, "late")
    finally:
        holder.rollback()
        holder.close()


def _add_team(engine: Engine, team_id: str) -> None:
    with Session(engine) as session:
        session.add(TeamRow(id=team_id, name=team_id))
        session.commit()
