"""Migration 0013 takes the invitation links out of message bodies stored before it: a
queued email is tied to its open invitation (its link minted when sent), a sent one just
loses the link. On a throw-away SQLite database migrated step by step."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from perkstar_ui.db import migrate

REVISION = importlib.import_module("perkstar_ui.db.migrations.versions.0013_invite_revoke_and_link_at_send")
NOW = dt.datetime(2026, 11, 30, 9, tzinfo=dt.timezone.utc)
OLD_BODY = "You are invited to Shop as staff. Set your password within 48 hours: https://app.test/invite/{}"


def test_stored_links_are_redacted_and_queued_invitations_tied_to_their_message(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = migrate.alembic_config(url)
    command.upgrade(cfg, REVISION.down_revision)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for id_, email, status in ((1, "queued@shop.test", "queued"), (2, "sent@shop.test", "sent")):
            connection.execute(sa.text(
                "INSERT INTO message (id, merchant_id, channel, recipient, subject, body, status, attempts, created_at)"
                " VALUES (:id, 1, 'email', :email, 'Join Shop on Perkstar', :body, :status, 0, :now)"),
                {"id": id_, "email": email, "body": OLD_BODY.format(f"tok{id_}_secret-AbC"), "status": status,
                 "now": NOW})
            connection.execute(sa.text(
                "INSERT INTO staff_invite (id, merchant_id, email, role, token_hash, expires_at, created_at)"
                " VALUES (:id, 1, :email, 'staff', :hash, :expires, :now)"),
                {"id": id_, "email": email, "hash": f"hash{id_}", "expires": NOW + dt.timedelta(hours=48), "now": NOW})
    command.upgrade(cfg, "0013")
    with engine.connect() as connection:
        bodies = connection.execute(sa.text("SELECT id, body FROM message ORDER BY id")).all()
        links = connection.execute(sa.text("SELECT id, message_id, revoked_at FROM staff_invite ORDER BY id")).all()
    engine.dispose()
    assert [body for _, body in bodies] == [
        "You are invited to Shop as staff. Set your password within 48 hours: [invitation link]"] * 2
    assert [tuple(row) for row in links] == [(1, 1, None), (2, None, None)]
