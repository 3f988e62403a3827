"""Staff accounts: invitations through the outbox, accepting them, roles, deactivation and
the rule that a merchant always keeps an active owner (also under concurrency)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlmodel import select

from perkstar_ui import cli
from perkstar_ui.config import settings
from perkstar_ui.db.models import LoginSession, StaffInvite, StaffUser, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.services import accounts, audit, staff, staff_invites
from perkstar_ui.services.audit import AuditFilter
from perkstar_ui.services.staff import StaffError
from tests.helpers import deliver_emails_to, session_token

INVITE_TOKEN = re.compile(r"/invite/([A-Za-z0-9_-]+)")


def _owner_id(merchant_id: int) -> int:
    with tenant_session(merchant_id) as session:
        return session.exec(select(StaffUser.id).where(StaffUser.role == "owner")).first()


def _user(email: str) -> StaffUser | None:
    with system_session() as session:
        return session.exec(select(StaffUser).where(StaffUser.email == email)).first()


def test_invite_mails_a_link_and_accepting_creates_a_user_who_can_log_in(merchant, unique, inbox):
    owner = _owner_id(merchant)
    email = f"new-{unique}@shop.test"
    staff_invites.invite(merchant, email.upper(), "manager", staff_user_id=owner)
    [mail] = deliver_emails_to(inbox, email)
    token = INVITE_TOKEN.search(mail.text).group(1)
    assert f"{settings().public_urls[0].rstrip('/')}/invite/{token}" in mail.text
    view = staff.invite_view(token)
    assert view.email == email and view.role == "manager" and view.merchant_name.startswith("Shop")
    with pytest.raises(StaffError, match="do not match"):
        staff.accept_invite(token, "long-password", "other-password")
    assert staff.accept_invite(token, "long-password", "long-password") == email
    user = _user(email)
    assert (user.merchant_id, user.role, user.active) == (merchant, "manager", True)
    assert accounts.log_in(email, "long-password")
    # one use only
    assert staff.invite_view(token) is None
    with pytest.raises(StaffError):
        staff.accept_invite(token, "another-pass", "another-pass")
    actions = [r.action for r in audit.list_entries(merchant)[0]]
    assert "staff-invite" in actions and "staff-update" in actions
    assert staff_invites.pending(merchant) == []


def test_invite_expires_after_48_hours(merchant, unique, inbox):
    email = f"late-{unique}@shop.test"
    invite_id = staff_invites.invite(merchant, email, "staff", staff_user_id=None)
    assert deliver_emails_to(inbox, email)
    with tenant_session(merchant) as session:  # sent 49 hours ago
        found = session.get(StaffInvite, invite_id)
        found.expires_at = utcnow() - dt.timedelta(hours=1)
        session.commit()
    token = INVITE_TOKEN.search(inbox.to(email)[0].text).group(1)
    assert staff.invite_view(token) is None
    with pytest.raises(StaffError, match="not valid"):
        staff.accept_invite(token, "long-password", "long-password")
    assert staff.invite_view("no-such-token") is None
    assert staff_invites.pending(merchant) == []


def test_invite_refuses_a_known_email_and_a_bad_role(merchant, unique):
    with pytest.raises(StaffError, match="already exists"):
        staff_invites.invite(merchant, f"owner-{unique}@shop.test", "staff", staff_user_id=None)
    with pytest.raises(StaffError, match="Unknown role"):
        staff_invites.invite(merchant, f"x-{unique}@shop.test", "admin", staff_user_id=None)
    with pytest.raises(StaffError, match="valid email"):
        staff_invites.invite(merchant, "nobody", "staff", staff_user_id=None)


def test_create_staff_for_the_cli(merchant, unique):
    user_id = staff.create_staff(f"owner-{unique}@shop.test", f"desk-{unique}@shop.test", "long-password", "staff")
    assert [r.email for r in staff.list_staff(merchant) if r.id == user_id] == [f"desk-{unique}@shop.test"]
    with pytest.raises(StaffError, match="No owner"):
        staff.create_staff(f"desk-{unique}@shop.test", f"x-{unique}@shop.test", "long-password", "staff")


def test_the_last_owner_can_neither_be_demoted_nor_deactivated(merchant):
    owner = _owner_id(merchant)
    with pytest.raises(StaffError, match="active owner"):
        staff.change_role(merchant, owner, "manager", staff_user_id=owner)
    with pytest.raises(StaffError, match="active owner"):
        staff.deactivate(merchant, owner, staff_user_id=owner)


def test_role_change_and_deactivation_end_sessions_at_once(merchant, unique):
    owner = _owner_id(merchant)
    user_id = staff.create_staff(f"owner-{unique}@shop.test", f"desk-{unique}@shop.test", "long-password", "staff")
    staff.change_role(merchant, user_id, "manager", staff_user_id=owner)
    token = session_token(f"desk-{unique}@shop.test", "long-password")
    assert accounts.resolve_session(token) is not None
    staff.deactivate(merchant, user_id, staff_user_id=owner)
    assert accounts.resolve_session(token) is None
    with system_session() as session:
        assert session.exec(select(LoginSession).where(LoginSession.staff_user_id == user_id)).first() is None
    row = next(r for r in staff.list_staff(merchant) if r.id == user_id)
    assert (row.role, row.active) == ("manager", False)
    changes = audit.list_entries(merchant, AuditFilter(action="staff-update"))[0]
    assert [r.detail.get("change") for r in changes][:2] == ["deactivated", "role"]
    assert changes[0].actor == f"owner-{unique}@shop.test"


def test_another_merchants_user_is_not_found(merchant, other_merchant):
    with pytest.raises(StaffError, match="no longer exists"):
        staff.change_role(merchant, _owner_id(other_merchant), "staff", staff_user_id=None)


def test_two_owners_demoting_each_other_at_once_leave_one_owner(merchant, unique):
    first = _owner_id(merchant)
    second = staff.create_staff(f"owner-{unique}@shop.test", f"co-{unique}@shop.test", "long-password", "manager")
    staff.change_role(merchant, second, "owner", staff_user_id=first)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(target: int, actor: int) -> None:
        barrier.wait()
        try:
            staff.change_role(merchant, target, "manager", staff_user_id=actor)
            outcomes.append("done")
        except StaffError:
            outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=(first, second)),
               threading.Thread(target=demote, args=(second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["done", "refused"]
    owners = [r for r in staff.list_staff(merchant) if r.role == "owner" and r.active]
    assert len(owners) == 1


def test_cli_create_staff_adds_a_login_that_works(merchant, unique, capsys):
    owner_email = f"owner-{unique}@shop.test"
    code = cli.main(["create-staff", "--merchant-email", owner_email, "--email", f"Till-{unique}@shop.test",
                     "--password", "long-password", "--role", "staff"])
    assert code == 0 and "Created staff" in capsys.readouterr().out
    user = _user(f"till-{unique}@shop.test")
    assert (user.merchant_id, user.role, user.active) == (merchant, "staff", True)
    assert session_token(f"till-{unique}@shop.test", "long-password")
    again = cli.main(["create-staff", "--merchant-email", owner_email, "--email", f"till-{unique}@shop.test",
                      "--password", "long-password", "--role", "staff"])
    assert again == 1 and "already exists" in capsys.readouterr().err


def test_a_deactivated_user_cannot_log_in(merchant, unique):
    user_id = staff.create_staff(f"owner-{unique}@shop.test", f"gone-{unique}@shop.test", "long-password", "staff")
    staff.deactivate(merchant, user_id, staff_user_id=_owner_id(merchant))
    with pytest.raises(accounts.AccountError):
        session_token(f"gone-{unique}@shop.test", "long-password")
