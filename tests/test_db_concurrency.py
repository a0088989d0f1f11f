"""Regression: on SQLite, a transaction that reads and then writes is serialised against other
writers. Without it, read-modify-write updates (the round-robin cursor of a team) were lost, and
under load POST /events failed with "database is locked" (found by the benchmark)."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlmodel import Session

from store.db import create_all, make_engine
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
