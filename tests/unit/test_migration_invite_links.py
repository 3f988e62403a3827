"""Migration 0013 takes the invitation links out of message bodies stored before it and
leaves one open invitation per email: the newest, tied to the newest queued email of its
role (its link minted when sent); the email's older open invitations are revoked and every
other queued invitation email is skipped. Its downgrade keeps revoked invitations dead and
skips queued emails holding the placeholder. On a throw-away database of the run's backend
(SQLite file or PostgreSQL), migrated step by step."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
import sqlalchemy as sa
from alembic import command

from perkstar_ui.db import migrate

REVISION = importlib.import_module("perkstar_ui.db.migrations.versions.0013_invite_revoke_and_link_at_send")
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
BODY = "You are invited to Shop as {role}. Set your password within 48 hours: https://app.test/invite/{token}"
SLOT_BODY = "You are invited to Shop as {role}. Set your password within 48 hours: [invitation link]"
CLOSED = "invitation no longer valid"


@pytest.fixture
def url(empty_database_url: str) -> str:
    return empty_database_url


def _message(connection, id_: int, email: str, role: str, status: str, minutes_ago: int) -> None:  # noqa: ANN001
    connection.execute(sa.text(
        "INSERT INTO message (id, merchant_id, channel, recipient, subject, body, status, attempts, created_at)"
        " VALUES (:id, 1, 'email', :email, 'Join Shop on Perkstar', :body, :status, 0, :at)"),
        {"id": id_, "email": email, "body": BODY.format(role=role, token=f"tok{id_}_secret-AbC"), "status": status,
         "at": NOW - dt.timedelta(minutes=minutes_ago)})


def _invite(connection, id_: int, email: str, role: str, minutes_ago: int, *, accepted: bool = False) -> None:  # noqa: ANN001
    made = NOW - dt.timedelta(minutes=minutes_ago)
    connection.execute(sa.text(
        "INSERT INTO staff_invite (id, merchant_id, email, role, token_hash, expires_at, accepted_at, created_at)"
        " VALUES (:id, 1, :email, :role, :hash, :expires, :accepted, :made)"),
        {"id": id_, "email": email, "role": role, "hash": f"hash{id_}", "expires": made + dt.timedelta(hours=48),
         "accepted": made if accepted else None, "made": made})


def _seed(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO merchant (id, name, default_country, created_at) VALUES (1, 'Shop', 'GB', :now)"), {"now": NOW})
        # Two open invitations to one address: first as manager, then as staff; both emails queued.
        _invite(connection, 1, "twice@shop.test", "manager", 30)
        _message(connection, 1, "twice@shop.test", "manager", "queued", 30)
        _invite(connection, 2, "twice@shop.test", "staff", 10)
        _message(connection, 2, "twice@shop.test", "staff", "queued", 10)
        # One invitation whose email left already; one accepted whose email is still queued.
        _invite(connection, 3, "sent@shop.test", "staff", 20)
        _message(connection, 3, "sent@shop.test", "staff", "sent", 20)
        _invite(connection, 4, "done@shop.test", "staff", 20, accepted=True)
        _message(connection, 4, "done@shop.test", "staff", "queued", 20)
    return engine


def _rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def test_one_open_invitation_per_email_tied_to_its_newest_email_of_its_role(url: str):
    cfg = migrate.alembic_config(url)
    command.upgrade(cfg, REVISION.down_revision)
    engine = _seed(url)
    try:
        command.upgrade(cfg, "0013")
        messages = _rows(engine, "SELECT id, body, status, reason FROM message ORDER BY id")
        invites = _rows(engine, "SELECT id, message_id, revoked_at IS NOT NULL FROM staff_invite ORDER BY id")
    finally:
        engine.dispose()
    assert [body for _, body, _, _ in messages] == [SLOT_BODY.format(role=role)
                                                    for role in ("manager", "staff", "staff", "staff")]
    assert [(id_, status, reason) for id_, _, status, reason in messages] == [
        (1, "skipped", CLOSED),  # the manager email of the replaced invitation: never sent
        (2, "queued", None),  # the staff email, carried by the newest invitation
        (3, "sent", None),
        (4, "skipped", CLOSED),  # its invitation was accepted: nothing to link
    ]
    assert [(id_, message_id, bool(revoked)) for id_, message_id, revoked in invites] == [
        (1, None, True),  # the older open invitation of the address: revoked
        (2, 2, False),  # tied to the email as staff, not to the manager one
        (3, None, False),  # its link works from the email it was sent in
        (4, None, False),
    ]


def test_the_newest_queued_email_of_the_newest_invitations_role_is_the_one_tied(url: str):
    cfg = migrate.alembic_config(url)
    command.upgrade(cfg, REVISION.down_revision)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO merchant (id, name, default_country, created_at) VALUES (1, 'Shop', 'GB', :now)"), {"now": NOW})
        # An older email as staff, a newer one as manager (its invitation gone), the open one as staff.
        _message(connection, 11, "x@shop.test", "staff", "queued", 40)
        _message(connection, 12, "x@shop.test", "staff", "queued", 30)
        _message(connection, 13, "x@shop.test", "manager", "queued", 20)
        _invite(connection, 11, "x@shop.test", "staff", 25)
    try:
        command.upgrade(cfg, "0013")
        statuses = _rows(engine, "SELECT id, status FROM message ORDER BY id")
        links = _rows(engine, "SELECT id, message_id FROM staff_invite ORDER BY id")
    finally:
        engine.dispose()
    assert statuses == [(11, "skipped"), (12, "queued"), (13, "skipped")]
    assert links == [(11, 12)]


def test_downgrade_keeps_revoked_invitations_dead_and_skips_placeholder_emails(url: str):
    cfg = migrate.alembic_config(url)
    command.upgrade(cfg, REVISION.down_revision)
    engine = _seed(url)
    try:
        command.upgrade(cfg, "0013")
        before = dict(_rows(engine, "SELECT id, expires_at FROM staff_invite"))
        command.downgrade(cfg, REVISION.down_revision)
        invites = dict(_rows(engine, "SELECT id, expires_at FROM staff_invite"))
        messages = _rows(engine, "SELECT id, status, reason FROM message ORDER BY id")
    finally:
        engine.dispose()

    def utc(moment) -> dt.datetime:  # noqa: ANN001  (SQLite hands back text or a naive datetime)
        moment = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)

    # The revoked invitation (1) expired when the column that said so went; the others untouched.
    assert utc(invites[1]) <= dt.datetime.now(dt.timezone.utc) < utc(before[1])
    assert {id_: utc(at) for id_, at in invites.items() if id_ != 1} == {
        id_: utc(at) for id_, at in before.items() if id_ != 1}
    # The old code would mail "[invitation link]" as it is: the queued email is skipped instead.
    assert messages == [(1, "skipped", CLOSED), (2, "skipped", CLOSED), (3, "sent", None), (4, "skipped", CLOSED)]
