"""Backups (``python -m perkstar_ui.cli backup FILE`` / ``restore FILE``).

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent
snapshot page by page while the app keeps running; restore copies a backup file back
the same way (stop the app first). PostgreSQL: ``pg_dump --format=custom`` of the
``DATABASE_URL``; restore with ``pg_restore --clean --if-exists`` (docs/operations.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

PAGES_PER_STEP = 1024


class BackupError(RuntimeError):
    """A backup or restore that could not be done, with the reason for the operator."""


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(parsed.database)


def pg_connection(url: str) -> tuple[str, dict[str, str]]:
    """(the ``--dbname`` for pg_dump/pg_restore, their environment): ``postgresql://…``
    without the password, which goes in ``PGPASSWORD`` instead, so it never shows in the
    process list (``ps``, ``/proc/<pid>/cmdline``) or in an error message. A URL without a
    password leaves the environment as it is: an operator's own ``PGPASSWORD`` (or
    ``.pgpass``) is how libpq authenticates then."""
    parsed = make_url(url).set(drivername="postgresql")
    query = dict(parsed.query)
    password = parsed.password or query.pop("password", None)
    if isinstance(password, tuple):  # a repeated query parameter
        password = password[-1]
    without = URL.create("postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database, query)
    dbname = without.render_as_string(hide_password=False)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return dbname, env


def _copy_sqlite(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=PAGES_PER_STEP)
    finally:
        dst.close()
        src.close()


def backup(url: str, target: Path) -> Path:
    """Write a backup of the database at ``url`` to ``target``; answers the file."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    path = _sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise BackupError(f"No database file at {path}.")
        if target.resolve() == path.resolve():
            raise BackupError("The backup file cannot be the live database itself.")
        target.unlink(missing_ok=True)
        target.touch(mode=0o600)  # customers' data and password hashes: owner-readable only
        _copy_sqlite(path, target)
        return target
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed (apt install postgresql-client).")
    target.unlink(missing_ok=True)
    target.touch(mode=0o600)  # customers' data and password hashes: owner-readable only
    dbname, env = pg_connection(url)
    result = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", f"--dbname={dbname}"],
        capture_output=True, text=True, check=False, env=env,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    return target


def restore(url: str, source: Path) -> None:
    """Replace the database at ``url`` with the backup ``source`` (stop the app first)."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"No backup file at {source}.")
    path = _sqlite_path(url)
    if path is not None:
        _copy_sqlite(source, path)
        return
    if shutil.which("pg_restore") is None:
        raise BackupError("pg_restore is not installed (apt install postgresql-client).")
    dbname, env = pg_connection(url)
    result = subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={dbname}", str(source)],
        capture_output=True, text=True, check=False, env=env,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")
