"""Merchant accounts, password logins and server-side sessions."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui import config
from perkstar_ui.db.models import (
    CardTemplate,
    LoginSession,
    Merchant,
    StaffUser,
    as_utc,
    utcnow,
)
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain import security
from perkstar_ui.domain.card_types import STARTER_TEMPLATE_NAMES, CardType, default_settings
from perkstar_ui.services import audit, login_throttle, secrets_box, two_factor

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


class CodeRequired(AccountError):
    """The password was right; this user signs in with an authentication code too."""


def log_in(email: str, password: str, *, code: str = "", browser: str | None = None, ip: str | None = None,
           device: str | None = None, now: dt.datetime | None = None) -> str:
    """Check the password (and the code when two-factor sign-in applies) and return a
    one-time login ticket bound to ``browser`` (the pre-login cookie), or raise
    ``AccountError`` (``CodeRequired`` when only the code is missing).

    The attempt is counted before anything is checked (``login_throttle.reserve``):
    too many recent failures for the email or the IP make the next attempt wait, except
    that a browser whose known-device cookie ``device`` names this email is not slowed
    by failures on the email (the IP's delays still apply).
    """
    now = now or utcnow()
    email = normalise_email(email)
    try:
        attempt = login_throttle.reserve(email, ip, known_device=known_device_for(device) == email, now=now)
    except login_throttle.Throttled as throttled:
        raise AccountError(str(throttled)) from None
    with system_session() as session:
        found = session.exec(
            select(StaffUser, Merchant).join(Merchant, Merchant.id == StaffUser.merchant_id)
            .where(StaffUser.email == email)
        ).first()
    user, merchant = found if found else (None, None)
    if user is None:
        security.burn_verification_time(password)
    # The slow hash is checked with no transaction open.
    ok = user is not None and security.verify_password(user.password_hash, password) and user.active
    if ok and two_factor.required(user, merchant):
        if not user.totp_enabled:
            login_throttle.forget(attempt)
            raise AccountError("Two-factor sign-in is required for managers here: ask an owner to lift the "
                               "requirement while you turn it on.")
        if not code.strip():
            login_throttle.forget(attempt)  # nothing decided yet: the code decides
            raise CodeRequired("Enter the authentication code from your app (or a recovery code).")
    with system_session() as session:
        ticket = None
        if ok and user.totp_enabled:
            # The row stays locked until the commit that spends the code: one login per code.
            locked = two_factor.lock_user(session, user.merchant_id, user.id)
            ok = locked is not None and locked.totp_enabled and two_factor.check_code(locked, code, now)
        login_throttle.settle(session, attempt, ok)
        if user is not None:
            audit.record(user.merchant_id, audit.Action.LOGIN if ok else audit.Action.LOGIN_FAILED,
                         staff_user_id=user.id, actor_email=user.email, ip=ip, session=session)
        if ok:
            ticket = security.new_token()
            session.add(
                LoginSession(
                    merchant_id=user.merchant_id,
                    staff_user_id=user.id,
                    ticket_hash=security.token_hash(ticket),
                    ticket_expires_at=now + TICKET_LIFETIME,
                    browser_hash=security.token_hash(browser) if browser else None,
                    expires_at=now + dt.timedelta(hours=config.session_hours()),
                )
            )
        session.commit()
    if ticket is None:
        raise AccountError("Wrong email, password or code." if code.strip() else "Wrong email or password.")
    return ticket


class Redeemed(NamedTuple):
    token: str  # the session cookie's value
    staff_user_id: int


def redeem_ticket(ticket: str, *, browser: str | None, replaces: str | None = None,
                  now: dt.datetime | None = None) -> Redeemed | None:
    """Trade a fresh ticket for a session token (once), only in the browser that typed the
    password (``browser`` = its pre-login cookie); None when invalid, stale or another
    browser's. The session whose token ``replaces`` names (this browser's previous login)
    ends."""
    now = now or utcnow()
    with system_session() as session:
        login = session.exec(
            select(LoginSession).where(LoginSession.ticket_hash == security.token_hash(ticket))
        ).first()
        if login is None:
            return None
        login.ticket_hash = None  # single use, even when stale or refused
        fresh = login.ticket_expires_at is not None and as_utc(login.ticket_expires_at) >= now
        bound = bool(browser) and login.browser_hash is not None and hmac.compare_digest(
            login.browser_hash, security.token_hash(browser))
        if not (fresh and bound):
            session.delete(login)
            session.commit()
            return None
        if replaces:
            session.execute(sa.delete(LoginSession).where(LoginSession.token_hash == security.token_hash(replaces)))
        token = security.new_token()
        login.token_hash = security.token_hash(token)
        session.commit()
        return Redeemed(token, login.staff_user_id)


def known_device_for(cookie: str | None) -> str | None:
    """The email a known-device cookie vouches for (signed by this server), else None."""
    return secrets_box.unsign(cookie)


def known_device_cookie(staff_user_id: int) -> str:
    """Set after a login: this browser has signed in as this user."""
    with system_session() as session:
        email = session.exec(select(StaffUser.email).where(StaffUser.id == staff_user_id)).one()
    return secrets_box.sign(email)


# Every guarded event of every tab resolves its session: the statement is built once
# (building it per call cost a fifth of the call), columns, not the LoginSession entity.
_SESSION_BY_TOKEN_HASH = (
    select(LoginSession.merchant_id, LoginSession.staff_user_id, LoginSession.expires_at,
           Merchant.name, StaffUser.email, StaffUser.role, StaffUser.active)
    .join(Merchant, Merchant.id == LoginSession.merchant_id)
    .join(StaffUser, StaffUser.id == LoginSession.staff_user_id)
    .where(LoginSession.token_hash == sa.bindparam("token_hash"))
)


def resolve_session(token: str | None, *, now: dt.datetime | None = None) -> LoginContext | None:
    if not token:
        return None
    now = now or utcnow()
    with system_session() as session:
        row = session.exec(_SESSION_BY_TOKEN_HASH, params={"token_hash": security.token_hash(token)}).first()
    if row is None:
        return None
    merchant_id, staff_user_id, expires_at, merchant_name, staff_email, role, active = row
    if as_utc(expires_at) <= now or not active:  # a deactivated user's sessions end at once
        return None
    return LoginContext(merchant_id, staff_user_id, merchant_name, staff_email, role)


def log_out(token: str | None, *, ip: str | None = None) -> None:
    """End the session (server-side) and note it in the audit log."""
    if not token:
        return
    with system_session() as session:
        login = session.exec(select(LoginSession).where(LoginSession.token_hash == security.token_hash(token))).first()
        if login is None:
            return
        audit.record(login.merchant_id, audit.Action.LOGOUT, staff_user_id=login.staff_user_id, ip=ip, session=session)
        session.delete(login)
        session.commit()


def purge_expired(now: dt.datetime | None = None) -> int:
    """Nightly housekeeping (worker job ``purge-logins``): expired sessions, old attempts."""
    return login_throttle.purge(now)


