"""Login attempts: reserved before the password is checked, throttled per email and per IP.

An attempt is counted (its ``login_attempt`` row inserted, as a failure) in the same short
transaction that checks the delays, under a lock on the email and the IP: of many parallel
attempts no more get to the password check than the policy allows. The check's outcome is
written afterwards (``accounts.log_in``). A browser that logged in to this email before (a signed
known-device cookie) is not slowed by other people's failures on the email; the per-IP
delay still applies to it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.models import LoginAttempt, LoginSession, as_utc, utcnow
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain import security
from perkstar_ui.domain.client_address import limit_key


class Throttled(Exception):
    """Too many recent failures: the message says how long to wait."""


def _lock(session, keys: list[str]) -> None:  # noqa: ANN001
    """One writer at a time per key until the transaction ends. SQLite: BEGIN IMMEDIATE
    (the one writer); PostgreSQL: transaction advisory locks, taken in a fixed order."""
    connection = session.connection()
    if is_sqlite(session.get_bind()):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    for key in sorted(set(keys)):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))


def _email_failures(session, email: str, since: dt.datetime) -> list[dt.datetime]:  # noqa: ANN001
    """Failures on the email inside the window that came after its last success."""
    rows = session.exec(
        select(LoginAttempt.attempted_at, LoginAttempt.succeeded)
        .where(LoginAttempt.email == email, LoginAttempt.attempted_at > since)
        .order_by(LoginAttempt.attempted_at, LoginAttempt.id)
    ).all()
    failures: list[dt.datetime] = []
    for attempted_at, succeeded in rows:
        if succeeded:
            failures.clear()
        else:
            failures.append(as_utc(attempted_at))
    return failures


def _ip_failures(session, ip: str, since: dt.datetime) -> list[dt.datetime]:  # noqa: ANN001
    """Failures from the IP inside the window (a success on some account resets nothing)."""
    rows = session.exec(
        select(LoginAttempt.attempted_at)
        .where(LoginAttempt.ip == ip, LoginAttempt.attempted_at > since, LoginAttempt.succeeded.is_(False))
    ).all()
    return [as_utc(at) for at in rows]


def reserve(email: str, ip: str | None, *, known_device: bool, now: dt.datetime | None = None) -> int:
    """Count an attempt before its password check; its id, or ``Throttled``. The attempt
    is kept under the client's ``limit_key`` (an IPv6 client's /56 network), which is what
    the per-IP delays count by."""
    now = now or utcnow()
    ip = limit_key(ip) or None
    with system_session() as session:
        _lock(session, [f"login-email:{email}"] + ([f"login-ip:{ip}"] if ip else []))
        waits = []
        if not known_device:
            policy = security.EMAIL_THROTTLE
            waits.append(policy.retry_after(_email_failures(session, email, now - policy.window), now))
        if ip:
            policy = security.IP_THROTTLE
            waits.append(policy.retry_after(_ip_failures(session, ip, now - policy.window), now))
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            session.rollback()
            raise Throttled(security.throttle_message(wait))
        attempt = LoginAttempt(email=email, ip=ip, succeeded=False, attempted_at=now)
        session.add(attempt)
        session.commit()
        return attempt.id


def settle(session, attempt_id: int, succeeded: bool) -> None:  # noqa: ANN001
    """Write a reserved attempt's outcome in the caller's transaction (a success clears the
    email's earlier failures)."""
    session.execute(sa.update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=succeeded))


def forget(attempt_id: int) -> None:
    """Uncount an attempt that checked nothing to decide (the right password, code still to come)."""
    with system_session() as session:
        session.execute(sa.delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        session.commit()


def purge(now: dt.datetime | None = None) -> int:
    """Nightly: drop expired sessions and attempts past retention; the rows removed."""
    now = now or utcnow()
    with system_session() as session:
        sessions = session.execute(sa.delete(LoginSession).where(LoginSession.expires_at < now)).rowcount
        attempts = session.execute(
            sa.delete(LoginAttempt).where(LoginAttempt.attempted_at < now - security.ATTEMPT_RETENTION)
        ).rowcount
        session.commit()
        return (sessions or 0) + (attempts or 0)
