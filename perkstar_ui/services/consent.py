"""Marketing consent per channel (customers.md §14, issue 11) and the unsubscribe link.

Every email carries ``{base}/unsubscribe/{token}``: the token is random, made the first
time a customer is mailed, unique across merchants, and is the only secret of the public
unsubscribe page (no login). Withdrawing answers nothing about whether the token was known.

Consent of new customers: our own sign-up paths (the customer form, the public join
page) take the ticked boxes only when the merchant says it collects consent at sign-up
(``Merchant.consent_at_signup``); otherwise a new customer starts without consent and
staff record it later by editing the customer, once the customer has said yes. An import
column is the merchant's own consent record carried over from another system and is
taken as written.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from perkstar_ui.db.models import Customer, Merchant, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain.messages import Channel

UNSUBSCRIBE_PATH = "/unsubscribe"
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters
TOKEN_LENGTH = 43
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_CHUNK = 500  # ids per statement (SQLite's parameter limit, PostgreSQL plan size)

_customer = Customer.__table__
_CONSENT_COLUMN = {Channel.EMAIL: _customer.c.email_consent, Channel.SMS: _customer.c.sms_consent}


def new_customer_consent(consent_at_signup: bool, sms: bool, email: bool) -> tuple[bool, bool]:
    """(sms, email) consent a customer created through our forms starts with."""
    return (sms, email) if consent_at_signup else (False, False)


def merchant_collects_consent(merchant_id: int) -> bool:
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        return bool(merchant and merchant.consent_at_signup)


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{UNSUBSCRIBE_PATH}/{token}"


def unsubscribe_urls(session: Session, merchant_id: int, customer_ids: Iterable[int], base_url: str) -> dict[int, str]:
    """``{customer_id: {base_url}/unsubscribe/{token}}`` for the merchant's customers among
    ``customer_ids`` (others are left out), creating missing tokens.

    Runs in the caller's session and transaction (tenant or system): the caller commits
    before it sends, so a mailed link always exists. Two workers racing on one customer
    agree on one token: a token is only written where none is set, then re-read.
    """
    wanted = sorted(set(customer_ids))
    tokens: dict[int, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found = _tokens_of(session, merchant_id, chunk)
        missing = [customer_id for customer_id, token in found.items() if token is None]
        if missing:
            _store_new_tokens(session, merchant_id, missing)
            found.update(_tokens_of(session, merchant_id, missing))
        tokens.update(found)
    return {customer_id: unsubscribe_url(base_url, token) for customer_id, token in tokens.items() if token}


def _store_new_tokens(session: Session, merchant_id: int, customer_ids: list[int]) -> None:
    """Draw a token for each customer still without one (a racing worker's stays)."""
    drawn = [(customer_id, secrets.token_urlsafe(TOKEN_BYTES)) for customer_id in customer_ids]
    unset = (_customer.c.merchant_id == merchant_id, _customer.c.unsubscribe_token.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        # One UPDATE … FROM (VALUES …), not a statement per customer: each of those
        # would scan the merchant's rows while the planner's statistics are stale.
        values = sa.values(sa.column("customer_id", sa.Integer), sa.column("token", sa.String), name="drawn").data(drawn)
        session.execute(
            _customer.update().where(*unset, _customer.c.id == values.c.customer_id).values(unsubscribe_token=values.c.token)
        )
        return
    # SQLite: no column list on a VALUES alias; one executemany in its single writer is fast.
    session.execute(
        _customer.update().where(*unset, _customer.c.id == sa.bindparam("customer_id")).values(
            unsubscribe_token=sa.bindparam("token")
        ),
        [{"customer_id": customer_id, "token": token} for customer_id, token in drawn],
    )


def _tokens_of(session: Session, merchant_id: int, customer_ids: list[int]) -> dict[int, str | None]:
    rows = session.execute(
        sa.select(_customer.c.id, _customer.c.unsubscribe_token).where(
            _customer.c.merchant_id == merchant_id, _customer.c.id.in_(customer_ids)
        )
    ).all()
    return {customer_id: token for customer_id, token in rows}


def plausible_token(token: str) -> bool:
    """Shape check before any query (a junk path never reaches the database)."""
    return len(token) == TOKEN_LENGTH and set(token) <= _TOKEN_ALPHABET


def withdraw(token: str, channel: Channel = Channel.EMAIL) -> None:
    """Withdraw the token holder's consent for ``channel`` (the email link: email).

    Returns nothing either way, so no caller can tell a known token from an unknown one.
    """
    if not plausible_token(token):
        return
    column = _CONSENT_COLUMN[Channel(channel)]
    with system_session() as session:  # the token names the customer across merchants
        session.execute(
            _customer.update()
            .where(_customer.c.unsubscribe_token == token)
            .values({column.key: False, "updated_at": utcnow()})
        )
        session.commit()


def set_consent(merchant_id: int, customer_id: int, sms: bool, email: bool) -> bool:
    """Record the customer's consent per channel; False when no such customer (of this merchant)."""
    with tenant_session(merchant_id) as session:
        result = session.execute(
            _customer.update()
            .where(_customer.c.merchant_id == merchant_id, _customer.c.id == customer_id)
            .values(sms_consent=bool(sms), email_consent=bool(email), updated_at=utcnow())
        )
        session.commit()
        return result.rowcount == 1
