"""Start-up of the app and the CLI: settings checked with one clear line on failure,
logs configured, migrations applied once in the lifespan (not at import time)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

from perkstar_ui import logs
from perkstar_ui.config import settings_or_exit
from perkstar_ui.db import migrate
from perkstar_ui.services import readiness

EXIT_UNREACHABLE = 3


def check_or_exit() -> None:
    """The database (and Redis, when configured) must answer before the app starts."""
    problem = readiness.startup_problem(settings_or_exit())
    if problem:
        print(problem, file=sys.stderr)
        raise SystemExit(EXIT_UNREACHABLE)


@contextlib.asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    """The app's first lifespan task: JSON logs, then migrations (idempotent; on
    PostgreSQL under an advisory lock, so several workers may start together), before
    the embedded worker (registered after this) begins."""
    logs.configure()
    await asyncio.to_thread(migrate.upgrade)
    yield
