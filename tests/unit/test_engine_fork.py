"""A forked process (granian's workers under ``reflex run --env prod``: forked from the
supervisor, which imported the app and so connected for the start-up check; a worker
respawned after SIGKILL) connects afresh instead of using the pooled connection it
inherited. Before, every worker talked over the supervisor's one PostgreSQL socket at
once and read its siblings' replies: the embedded worker's ``tick failed`` with
``ResourceClosedError: This result object does not return rows``. Both backends."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from perkstar_ui.db.engine import get_engine, is_sqlite


def _fork(work) -> tuple[int, int]:  # noqa: ANN001
    """Fork a child that runs ``work()`` and writes what it returned (or its error) to a
    pipe; (its pid, the pipe's read end)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        try:
            outcome = {"ok": work()}
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            outcome = {"error": f"{error.__class__.__name__}: {error}"}
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(json.dumps(outcome))
        os._exit(0)
    os.close(write_end)
    return pid, read_end


def _outcome(pid: int, read_end: int) -> dict:
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(text)


@pytest.fixture
def engine() -> sa.Engine:
    """An engine of this module's own (``get_engine`` with the URL spelled out is another
    cache entry), so its pool holds only the connections these tests put there."""
    return get_engine(os.environ["DATABASE_URL"])


def _backend_pid(connection: sa.Connection) -> int | None:
    return None if is_sqlite(connection.engine) else connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_forked_child_does_not_use_the_parents_pooled_connection(engine: sa.Engine) -> None:
    with engine.connect() as connection:  # the supervisor's start-up check: a connection now pooled
        connection.connection.info["pooled_in"] = os.getpid()
        parent_backend = _backend_pid(connection)

    def child() -> dict:
        with engine.connect() as connection:
            return {"pooled_in": connection.connection.info.get("pooled_in"), "backend": _backend_pid(connection)}

    seen = _outcome(*_fork(child))
    assert "error" not in seen, seen
    assert seen["ok"]["pooled_in"] is None  # its own connection, not the inherited one
    if parent_backend is not None:
        assert seen["ok"]["backend"] != parent_backend
    # The parent's connection was left alone (not closed by the child): still the same session.
    with engine.connect() as connection:
        assert connection.connection.info.get("pooled_in") == os.getpid()
        assert _backend_pid(connection) == parent_backend


def test_forked_workers_querying_at_once_each_read_their_own_answers(engine: sa.Engine) -> None:
    """Three children and the parent, 200 round trips each, at the same time: each gets
    back the number it sent (over a shared socket they got each other's, or no rows)."""
    with engine.connect() as connection:
        connection.execute(sa.select(1))  # pooled in the parent before the fork

    def child() -> int:
        mine = os.getpid()
        with engine.connect() as connection:
            for n in range(200):
                answer = connection.execute(sa.select(sa.literal(mine * 1000 + n))).scalar_one()
                assert answer == mine * 1000 + n, f"asked {mine * 1000 + n}, read {answer}"
        return mine

    children = [_fork(child) for _ in range(3)]
    assert child() == os.getpid()
    assert [_outcome(*forked) for forked in children] == [{"ok": pid} for pid, _ in children]
