"""Fixtures shared by the unit tests: real local servers for the message providers, the
merchant's owner login, a secret key for encrypted settings, an empty database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui import config
from perkstar_ui.db.models import StaffUser
from perkstar_ui.db.tenancy import system_session
from tests import pg_db
from tests.messaging_servers import SmsApi, SmtpInbox


@pytest.fixture
def owner(merchant) -> StaffUser:  # noqa: ANN001
    """The owner login ``create_merchant`` made."""
    with system_session() as session:
        return session.exec(select(StaffUser).where(StaffUser.merchant_id == merchant)).one()


@pytest.fixture
def secret_key(monkeypatch):  # noqa: ANN001, ANN201
    """PERKSTAR_SECRET_KEY set (two-factor secrets, Stripe keys are encrypted with it)."""
    monkeypatch.setenv("PERKSTAR_SECRET_KEY", "a-long-random-test-secret-for-fernet")
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    config.settings.cache_clear()
    yield
    monkeypatch.delenv("PERKSTAR_SECRET_KEY")
    config.settings.cache_clear()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the run's backend (for migration tests)."""
    if config.database_url().startswith("postgresql"):
        created = pg_db.create()
        yield created
        pg_db.drop(sa.engine.make_url(created).database)
    else:
        yield f"sqlite:///{tmp_path / 'm.db'}"


@pytest.fixture
def inbox():
    """A real SMTP server (aiosmtpd) that keeps what it receives."""
    server = SmtpInbox().start()
    yield server
    server.stop()


@pytest.fixture
def sms_api():
    """A local HTTP server speaking the Twilio-style Messages API."""
    server = SmsApi().start()
    yield server
    server.stop()
