"""What operations ask of the running installation (``/api/ready``, ``/api/metrics``,
the start-up check): is the database reachable, is Redis, are migrations at head, how
deep is the outbox, how many Stripe events are failing. No Reflex here."""

from __future__ import annotations

import dataclasses

import redis
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import func, select

from perkstar_ui.config import Settings
from perkstar_ui.db.engine import get_engine
from perkstar_ui.db.migrate import alembic_config
from perkstar_ui.db.models import Message, StripeEvent
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain.messages import MessageStatus
from perkstar_ui.services.stripe_billing import EventOutcome

REDIS_TIMEOUT_S = 2.0


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


def check_database() -> Check:
    try:
        with get_engine().connect() as connection:
            connection.execute(sa.select(1))
    except Exception as error:  # noqa: BLE001 - any failure means "not ready", said in the detail
        return Check("database", False, _first_line(error))
    return Check("database", True)


def check_redis(url: str) -> Check:
    """Unconfigured Redis is fine (one worker on SQLite); configured, it must answer."""
    if not url:
        return Check("redis", True, "not configured")
    client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001
        return Check("redis", False, _first_line(error))
    finally:
        client.close()
    return Check("redis", True)


def migration_heads() -> tuple[set[str], set[str]]:
    """(revisions the database is at, heads of the migration scripts)."""
    script_heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with get_engine().connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, script_heads


def check_migrations() -> Check:
    try:
        current, heads = migration_heads()
    except Exception as error:  # noqa: BLE001
        return Check("migrations", False, _first_line(error))
    if current != heads:
        return Check("migrations", False, f"database at {sorted(current) or 'none'}, code at {sorted(heads)}")
    return Check("migrations", True)


def readiness(settings: Settings) -> list[Check]:
    database = check_database()
    checks = [database, check_redis(settings.redis_url)]
    checks.append(check_migrations() if database.ok else Check("migrations", False, "database unreachable"))
    return checks


def startup_problem(settings: Settings) -> str | None:
    """One line naming why the app cannot start (database or Redis unreachable), or None."""
    for check in (check_database(), check_redis(settings.redis_url)):
        if not check.ok:
            variable = "DATABASE_URL" if check.name == "database" else "REDIS_URL"
            return f"perkstar: cannot start: {check.name} unreachable ({variable}): {check.detail}"
    return None


def outbox_depth() -> int:
    """Messages waiting for a worker (queued, including those between retries)."""
    with system_session() as session:
        return session.exec(select(func.count()).select_from(Message).where(Message.status == MessageStatus.QUEUED.value)).one()


def failing_webhooks() -> int:
    """Stripe events stored with an error, waiting to be retried."""
    with system_session() as session:
        return session.exec(
            select(func.count()).select_from(StripeEvent).where(StripeEvent.outcome == EventOutcome.FAILED)
        ).one()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]
