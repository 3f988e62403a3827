"""Staff invitations (issue 13 and its review): sending, listing, revoking, and the link.

The link's secret never rests in the database. ``invite`` queues an email whose stored
body holds ``LINK_SLOT`` and ties it to the invitation (``StaffInvite.message_id``); the
outbox asks ``links_for_messages`` inside its claim transaction, which mints a new token,
stores only its SHA-256 on the invitation and returns the link to put into the email being
sent. So neither a queued nor a sent message row holds a usable link. Each send mints anew:
an email retried after a failure carries a fresh link and the earlier one stops working.

One open invitation per email and merchant: inviting the same email again revokes the old
one (its link is dead; a queued email of it is skipped when claimed). Owners list the open
invitations with where their email is (queued, sent, failed or skipped, and why: an
invitation whose email never left is not "sent") and revoke one; revocations and re-sends
are audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from perkstar_ui.db.models import Merchant, Message, StaffInvite, as_utc, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import security
from perkstar_ui.domain.messages import MessageStatus
from perkstar_ui.services import audit, staff
from perkstar_ui.services.audit import Action
from perkstar_ui.services.staff import INVITE_LIFETIME, INVITE_PATH, StaffError

LINK_SLOT = "[invitation link]"  # stored in the body; the link replaces it only in the email sent
NOT_PENDING = "This invitation is no longer pending."


@dataclass(frozen=True)
class PendingInvite:
    id: int
    email: str
    role: str
    sent_at: dt.datetime  # when it was made (the email follows within the worker's next round)
    expires_at: dt.datetime
    # Its email's outbox status and, for failed or skipped, why; None: no message row
    # (an invitation mailed before its email was tied to it, or the row was deleted).
    email_status: MessageStatus | None = None
    email_reason: str | None = None


def open_invite(now: dt.datetime) -> sa.ColumnElement[bool]:
    """Neither accepted, revoked nor expired."""
    return sa.and_(StaffInvite.accepted_at.is_(None), StaffInvite.revoked_at.is_(None), StaffInvite.expires_at > now)


def _revoke_open(session: Session, email: str, now: dt.datetime) -> int:
    return session.execute(sa.update(StaffInvite).where(StaffInvite.email == email, open_invite(now))
                           .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount


def invite(merchant_id: int, email: str, role: str, *, staff_user_id: int | None,
           now: dt.datetime | None = None) -> int:
    """Queue the invitation email (its link minted at send) and return the invitation's id;
    an open invitation of the same email is revoked (its link replaced)."""
    email, role = staff.clean_email(email), staff.clean_role(role)
    if staff.email_taken(email):
        raise StaffError(staff.EMAIL_TAKEN)
    now = now or utcnow()
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        replaced = _revoke_open(session, email, now)
        message = Message(
            merchant_id=merchant_id, channel="email", recipient=email,
            subject=f"Join {merchant.name} on Perkstar",
            body=f"You are invited to {merchant.name} as {role.value}. Set your password within 48 hours: {LINK_SLOT}",
        )
        session.add(message)
        session.flush()
        # Until the outbox mints the link, the hash is of a token nobody has.
        found = StaffInvite(merchant_id=merchant_id, email=email, role=role.value,
                            token_hash=security.token_hash(security.new_token()), expires_at=now + INVITE_LIFETIME,
                            invited_by_id=staff_user_id, message_id=message.id, created_at=now)
        session.add(found)
        session.flush()
        detail = {"email": email, "role": role.value} | ({"replaced": True} if replaced else {})
        audit.record(merchant_id, Action.STAFF_INVITE, staff_user_id=staff_user_id, detail=detail, session=session)
        session.commit()
        return found.id


def pending(merchant_id: int, *, now: dt.datetime | None = None) -> list[PendingInvite]:
    """The open invitations, newest first, each with its email's status."""
    with tenant_session(merchant_id) as session:
        rows = session.exec(
            select(StaffInvite, Message.status, Message.reason)
            .join(Message, Message.id == StaffInvite.message_id, isouter=True)
            .where(open_invite(now or utcnow()))
            .order_by(StaffInvite.created_at.desc(), StaffInvite.id.desc())
        ).all()
        return [PendingInvite(r.id, r.email, r.role, as_utc(r.created_at), as_utc(r.expires_at),
                              MessageStatus(status) if status else None, reason)
                for r, status, reason in rows]


def revoke(merchant_id: int, invite_id: int, *, staff_user_id: int | None, now: dt.datetime | None = None) -> str:
    """Kill an open invitation's link (one conditional update: an acceptance racing it wins
    or loses whole); the invited email. ``StaffError`` when it is not open any more."""
    now = now or utcnow()
    with tenant_session(merchant_id) as session:
        found = session.exec(select(StaffInvite).where(StaffInvite.id == int(invite_id))).first()
        changed = session.execute(
            sa.update(StaffInvite).where(StaffInvite.id == int(invite_id), open_invite(now))
            .values(revoked_at=now).execution_options(synchronize_session=False)
        ).rowcount if found is not None else 0
        if changed != 1:
            raise StaffError(NOT_PENDING)
        audit.record(merchant_id, Action.STAFF_UPDATE, staff_user_id=staff_user_id, session=session,
                     detail={"email": found.email, "change": "invite-revoked", "role": found.role})
        session.commit()
        return found.email


def links_for_messages(session: Session, message_ids: list[int], base_url: str,
                       now: dt.datetime) -> tuple[dict[int, str], set[int]]:
    """For the outbox's claim transaction (a ``system_session``): of these messages, the
    invitation emails get a freshly minted link ({message id: link}; only its hash is
    stored); those whose invitation is no longer open are returned apart, to be skipped."""
    if not message_ids:
        return {}, set()
    invites = session.exec(select(StaffInvite).where(StaffInvite.message_id.in_(message_ids))).all()
    links, closed = {}, set()
    for found in invites:
        if found.accepted_at is not None or found.revoked_at is not None or as_utc(found.expires_at) <= now:
            closed.add(found.message_id)
            continue
        token = security.new_token()
        found.token_hash = security.token_hash(token)
        session.add(found)
        links[found.message_id] = f"{base_url.rstrip('/')}{INVITE_PATH}{token}"
    session.flush()
    return links, closed
