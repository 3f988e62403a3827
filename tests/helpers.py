"""Test data helpers shared by unit and end-to-end tests (through the real services)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlmodel import select

from starlette.testclient import TestClient

from perkstar_ui.api.login_cookies import BROWSER_COOKIE
from perkstar_ui.api.routes import api
from perkstar_ui.db.engine import get_engine
from perkstar_ui.db.models import Card, CardTemplate, CardTransaction
from perkstar_ui.services import accounts, customer_records
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.serials import random_code, random_serial

TEST_BROWSER = "test-browser-cookie"  # the pre-login cookie of tests' API clients


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the block runs, in order."""
    statements: list[str] = []

    def record(_conn, _cursor, sql, *_args) -> None:  # noqa: ANN001
        statements.append(sql)

    sa.event.listen(get_engine(), "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(get_engine(), "before_cursor_execute", record)


def add_customer(merchant_id: int, first: str, last: str, phone: str = "", email: str = "", birthdate: str = "", **custom) -> int:
    return customer_records.save_customer(merchant_id, customer_records.CustomerInput(first, last, phone, email, birthdate, custom))


def give_card(merchant_id: int, customer_id: int, *, card_type: str = "stamp", status: str = "uninstalled",
              device: str | None = None, transactions: int = 0) -> tuple[int, str]:
    """A card with ``transactions`` ledger rows of +1 each (balance kept in step)."""
    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == card_type)).first()
        card = Card(customer_id=customer_id, template_id=template.id, card_type=card_type, status=status,
                    device=device, serial=random_serial(), install_token=random_code(32),
                    referral_code=random_code(8), balance=transactions)
        session.add(card)
        session.flush()
        start = dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone.utc)
        for i in range(transactions):
            session.add(CardTransaction(card_id=card.id, customer_id=customer_id, kind="stamps_added",
                                        value_delta=1, balance_after=i + 1, purchase_cents=250 + i,
                                        comment="=cmd|' /C calc'!A0" if i == 0 else None,
                                        created_at=start + dt.timedelta(hours=i)))
        session.commit()
        return card.id, card.serial


def issue(merchant_id: int, customer_id: int, card_type: str, options=None) -> int:  # noqa: ANN001
    """A card of the merchant's first template of this type, issued by the card engine."""
    from perkstar_ui.domain.card_rules import IssueOptions
    from perkstar_ui.services import cards

    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == card_type)).first()
        card = cards.issue_card(session, customer_id, template, options or IssueOptions())
        session.commit()
        return card.id


def set_template(merchant_id: int, card_type: str, **settings) -> int:  # noqa: ANN003
    """Change settings of the merchant's first template of this type; its id."""
    from perkstar_ui.domain.card_types import validate_settings

    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == card_type)).first()
        template.settings = validate_settings(card_type, {**template.settings, **settings}).model_dump(mode="json")
        session.add(template)
        session.commit()
        return template.id


def referral_program(merchant_id: int, trigger: str, referrer_reward: int = 2, new_customer_reward: int = 1) -> int:
    """Turn on the stamp template's referral program; its id."""
    return set_template(merchant_id, "stamp", referral={"enabled": True, "referrer_reward": referrer_reward,
                                                        "new_customer_reward": new_customer_reward, "trigger": trigger})


def api_client(email: str = "", password: str = "correct-horse"):  # noqa: ANN201
    """A TestClient of the API routes on localhost (cookies not Secure there) holding a
    pre-login browser cookie; with ``email``, logged in as that user through /api/session."""
    client = TestClient(api, base_url="http://localhost")
    client.cookies.set(BROWSER_COOKIE, TEST_BROWSER)
    if email:
        ticket = accounts.log_in(email, password, browser=TEST_BROWSER)
        assert client.get(f"/api/session?ticket={ticket}", follow_redirects=False).headers["location"] == "/customers"
    return client


def session_token(email: str, password: str = "correct-horse") -> str:
    """A session token for the user (the cookie /api/session would set)."""
    ticket = accounts.log_in(email, password, browser=TEST_BROWSER)
    return accounts.redeem_ticket(ticket, browser=TEST_BROWSER).token


def deliver_emails_to(inbox, address: str) -> list:  # noqa: ANN001
    """Run the real outbox with an SMTP provider pointed at ``inbox`` (tests.messaging_servers.
    SmtpInbox) until a mail to ``address`` arrived or nothing is left to claim; its mails."""
    from perkstar_ui.config import Settings
    from perkstar_ui.domain.messages import Channel
    from perkstar_ui.services import outbox
    from perkstar_ui.services.providers.smtp import SmtpProvider

    config = Settings(SMTP_HOST=inbox.host, SMTP_PORT=inbox.port, SMTP_TLS="none", SMTP_FROM="team@perkstar.test")
    provider = SmtpProvider(config)
    try:
        for _ in range(100):
            if inbox.to(address) or outbox.deliver_once({Channel.EMAIL: provider}, "test-mailer", config=config).claimed == 0:
                break
    finally:
        provider.close()
    return inbox.to(address)
