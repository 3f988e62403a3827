"""Customer grid at scale: one page fetched by ``grid_page`` versus bare SQL.

Bare SQL = the very statements ``grid_page`` sends for that page (captured from the
engine), replayed on a raw DB-API cursor: the difference is what the ORM, the tenant
hook and building the rows cost on top of the database's own work.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from bench.common import print_table, timed


def capture(fn: Callable[[], object]) -> list[tuple[str, object]]:
    from perkstar_ui.db.engine import get_engine

    engine = get_engine()
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return statements


def replay(statements: list[tuple[str, object]]) -> Callable[[], None]:
    from perkstar_ui.db.engine import get_engine

    engine = get_engine()

    def run() -> None:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                cursor.fetchall()
            cursor.close()
        finally:
            connection.close()

    return run


def measure(backend: str, merchant: int) -> None:
    from perkstar_ui.services.customer_grid import GridQuery, grid_page

    cases = [
        ("first page", GridQuery()),
        ("search name fragment", GridQuery(search="mül")),  # accent-folded: finds Müller
        ("search phone", GridQuery(search="07500 012345")),  # a seeded number, typed locally
        ("sort by date created", GridQuery(sort="created", descending=False)),
    ]
    rows = []
    for name, query in cases:
        found = grid_page(merchant, query)
        assert found.rows, f"{name}: the benchmark query found nothing"
        baseline = replay(capture(lambda q=query: grid_page(merchant, q)))
        rows.append((f"{name} ({found.total})", *timed(lambda q=query: grid_page(merchant, q)), *timed(baseline)))
    print_table(f"[{backend}] customer grid, one page of 50 (50 runs)", rows)
