"""Merchant accounts, password logins and server-side sessions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui import config
from perkstar_ui.db.models import (
    CardTemplate,
    LoginAttempt,
    LoginSession,
    Merchant,
    StaffUser,
    as_utc,
    utcnow,
)
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain import security
from perkstar_ui.domain.card_types import STARTER_TEMPLATE_NAMES, CardType, default_settings

THROTTLE = security.ThrottlePolicy()
TICKET_LIFETIME = dt.timedelta(seconds=60)


class AccountError(ValueError):
    """A refusal with a message fit for the merchant."""


@dataclass(frozen=True)
class LoginContext:
    """Who is behind a request: resolved on the server for every event, never sent."""

    merchant_id: int
    staff_user_id: int
    merchant_name: str
    staff_email: str
    role: str = ""  # domain.permissions.Role value; "" may do nothing


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_merchant(name: str, email: str, password: str, *, default_country: str = "GB") -> int:
    """A merchant, its owner login and one starter template per card type."""
    email = normalise_email(email)
    if not name.strip():
        raise AccountError("The business name is required.")
    if "@" not in email:
        raise AccountError("A valid email is required.")
    password_hash = security.hash_password(password)
    with system_session() as session:
        if session.exec(select(StaffUser.id).where(StaffUser.email == email)).first():
            raise AccountError(f"An account with the email {email} already exists.")
        merchant = Merchant(name=name.strip(), default_country=default_country)
        session.add(merchant)
        session.flush()
        session.add(
            StaffUser(merchant_id=merchant.id, email=email, password_hash=password_hash, role="owner")
        )
        for card_type in CardType:
            session.add(
                CardTemplate(
                    merchant_id=merchant.id,
                    name=STARTER_TEMPLATE_NAMES[card_type],
                    card_type=card_type.value,
                    settings=default_settings(card_type).model_dump(mode="json"),
                    active=True,
                )
            )
        session.commit()
        return merchant.id


def merchant_id_for_email(email: str) -> int | None:
    with system_session() as session:
        return session.exec(
            select(StaffUser.merchant_id).where(StaffUser.email == normalise_email(email))
        ).first()


def log_in(email: str, password: str, *, now: dt.datetime | None = None) -> str:
    """Check the password and return a one-time login ticket, or raise ``AccountError``.

    Failed attempts per email are counted; past the throttle limit even the right
    password is refused until the window passes.
    """
    now = now or utcnow()
    email = normalise_email(email)
    with system_session() as session:
        failures = _recent_failures(session, email, now)
        wait = THROTTLE.retry_after(failures, now)
        if wait is not None:
            raise AccountError(security.throttle_message(wait))
        user = session.exec(select(StaffUser).where(StaffUser.email == email)).first()
        if user is None:
            security.burn_verification_time(password)
            ok = False
        else:
            ok = security.verify_password(user.password_hash, password)
        session.add(LoginAttempt(email=email, succeeded=ok, attempted_at=now))
        if not ok:
            session.commit()
            raise AccountError("Wrong email or password.")
        ticket = security.new_token()
        session.add(
            LoginSession(
                merchant_id=user.merchant_id,
                staff_user_id=user.id,
                ticket_hash=security.token_hash(ticket),
                ticket_expires_at=now + TICKET_LIFETIME,
                expires_at=now + dt.timedelta(hours=config.session_hours()),
            )
        )
        session.commit()
        return ticket


def _recent_failures(session, email: str, now: dt.datetime) -> list[dt.datetime]:  # noqa: ANN001
    """Failures inside the throttle window that came after the last success."""
    since = now - THROTTLE.window
    rows = session.exec(
        select(LoginAttempt.attempted_at, LoginAttempt.succeeded)
        .where(LoginAttempt.email == email, LoginAttempt.attempted_at > since)
        .order_by(LoginAttempt.attempted_at)
    ).all()
    failures: list[dt.datetime] = []
    for attempted_at, succeeded in rows:
        if succeeded:
            failures.clear()
        else:
            failures.append(as_utc(attempted_at))
    return failures


def redeem_ticket(ticket: str, *, now: dt.datetime | None = None) -> tuple[str, dt.datetime] | None:
    """Trade a fresh ticket for a session token (once); None when invalid or stale."""
    now = now or utcnow()
    with system_session() as session:
        login = session.exec(
            select(LoginSession).where(LoginSession.ticket_hash == security.token_hash(ticket))
        ).first()
        if login is None:
            return None
        login.ticket_hash = None  # single use, even when stale
        if login.ticket_expires_at is None or as_utc(login.ticket_expires_at) < now:
            session.commit()
            return None
        token = security.new_token()
        login.token_hash = security.token_hash(token)
        session.commit()
        return token, as_utc(login.expires_at)


def resolve_session(token: str | None, *, now: dt.datetime | None = None) -> LoginContext | None:
    if not token:
        return None
    now = now or utcnow()
    with system_session() as session:
        row = session.exec(
            select(LoginSession, Merchant.name, StaffUser.email, StaffUser.role, StaffUser.active)
            .join(Merchant, Merchant.id == LoginSession.merchant_id)
            .join(StaffUser, StaffUser.id == LoginSession.staff_user_id)
            .where(LoginSession.token_hash == security.token_hash(token))
        ).first()
    if row is None:
        return None
    login, merchant_name, staff_email, role, active = row
    if as_utc(login.expires_at) <= now or not active:  # a deactivated user's sessions end at once
        return None
    return LoginContext(login.merchant_id, login.staff_user_id, merchant_name, staff_email, role)


def log_out(token: str | None) -> None:
    if not token:
        return
    with system_session() as session:
        session.execute(
            sa.delete(LoginSession).where(LoginSession.token_hash == security.token_hash(token))
        )
        session.commit()


def purge_expired(now: dt.datetime | None = None) -> None:
    """Housekeeping: drop expired sessions and attempts older than the throttle window."""
    now = now or utcnow()
    with system_session() as session:
        session.execute(sa.delete(LoginSession).where(LoginSession.expires_at < now))
        session.execute(
            sa.delete(LoginAttempt).where(LoginAttempt.attempted_at < now - THROTTLE.window)
        )
        session.commit()


