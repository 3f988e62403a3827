"""Staff invitations (issue 13 review): the link's secret is minted when the outbox sends the
email and never rests in the database (a real SMTP server receives it); owners list pending
invitations and revoke one; inviting the same email again replaces the link. Real database,
real outbox, real SMTP (tests/unit/conftest.py ``inbox``)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import Message, StaffInvite, StaffUser, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import security
from perkstar_ui.domain.messages import Channel, MessageStatus, SkipReason
from perkstar_ui.services import audit, outbox, staff, staff_invites
from perkstar_ui.services.audit import AuditFilter
from perkstar_ui.services.staff import StaffError
from tests.helpers import deliver_emails_to

INVITE_TOKEN = re.compile(r"/invite/([A-Za-z0-9_-]+)")


def _owner_id(merchant_id: int) -> int:
    with tenant_session(merchant_id) as session:
        return session.exec(select(StaffUser.id).where(StaffUser.role == "owner")).first()


def _message(merchant_id: int, email: str) -> list[Message]:
    with tenant_session(merchant_id) as session:
        return list(session.exec(select(Message).where(Message.recipient == email).order_by(Message.id)).all())


def _everything_stored(merchant_id: int) -> str:
    """Every column of the merchant's messages and invitations as text, to search for a secret."""
    with system_session() as session:
        rows = [*session.execute(sa.select(Message.__table__).where(Message.merchant_id == merchant_id)).all(),
                *session.execute(sa.select(StaffInvite.__table__).where(StaffInvite.merchant_id == merchant_id)).all()]
    return json.dumps([[str(value) for value in row] for row in rows])


def _token(mail) -> str:  # noqa: ANN001
    return INVITE_TOKEN.search(mail.text).group(1)


def test_the_mail_carries_a_working_link_the_database_never_holds_it(merchant, unique, inbox):
    email = f"new-{unique}@shop.test"
    staff_invites.invite(merchant, email, "staff", staff_user_id=_owner_id(merchant))
    [queued] = _message(merchant, email)
    assert "/invite/" not in queued.body and staff_invites.LINK_SLOT in queued.body  # pending: no link stored
    [mail] = deliver_emails_to(inbox, email)
    token = _token(mail)
    assert staff.invite_view(token).email == email  # the mailed link works
    [sent] = _message(merchant, email)
    assert sent.status == MessageStatus.SENT.value
    assert "/invite/" not in sent.body and token not in _everything_stored(merchant)  # nor afterwards
    with tenant_session(merchant) as session:
        assert session.exec(select(StaffInvite.token_hash)).one() == security.token_hash(token)  # only its hash
    assert staff.accept_invite(token, "long-password", "long-password") == email


def test_a_send_retried_after_a_lost_result_mints_a_new_link_and_the_first_dies(merchant, unique):
    email = f"retry-{unique}@shop.test"
    staff_invites.invite(merchant, email, "staff", staff_user_id=None)
    [message] = _message(merchant, email)
    now, lease = utcnow(), dt.timedelta(seconds=30)

    def claimed_link(at: dt.datetime) -> str:
        for _ in range(100):  # other tests' due messages may come first
            found = [c for c in outbox.claim("lost-worker", 50, lease, at, channels=[Channel.EMAIL])
                     if c.outbound.id == message.id]
            if found:
                return found[0].outbound.body
        raise AssertionError("the invitation was never claimed")

    first = claimed_link(now)  # the worker died before recording it
    second = claimed_link(now + lease + dt.timedelta(seconds=1))  # its lease ran out: claimed again
    assert _token_of(first) != _token_of(second)
    assert staff.invite_view(_token_of(first)) is None and staff.invite_view(_token_of(second)).email == email


def _token_of(body: str) -> str:
    return INVITE_TOKEN.search(body).group(1)


def test_owners_list_pending_invitations_and_revoke_one(merchant, other_merchant, unique, inbox):
    owner = _owner_id(merchant)
    keep, drop = f"keep-{unique}@shop.test", f"drop-{unique}@shop.test"
    staff_invites.invite(merchant, keep, "manager", staff_user_id=owner)
    drop_id = staff_invites.invite(merchant, drop, "staff", staff_user_id=owner)
    pending = staff_invites.pending(merchant)
    assert [(p.email, p.role) for p in pending] == [(drop, "staff"), (keep, "manager")]  # newest first
    assert pending[0].expires_at - pending[0].sent_at == staff.INVITE_LIFETIME
    token = _token(deliver_emails_to(inbox, drop)[0])
    with pytest.raises(StaffError, match="no longer pending"):
        staff_invites.revoke(other_merchant, drop_id, staff_user_id=None)  # another merchant's id
    assert staff_invites.revoke(merchant, drop_id, staff_user_id=owner) == drop
    assert staff.invite_view(token) is None
    with pytest.raises(StaffError, match="not valid"):
        staff.accept_invite(token, "long-password", "long-password")
    assert [p.email for p in staff_invites.pending(merchant)] == [keep]
    with pytest.raises(StaffError, match="no longer pending"):
        staff_invites.revoke(merchant, drop_id, staff_user_id=owner)  # once
    entry = audit.list_entries(merchant, AuditFilter(action="staff-update"))[0][0]
    with tenant_session(merchant) as session:
        owner_email = session.get(StaffUser, owner).email
    assert (entry.actor, entry.detail) == (owner_email, {"email": drop, "change": "invite-revoked", "role": "staff"})


def test_an_invitation_revoked_before_sending_is_never_mailed(merchant, unique, inbox):
    email = f"never-{unique}@shop.test"
    invite_id = staff_invites.invite(merchant, email, "staff", staff_user_id=None)
    staff_invites.revoke(merchant, invite_id, staff_user_id=None)
    assert deliver_emails_to(inbox, email) == []
    [message] = _message(merchant, email)
    assert (message.status, message.reason) == (MessageStatus.SKIPPED.value, SkipReason.INVITE_CLOSED.value)


def test_inviting_the_same_email_again_replaces_the_link(merchant, unique, inbox):
    owner = _owner_id(merchant)
    email = f"again-{unique}@shop.test"
    staff_invites.invite(merchant, email, "staff", staff_user_id=owner)
    old_token = _token(deliver_emails_to(inbox, email)[0])
    staff_invites.invite(merchant, email, "manager", staff_user_id=owner)
    assert staff.invite_view(old_token) is None  # the first link is dead at once
    inbox.messages.clear()
    new_token = _token(deliver_emails_to(inbox, email)[0])
    assert staff.invite_view(new_token).role == "manager"
    assert [(p.email, p.role) for p in staff_invites.pending(merchant)] == [(email, "manager")]
    sends = audit.list_entries(merchant, AuditFilter(action="staff-invite"))[0]
    assert [r.detail.get("replaced", False) for r in sends] == [True, False]  # newest first
    # twice before the worker ran: only the newest is mailed, the older one skipped
    other = f"twice-{unique}@shop.test"
    staff_invites.invite(merchant, other, "staff", staff_user_id=owner)
    staff_invites.invite(merchant, other, "staff", staff_user_id=owner)
    deliver_emails_to(inbox, other)
    first, second = _message(merchant, other)
    assert first.reason == SkipReason.INVITE_CLOSED.value and second.status == MessageStatus.SENT.value
    assert len(inbox.to(other)) == 1


def test_pending_invitations_say_whether_their_email_left(merchant, unique, inbox):
    """An invitation whose email failed or was skipped (no provider) is not listed as if sent."""
    sent, bounced, unsendable, waiting = (f"{kind}-{unique}@shop.test" for kind in ("sent", "bounce", "nop", "wait"))
    for email in (sent, bounced, unsendable, waiting):
        staff_invites.invite(merchant, email, "staff", staff_user_id=None)
    # What the worker writes when no email provider is configured (outbox.skip_unconfigured,
    # which acts on every merchant's due emails: not run here beside other tests); one waits.
    with tenant_session(merchant) as session:
        session.execute(sa.update(Message).where(Message.recipient == unsendable)
                        .values(status=MessageStatus.SKIPPED.value, reason=SkipReason.NO_PROVIDER.value))
        session.execute(sa.update(Message).where(Message.recipient == waiting)
                        .values(next_attempt_at=utcnow() + dt.timedelta(hours=1)))
        session.commit()
    inbox.refuse = {"bounce": "550 No such user"}
    assert deliver_emails_to(inbox, sent) and deliver_emails_to(inbox, bounced) == []
    shown = {p.email: (p.email_status, p.email_reason) for p in staff_invites.pending(merchant)}
    assert shown[sent] == (MessageStatus.SENT, None)
    assert shown[bounced][0] == MessageStatus.FAILED and "550" in shown[bounced][1]
    assert shown[unsendable] == (MessageStatus.SKIPPED, SkipReason.NO_PROVIDER.value)
    assert shown[waiting] == (MessageStatus.QUEUED, None)
    with tenant_session(merchant) as session:  # no message row (mailed before 0013 tied them): not claimed sent
        session.execute(sa.update(StaffInvite).where(StaffInvite.email == sent).values(message_id=None))
        session.commit()
    assert {p.email: p.email_status for p in staff_invites.pending(merchant)}[sent] is None
