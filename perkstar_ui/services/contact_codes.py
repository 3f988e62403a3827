"""Confirmation codes through the outbox (customers.md §6, issue 14).

- **Restore**: a customer who lost their card asks on the join page with their phone or
  email; a code goes to that contact as the customer record has it (SMS for a phone,
  email for an email); the right code opens their card of the page's template (issuing
  one if they hold none). An unknown contact gets the same answer and no message.
- **Verify**: with the merchant's "verify contact for bonus", a new card's welcome and
  referral bonuses are held (``Card.bonus_hold``) until the code sent at sign-up is
  confirmed; any confirmed code of the card's holder releases them, exactly once.

Codes are six digits, stored as SHA-256, valid ``CODE_TTL``, at most ``CODE_ATTEMPTS``
wrong tries; a new code replaces the customer's older one of the same purpose. Every
check is a conditional UPDATE, so two tabs confirming at once use a code once.

Limits (``domain.signup``): ``CODES_PER_HOUR`` codes per customer and purpose, counted
under the customer's row lock (parallel requests cannot all pass the count);
``RESTORES_PER_MERCHANT_DAY`` restore messages per merchant; ``FAILED_PER_CUSTOMER_DAY``
wrong tries over all of a customer's codes; ``CONFIRMS_PER_ADDRESS_HOUR`` tries per client
address. Requests and confirmations alike take at least ``NEUTRAL_SECONDS``, so timing
does not tell a customer's contact from a stranger's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.models import Card, CardTemplate, ContactCode, Customer, Merchant, Message, as_utc, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.domain import signup as rules
from perkstar_ui.domain.card_rules import IssueOptions
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.messages import Channel
from perkstar_ui.domain.signup import CodePurpose, LimitScope
from perkstar_ui.services import cards, public_card, referrals, signup_limits

# Codes one customer may be sent per purpose an hour (a stranger cannot flood their phone).
CODES_PER_HOUR = 3
# A restore request or a code's check takes at least this long whether or not a message
# is queued or a code exists, so the timing does not tell a known contact from an unknown one.
NEUTRAL_SECONDS = 0.4
_JOIN_CODE_MAX = 16


@contextlib.contextmanager
def neutral_time() -> Iterator[None]:
    """The block takes at least ``NEUTRAL_SECONDS`` (also when it raises)."""
    started = time.monotonic()
    try:
        yield
    finally:
        time.sleep(max(0.0, NEUTRAL_SECONDS - (time.monotonic() - started)))


def lock_customer(session, customer_id: int) -> None:  # noqa: ANN001
    """Hold the customer's row until the session's transaction ends, so counting their
    codes (or tries) and writing the next one happen one caller at a time. PostgreSQL:
    ``FOR NO KEY UPDATE`` (rows referencing the customer can still be inserted); SQLite:
    ``BEGIN IMMEDIATE`` unless the transaction already writes (then it is the one writer)."""
    connection = session.connection()
    if is_sqlite(session.get_bind()):
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    connection.execute(sa.select(Customer.id).where(Customer.id == customer_id).with_for_update(key_share=True))


def _address_allowed(merchant_id: int, client: str) -> None:
    if not signup_limits.hit(LimitScope.IP, f"confirm:{merchant_id}:{client or 'unknown'}",
                             rules.CONFIRMS_PER_ADDRESS_HOUR):
        raise Refused(rules.TOO_MANY_TRIES)


def join_template(join_code: str) -> tuple[int, int] | None:
    """(template id, merchant id) of an active template's join code, across merchants."""
    join_code = (join_code or "").strip().upper()
    if not join_code or len(join_code) > _JOIN_CODE_MAX or not join_code.isalnum():
        return None
    with system_session() as session:
        row = session.exec(select(CardTemplate.id, CardTemplate.merchant_id, CardTemplate.active)
                           .where(CardTemplate.join_code == join_code)).first()
    return (row[0], row[1]) if row is not None and row[2] else None


def find_customer(session, region: str, contact: str) -> tuple[Customer, Channel] | None:  # noqa: ANN001
    """The customer a typed phone or email belongs to, and the channel it names."""
    text = (contact or "").strip()
    try:
        if "@" in text:
            value, column, channel = contacts.normalise_email(text), Customer.email, Channel.EMAIL
        else:
            value, column, channel = contacts.normalise_phone(text, region), Customer.phone, Channel.SMS
    except ValueError:
        return None
    if not value:
        return None
    customer = session.exec(select(Customer).where(column == value)).first()
    return (customer, channel) if customer is not None else None


def queue_code(session, merchant_id: int, customer: Customer, purpose: CodePurpose, channel: Channel, *,  # noqa: ANN001
               business: str, card_id: int | None = None, template_id: int | None = None,
               now: dt.datetime | None = None) -> bool:
    """A new code for the customer, queued in the outbox in the caller's transaction;
    False (nothing queued) when they were sent enough codes this hour or the channel's
    contact is missing."""
    now = now or utcnow()
    recipient = customer.phone if channel == Channel.SMS else customer.email
    if not recipient:
        return False
    lock_customer(session, customer.id)
    recent = session.exec(select(sa.func.count()).select_from(ContactCode).where(
        ContactCode.customer_id == customer.id, ContactCode.purpose == purpose.value,
        ContactCode.created_at >= now - dt.timedelta(hours=1))).one()
    if recent >= CODES_PER_HOUR:
        return False
    if purpose == CodePurpose.RESTORE and session.exec(select(sa.func.count()).select_from(ContactCode).where(
            ContactCode.merchant_id == merchant_id, ContactCode.purpose == purpose.value,
            ContactCode.created_at >= now - dt.timedelta(days=1))).one() >= rules.RESTORES_PER_MERCHANT_DAY:
        return False
    session.execute(sa.update(ContactCode).where(
        ContactCode.merchant_id == merchant_id, ContactCode.customer_id == customer.id,
        ContactCode.purpose == purpose.value, ContactCode.used_at.is_(None)).values(used_at=now))
    code = rules.new_code()
    session.add(ContactCode(merchant_id=merchant_id, customer_id=customer.id, card_id=card_id, template_id=template_id,
                            purpose=purpose.value, code_hash=rules.code_hash(code), expires_at=now + rules.CODE_TTL,
                            created_at=now))
    session.add(Message(merchant_id=merchant_id, customer_id=customer.id, card_id=card_id, channel=channel.value,
                        recipient=recipient, subject=f"Your code from {business}" if channel == Channel.EMAIL else None,
                        body=rules.code_message(business, code, purpose)))
    return True


def request_restore(found: tuple[int, int] | None, contact: str, *, client: str = "") -> None:
    """Send a restore code for the template ``found`` = (template id, merchant id) if the
    contact is a customer's; the same for every contact."""
    with neutral_time():
        if found is None:
            raise Refused("This link is not valid any more.")
        template_id, merchant_id = found
        with tenant_session(merchant_id) as session:
            merchant = session.get(Merchant, merchant_id)
            if not signup_limits.hit(LimitScope.IP, f"restore:{merchant_id}:{client or 'unknown'}",
                                     merchant.signup_ip_per_hour):
                raise Refused(rules.LIMITED)
            match = find_customer(session, merchant.default_country, contact)
            if match is not None:
                customer, channel = match
                if queue_code(session, merchant_id, customer, CodePurpose.RESTORE, channel, business=merchant.name,
                              template_id=template_id):
                    session.commit()


def _use_code(session, merchant_id: int, customer_id: int, purpose: CodePurpose, code: str, now: dt.datetime, **where) -> ContactCode:  # noqa: ANN001, ANN003
    """The customer's live code of this purpose, used up if ``code`` is right; else one
    attempt more and ``Refused``. Refused unchecked once the customer's codes took
    ``FAILED_PER_CUSTOMER_DAY`` wrong tries in a day."""
    lock_customer(session, customer_id)
    failed = session.exec(select(sa.func.coalesce(sa.func.sum(ContactCode.attempts), 0)).where(
        ContactCode.customer_id == customer_id, ContactCode.created_at >= now - dt.timedelta(days=1))).one()
    if failed >= rules.FAILED_PER_CUSTOMER_DAY:
        session.rollback()
        raise Refused(rules.WRONG_CODE)
    query = select(ContactCode).where(ContactCode.customer_id == customer_id, ContactCode.purpose == purpose.value,
                                      ContactCode.used_at.is_(None))
    for name, value in where.items():
        query = query.where(getattr(ContactCode, name) == value)
    row = session.exec(query.order_by(ContactCode.id.desc())).first()
    if row is None or not rules.code_usable(as_utc(row.expires_at), row.attempts, row.used_at, now):
        raise Refused(rules.WRONG_CODE)
    live = sa.and_(ContactCode.id == row.id, ContactCode.merchant_id == merchant_id, ContactCode.used_at.is_(None),
                   ContactCode.attempts < rules.CODE_ATTEMPTS)
    if not rules.code_matches(code, row.code_hash):
        session.execute(sa.update(ContactCode).where(live).values(attempts=ContactCode.attempts + 1))
        session.commit()
        raise Refused(rules.WRONG_CODE)
    if session.execute(sa.update(ContactCode).where(live).values(used_at=now)).rowcount != 1:
        session.rollback()
        raise Refused(rules.WRONG_CODE)  # used a moment ago by another tab
    return row


def confirm_restore(found: tuple[int, int] | None, contact: str, code: str, *, client: str = "",
                    now: dt.datetime | None = None) -> str:
    """The install token of the customer's card of the template ``found`` = (template id,
    merchant id), for the right code. At least ``NEUTRAL_SECONDS``, right or wrong."""
    with neutral_time():
        return _confirm_restore(found, contact, code, client, now or utcnow())


def _confirm_restore(found: tuple[int, int] | None, contact: str, code: str, client: str, now: dt.datetime) -> str:
    if found is None:
        raise Refused("This link is not valid any more.")
    template_id, merchant_id = found
    _address_allowed(merchant_id, client)
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        match = find_customer(session, merchant.default_country, contact)
        if match is None:
            raise Refused(rules.WRONG_CODE)
        customer = match[0]
        _use_code(session, merchant_id, customer.id, CodePurpose.RESTORE, code, now, template_id=template_id)
        card = session.exec(select(Card).where(Card.customer_id == customer.id, Card.template_id == template_id,
                                               Card.status != "deleted").order_by(Card.id.desc())).first()
        if card is None:
            card = cards.issue_card(session, customer.id, session.get(CardTemplate, template_id), IssueOptions(),
                                    utm="restore", source="join")
        session.commit()
        card_id, token = card.id, card.install_token
    release_bonus(merchant_id, card_id)  # the contact is confirmed: a held bonus is due
    return token


def confirm_verify(token: str, code: str, *, client: str = "", now: dt.datetime | None = None) -> bool:
    """Confirm the sign-up code of the card with this install token; True when it released
    the held bonuses now. ``Refused`` for a wrong or expired code. At least ``NEUTRAL_SECONDS``."""
    with neutral_time():
        return _confirm_verify(token, code, client, now or utcnow())


def _confirm_verify(token: str, code: str, client: str, now: dt.datetime) -> bool:
    found = public_card.locate_card(token)
    if found is None:
        raise Refused(rules.WRONG_CODE)
    card_id, merchant_id = found
    _address_allowed(merchant_id, client)
    with tenant_session(merchant_id) as session:
        customer_id = session.exec(select(Card.customer_id).where(Card.id == card_id)).one()
        _use_code(session, merchant_id, customer_id, CodePurpose.VERIFY, code, now, card_id=card_id)
        session.commit()
    return release_bonus(merchant_id, card_id)


def release_bonus(merchant_id: int, card_id: int) -> bool:
    """Clear the card's hold (once: a conditional UPDATE) and pay what it held."""
    with tenant_session(merchant_id) as session:
        released = session.execute(sa.update(Card).where(Card.id == card_id, Card.merchant_id == merchant_id,
                                                         Card.bonus_hold.is_(True)).values(bonus_hold=False)).rowcount
        session.commit()
    if released != 1:
        return False
    cards.grant_held_welcome(merchant_id, card_id)
    referrals.pay_if_due(merchant_id, card_id)
    return True
