"""Bulk writes inside a session's transaction, without per-row SQLAlchemy work (imports,
RFM rows, campaign outboxes): ``COPY`` on PostgreSQL, one ``executemany`` on SQLite."""

from __future__ import annotations

import sqlalchemy as sa


def bulk_insert(session, table: sa.Table, columns: list[str], rows: list[tuple]) -> None:  # noqa: ANN001
    """Insert many rows inside the session's transaction, without per-row SQLAlchemy work.

    PostgreSQL: ``COPY … FROM STDIN`` (one stream instead of a round trip per row);
    SQLite: one ``executemany`` of plain tuples. The SQL is generated from the table
    (quoted by the dialect), and every value goes through its column type's bind
    processor first, exactly as ``session.execute(insert(table), rows)`` would (dates
    and timestamps on SQLite, JSON everywhere). Any other dialect: the plain Core insert.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    given = set(columns)
    if dialect.name not in ("postgresql", "sqlite") or any(
        c.default is not None for c in table.c if c.name not in given  # Python-side defaults: Core applies them
    ):
        connection.execute(sa.insert(table), [dict(zip(columns, row)) for row in rows])
        return
    processors = []
    for index, name in enumerate(columns):
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((index, processor, {}))
    if processors:
        converted = []
        for row in rows:
            row = list(row)
            for index, processor, seen in processors:
                value = row[index]
                key = "{}" if value == {} and isinstance(value, dict) else value  # an empty dict: the common case
                try:
                    row[index] = seen[key]
                except KeyError:
                    row[index] = seen[key] = processor(value)
                except TypeError:  # unhashable (a filled dict): processed each time
                    row[index] = processor(value)
            converted.append(row)
        rows = converted
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(name) for name in columns)
    cursor = connection.connection.cursor()  # the DB-API cursor of this very transaction
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join("?" * len(columns))
            cursor.executemany(f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({placeholders})", rows)
    finally:
        cursor.close()


def bulk_insert_dicts(session, table: sa.Table, rows: list[dict]) -> None:  # noqa: ANN001
    if rows:
        columns = list(rows[0])
        bulk_insert(session, table, columns, [tuple(row[c] for c in columns) for row in rows])


def reserve_ids(session, table: str, count: int) -> list[int]:  # noqa: ANN001
    """Ids for rows inserted with one executemany (RETURNING would go row by row).

    PostgreSQL hands out sequence values; SQLite is past its first write here (the
    import batch row), so this transaction holds the write lock and max(id) is stable.
    """
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(
            sa.text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": count}
        ).scalars())
    start = session.execute(sa.text(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")).scalar_one()
    return list(range(start, start + count))
