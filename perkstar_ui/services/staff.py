"""Staff accounts of a merchant (contract v2 "Accounts, staff and audit").

An owner invites by email (``services.staff_invites``): a one-time link
(``/invite/{token}``, valid 48 h) minted when the outbox sends it; the database keeps only
the token's SHA-256. Accepting sets the password and creates the ``StaffUser``. Roles change and users are deactivated here; a deactivated
user's sessions are deleted in the same transaction, so they end at once.

A merchant always keeps at least one active owner. Every change that could remove one
first locks the merchant row (``db.locks.merchant_row``: PostgreSQL ``FOR NO KEY UPDATE``,
which leaves card actions and new customers running, SQLite ``BEGIN IMMEDIATE``), so two
owners demoting each other at the same moment are serialised and the second is refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from perkstar_ui.db import locks
from perkstar_ui.db.models import LoginSession, Merchant, StaffInvite, StaffUser, as_utc, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import security
from perkstar_ui.services import audit
from perkstar_ui.services.audit import Action

INVITE_LIFETIME = dt.timedelta(hours=48)
INVITE_PATH = "/invite/"
LAST_OWNER = "A business needs at least one active owner."
INVITE_INVALID = "This invitation link is not valid any more. Ask for a new one."
PASSWORDS_DIFFER = "The passwords do not match."
EMAIL_TAKEN = "An account with this email already exists."
BAD_EMAIL = "Enter a valid email address."
NOT_FOUND = "This user no longer exists."


class StaffRole(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    STAFF = "staff"


class StaffError(ValueError):
    """A refusal with a message fit for the merchant."""


@dataclass(frozen=True)
class StaffRow:
    id: int
    email: str
    role: str
    active: bool


@dataclass(frozen=True)
class InviteView:
    """What the public invite page may show: the business and the invited email."""

    merchant_name: str
    email: str
    role: str


def clean_email(email: str) -> str:
    cleaned = (email or "").strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or "." not in domain or " " in cleaned or len(cleaned) > 254:
        raise StaffError(BAD_EMAIL)
    return cleaned


def clean_role(role: str) -> StaffRole:
    try:
        return StaffRole(str(role).strip().lower())
    except ValueError as error:
        raise StaffError(f"Unknown role {role!r}.") from error


def email_taken(email: str) -> bool:
    with system_session() as session:
        return session.exec(select(StaffUser.id).where(StaffUser.email == email)).first() is not None


def list_staff(merchant_id: int) -> list[StaffRow]:
    with tenant_session(merchant_id) as session:
        users = session.exec(select(StaffUser).order_by(StaffUser.email)).all()
        return [StaffRow(u.id, u.email, u.role, u.active) for u in users]


def _open_invite(session: Session, token: str, now: dt.datetime) -> StaffInvite | None:
    found = session.exec(select(StaffInvite).where(StaffInvite.token_hash == security.token_hash(token or ""))).first()
    if found is None or found.accepted_at is not None or found.revoked_at is not None:
        return None
    if as_utc(found.expires_at) <= now:
        return None
    return found


def invite_view(token: str, *, now: dt.datetime | None = None) -> InviteView | None:
    """The invitation behind a link, or None when unknown, used or expired."""
    with system_session() as session:
        found = _open_invite(session, token, now or utcnow())
        if found is None:
            return None
        merchant = session.get(Merchant, found.merchant_id)
        return InviteView(merchant.name, found.email, found.role)


def accept_invite(token: str, password: str, repeat: str, *, now: dt.datetime | None = None) -> str:
    """Set the password and create the user (once); returns the email to log in with."""
    if password != repeat:
        raise StaffError(PASSWORDS_DIFFER)
    now = now or utcnow()
    with system_session() as session:
        # The token first (a cheap hash lookup): a made-up token never costs an argon2 hash.
        found = _open_invite(session, token, now)
        if found is None:
            raise StaffError(INVITE_INVALID)
        try:
            password_hash = security.hash_password(password)
        except ValueError as error:
            raise StaffError(str(error)) from error
        if session.exec(select(StaffUser.id).where(StaffUser.email == found.email)).first() is not None:
            raise StaffError(EMAIL_TAKEN)
        # Single use even when two tabs submit at once: only one UPDATE sees accepted_at empty.
        claimed = session.execute(sa.update(StaffInvite).where(StaffInvite.id == found.id,
                                                               StaffInvite.accepted_at.is_(None),
                                                               StaffInvite.revoked_at.is_(None))
                                  .values(accepted_at=now)).rowcount
        if claimed != 1:
            raise StaffError(INVITE_INVALID)
        user = StaffUser(merchant_id=found.merchant_id, email=found.email, password_hash=password_hash,
                         role=found.role)
        session.add(user)
        session.flush()
        audit.record(found.merchant_id, Action.STAFF_UPDATE, staff_user_id=user.id,
                     detail={"email": found.email, "change": "invite-accepted", "role": found.role},
                     session=session)
        session.commit()
        return found.email


def create_staff(owner_email: str, email: str, password: str, role: str) -> int:
    """CLI: a user with a password in the merchant whose owner has ``owner_email``."""
    email, role = clean_email(email), clean_role(role)
    try:
        password_hash = security.hash_password(password)
    except ValueError as error:
        raise StaffError(str(error)) from error
    with system_session() as session:
        owner = session.exec(select(StaffUser).where(StaffUser.email == owner_email.strip().lower(),
                                                     StaffUser.role == StaffRole.OWNER.value)).first()
        if owner is None:
            raise StaffError(f"No owner with the email {owner_email}.")
        if session.exec(select(StaffUser.id).where(StaffUser.email == email)).first() is not None:
            raise StaffError(EMAIL_TAKEN)
        user = StaffUser(merchant_id=owner.merchant_id, email=email, password_hash=password_hash, role=role.value)
        session.add(user)
        session.flush()
        audit.record(owner.merchant_id, Action.STAFF_UPDATE, actor_email="cli",
                     detail={"email": email, "change": "created", "role": role.value}, session=session)
        session.commit()
        return user.id


def _other_active_owners(session: Session, user_id: int) -> int:
    return session.exec(select(sa.func.count()).select_from(StaffUser).where(
        StaffUser.role == StaffRole.OWNER.value, StaffUser.active.is_(True), StaffUser.id != user_id)).one()


def _target(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise StaffError(NOT_FOUND)
    return user


def change_role(merchant_id: int, user_id: int, role: str, *, staff_user_id: int | None) -> None:
    new_role = clean_role(role)
    with tenant_session(merchant_id) as session:
        locks.merchant_row(session, merchant_id)
        user = _target(session, user_id)
        if user.role == new_role.value:
            return
        if user.role == StaffRole.OWNER.value and user.active and not _other_active_owners(session, user.id):
            raise StaffError(LAST_OWNER)
        old = user.role
        user.role = new_role.value
        audit.record(merchant_id, Action.STAFF_UPDATE, staff_user_id=staff_user_id,
                     detail={"email": user.email, "change": "role", "from": old, "to": new_role.value},
                     session=session)
        session.commit()


def deactivate(merchant_id: int, user_id: int, *, staff_user_id: int | None) -> None:
    """The user can no longer log in; their sessions are deleted in the same transaction."""
    with tenant_session(merchant_id) as session:
        locks.merchant_row(session, merchant_id)
        user = _target(session, user_id)
        if not user.active:
            return
        if user.role == StaffRole.OWNER.value and not _other_active_owners(session, user.id):
            raise StaffError(LAST_OWNER)
        user.active = False
        user.deactivated_at = utcnow()
        session.execute(sa.delete(LoginSession).where(LoginSession.merchant_id == merchant_id,
                                                      LoginSession.staff_user_id == user.id))
        audit.record(merchant_id, Action.STAFF_UPDATE, staff_user_id=staff_user_id,
                     detail={"email": user.email, "change": "deactivated"}, session=session)
        session.commit()

