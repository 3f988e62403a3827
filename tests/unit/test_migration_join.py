"""Migration 0012 (join and restore, issue 14 review): referral programs on the old form's
"install" default move to the first visit, each live one with an audit entry for its
merchant; the downgrade takes ``issuing_form`` out of template settings (the code before
0012 refuses unknown keys) and the upgrade runs again. On a throw-away database of the
run's backend (SQLite file or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import uuid

import pytest
import sqlalchemy as sa
from alembic import command

from perkstar_ui.db import migrate

REVISION = importlib.import_module("perkstar_ui.db.migrations.versions.0012_join_and_restore")
FORM = {"fields": [{"key": "first_name", "required": True}, {"key": "last_name", "required": True},
                   {"key": "email", "required": True, "unique": True}]}


@pytest.fixture
def url(empty_database_url: str) -> str:
    return empty_database_url


def _filled(table: sa.Table, **given) -> dict:  # noqa: ANN003
    """A row with ``given`` and a plain value for every other required column."""
    row = dict(given)
    for column in table.columns:
        if column.name in row or column.primary_key or column.nullable or column.server_default is not None:
            continue
        kind = column.type
        if isinstance(kind, sa.Boolean):
            row[column.name] = False
        elif isinstance(kind, sa.Integer):
            row[column.name] = 1
        elif isinstance(kind, sa.DateTime):
            row[column.name] = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        elif isinstance(kind, sa.JSON):
            row[column.name] = {}
        else:
            row[column.name] = "x" + uuid.uuid4().hex[:6]
    return row


def _settings(engine: sa.Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT name, settings FROM card_template ORDER BY id")).all()
    return {name: json.loads(s) if isinstance(s, str) else dict(s) for name, s in rows}


def test_install_programs_move_to_the_first_visit_with_an_audit_entry_and_the_downgrade_drops_the_form(url: str):
    cfg = migrate.alembic_config(url)
    command.upgrade(cfg, REVISION.down_revision)
    engine = sa.create_engine(url)
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        with engine.begin() as connection:
            merchant = tables.tables["merchant"]
            merchant_id = connection.execute(merchant.insert().values(
                **_filled(merchant, name="Shop", default_country="GB"))).inserted_primary_key[0]
            template = tables.tables["card_template"]
            for name, settings in [
                ("live-install", {"referral": {"enabled": True, "trigger": "install", "referrer_reward": 2}}),
                ("old-default", {"referral": {"enabled": True, "referrer_reward": 1}}),  # the form's pre-selection
                ("off", {"referral": {"enabled": False, "trigger": "install"}}),
                ("none", {}),
                ("first-visit", {"referral": {"enabled": True, "trigger": "first_visit"}}),
            ]:
                connection.execute(template.insert().values(
                    **_filled(template, merchant_id=merchant_id, name=name, card_type="stamp", settings=settings)))
        command.upgrade(cfg, "0012")
        after = _settings(engine)
        assert {name: s.get("referral", {}).get("trigger") for name, s in after.items()} == {
            "live-install": "first_visit", "old-default": "first_visit", "off": "first_visit", "none": "first_visit",
            "first-visit": "first_visit"}
        with engine.connect() as connection:
            entries = connection.execute(sa.text(
                "SELECT merchant_id, action, detail, actor_email FROM audit_log ORDER BY id")).all()
        details = [(m, action, json.loads(d) if isinstance(d, str) else d, actor) for m, action, d, actor in entries]
        # the live programs whose rule changed; not the one that is off, nor the one on the first visit already
        assert [(m, action, d["name"], d["change"], actor) for m, action, d, actor in details] == [
            (merchant_id, "template-update", name, "referral trigger install→first visit (migration)", "")
            for name in ("live-install", "old-default")]

        command.upgrade(cfg, "head")
        with engine.begin() as connection:  # the app at head gives a template a join form
            stored = after["live-install"]
            connection.execute(sa.text("UPDATE card_template SET settings = :s WHERE name = 'live-install'"),
                               {"s": json.dumps({**stored, "issuing_form": FORM})})
        command.downgrade(cfg, REVISION.down_revision)
        before = _settings(engine)
        assert all("issuing_form" not in s for s in before.values())
        assert before["live-install"]["referral"] == after["live-install"]["referral"]  # the rest kept
        command.upgrade(cfg, "head")  # and up again
        assert all(s["referral"]["trigger"] == "first_visit" for s in _settings(engine).values())
    finally:
        engine.dispose()
