"""`make test`: the whole suite on SQLite, then again on PostgreSQL when reachable.

PostgreSQL comes from ``TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/``); each run creates and drops its own fresh
database. Exits non-zero when any run fails.
"""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/"


def postgres_reachable(url: str) -> bool:
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception as error:  # noqa: BLE001
        print(f"PostgreSQL not reachable at {url}: {error}")
        return False


# Unit and end-to-end tests run as two pytest sessions, each with its own fresh database:
# the E2E app (and its embedded delivery worker) lives for its whole session and would
# otherwise claim the outbox rows that unit tests' own worker processes are sending.
SUITES = ("tests/unit", "tests/e2e")


def run(backend: str) -> int:
    env = dict(os.environ, PERKSTAR_TEST_BACKEND=backend)
    extra = sys.argv[1:]
    if any(arg.startswith("tests") for arg in extra):  # explicit paths: one session as asked
        print(f"\n======== tests on {backend} ========", flush=True)
        return subprocess.call([sys.executable, "-m", "pytest", *extra], env=env)
    codes = []
    for suite in SUITES:
        print(f"\n======== {suite} on {backend} ========", flush=True)
        code = subprocess.call([sys.executable, "-m", "pytest", suite, *extra], env=env)
        codes.append(0 if code == 5 else code)  # 5: a -k selected nothing in this suite
    return max(codes)


def main() -> int:
    results = {"sqlite": run("sqlite")}
    pg_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    if postgres_reachable(pg_url):
        results["postgresql"] = run("postgresql")
    else:
        print("PostgreSQL run skipped: no server reachable.")
    print("\n" + ", ".join(f"{name}: {'passed' if rc == 0 else 'FAILED'}" for name, rc in results.items()))
    return 0 if all(rc == 0 for rc in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
