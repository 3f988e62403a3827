"""`make test`: the whole suite on SQLite, then again on PostgreSQL when reachable, then
the E2E suite a third time in multi-worker mode (PostgreSQL + Redis) when both are.

PostgreSQL comes from ``TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/``); each run creates and drops its own fresh
database (and drops, before the first run, the ``perkstar_test_*`` databases no one is
connected to: left by killed runs, see ``tests/pg_db.py``). Redis comes from
``TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379``); the multi-worker run takes an
empty numbered database of its own (``tests/redis_db.py``) and empties it at the end, so the
app runs Reflex's several backend workers (granian) with tab state in Redis. Exits
non-zero when any run fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repo root for ``tests``
from tests import pg_db, redis_db  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/"
DEFAULT_REDIS = "redis://127.0.0.1:6379"


def postgres_reachable(url: str) -> bool:
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception as error:  # noqa: BLE001
        print(f"PostgreSQL not reachable at {pg_db.shown(url)}: {error}")
        return False


# Unit and end-to-end tests run as two pytest sessions, each with its own fresh database:
# the E2E app (and its embedded delivery worker) lives for its whole session and would
# otherwise claim the outbox rows that unit tests' own worker processes are sending.
SUITES = ("tests/unit", "tests/e2e")
# The multi-worker run: the unit suite has nothing that depends on the number of web
# workers (what uses Redis, the rate limits, has its own unit tests against a real Redis).
MULTI_SUITES = ("tests/e2e",)
MULTI = "postgresql+redis"


def run(backend: str, redis_url: str | None = None) -> int:
    env = dict(os.environ, PERKSTAR_TEST_BACKEND=backend)
    env.pop("REDIS_URL", None)  # one worker unless this is the multi-worker run
    env.pop("PERKSTAR_TEST_REDIS", None)
    name = backend
    suites = SUITES
    if redis_url:
        env["PERKSTAR_TEST_REDIS"] = redis_url
        name, suites = MULTI, MULTI_SUITES
    extra = sys.argv[1:]
    if any(arg.startswith("tests") for arg in extra):  # explicit paths: one session as asked
        print(f"\n======== tests on {name} ========", flush=True)
        return subprocess.call([sys.executable, "-m", "pytest", *extra], env=env)
    codes = []
    for suite in suites:
        print(f"\n======== {suite} on {name} ========", flush=True)
        code = subprocess.call([sys.executable, "-m", "pytest", suite, *extra], env=env)
        codes.append(0 if code == 5 else code)  # 5: a -k selected nothing in this suite
    return max(codes)


def main() -> int:
    pg_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    redis_url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)
    pg_ok = postgres_reachable(pg_url)
    if pg_ok:  # databases of killed runs (nobody connected to them): gone before these start
        for name in pg_db.drop_leftovers():
            print(f"dropped {name}, left by a killed test run")
    results = {"sqlite": run("sqlite")}
    if pg_ok:
        results["postgresql"] = run("postgresql")
        if redis_db.reachable(redis_url):
            results[MULTI] = run("postgresql", redis_url)
        else:
            print(f"Multi-worker run (PostgreSQL + Redis) skipped: no Redis reachable at {redis_db.redacted(redis_url)}.")
    else:
        print("PostgreSQL run skipped: no server reachable.")
        print("Multi-worker run (PostgreSQL + Redis) skipped: no PostgreSQL reachable.")
    print("\n" + ", ".join(f"{name}: {'passed' if rc == 0 else 'FAILED'}" for name, rc in results.items()))
    return 0 if all(rc == 0 for rc in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
