"""Database constraints: what the schema itself refuses, on SQLite and PostgreSQL."""

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer, Review
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.serials import random_serial


def _customer(session, **fields) -> Customer:
    customer = Customer(first_name="Ada", last_name="Lovelace", **fields)
    session.add(customer)
    session.commit()
    return customer


def _card(session, customer: Customer, **fields) -> Card:
    template = session.exec(select(CardTemplate).where(CardTemplate.card_type == "stamp")).first()
    card = Card(
        customer_id=customer.id,
        template_id=template.id,
        card_type="stamp",
        serial=random_serial(),
        install_token=random_serial() + random_serial(),
        referral_code=random_serial()[:8],
        **fields,
    )
    session.add(card)
    session.commit()
    return card


def test_phone_is_unique_per_merchant_only(merchant, other_merchant):
    with tenant_session(merchant) as session:
        _customer(session, phone="+447400900001")
        with pytest.raises(IntegrityError):
            _customer(session, phone="+447400900001")
    with tenant_session(other_merchant) as session:
        assert _customer(session, phone="+447400900001").id  # another merchant may have it


def test_email_is_unique_per_merchant(merchant):
    with tenant_session(merchant) as session:
        _customer(session, email="ada@example.com")
        with pytest.raises(IntegrityError):
            _customer(session, email="ada@example.com")


def test_customers_without_phone_or_email_are_allowed_many_times(merchant):
    with tenant_session(merchant) as session:
        _customer(session)
        _customer(session)  # NULLs never collide


@pytest.mark.parametrize("rating", [0, 6])
def test_review_rating_must_be_1_to_5(merchant, rating):
    with tenant_session(merchant) as session:
        session.add(Review(rating=rating))
        with pytest.raises(IntegrityError):
            session.commit()


def test_card_balance_cannot_go_negative(merchant):
    with tenant_session(merchant) as session:
        card = _card(session, _customer(session))
        card.balance = -1
        session.add(card)
        with pytest.raises(IntegrityError):
            session.commit()


def test_card_status_and_type_are_checked(merchant):
    with tenant_session(merchant) as session:
        customer = _customer(session)
        with pytest.raises(IntegrityError):
            _card(session, customer, status="lost")
        session.rollback()
        session.add(CardTemplate(name="x", card_type="loyalty", settings={}))
        with pytest.raises(IntegrityError):
            session.commit()


def test_card_serial_is_globally_unique(merchant, other_merchant):
    with tenant_session(merchant) as session:
        card = _card(session, _customer(session))
        serial = card.serial
    with tenant_session(other_merchant) as session:
        customer = _customer(session)
        template = session.exec(select(CardTemplate)).first()
        session.add(
            Card(customer_id=customer.id, template_id=template.id, card_type="stamp",
                 serial=serial, install_token="t" * 40, referral_code="R2345678")
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_idempotency_key_applies_once_per_merchant(merchant):
    with tenant_session(merchant) as session:
        customer = _customer(session)
        card = _card(session, customer)
        def tap() -> None:
            session.add(CardTransaction(card_id=card.id, customer_id=customer.id, kind="stamps_added",
                                        value_delta=1, balance_after=1, idempotency_key="tap-123"))
            session.commit()

        tap()
        with pytest.raises(IntegrityError):
            tap()


def test_timestamps_are_timezone_aware_utc(merchant):
    with tenant_session(merchant) as session:
        customer = _customer(session)
        assert customer.created_at.tzinfo is not None
        assert customer.created_at.utcoffset() == dt.timedelta(0)


def test_deleting_a_customer_removes_cards_and_ledger(merchant):
    with tenant_session(merchant) as session:
        customer = _customer(session)
        card = _card(session, customer)
        session.add(CardTransaction(card_id=card.id, customer_id=customer.id, kind="stamps_added",
                                    value_delta=1, balance_after=1))
        session.commit()
        session.execute(sa.delete(Customer).where(Customer.id == customer.id))
        session.commit()
        assert session.exec(select(Card).where(Card.customer_id == customer.id)).all() == []
        assert session.exec(select(CardTransaction).where(CardTransaction.customer_id == customer.id)).all() == []


def test_stored_timestamps_are_read_back_in_utc_whatever_the_session_zone():
    from perkstar_ui.db.models import as_utc

    paris = dt.timezone(dt.timedelta(hours=1))
    assert as_utc(dt.datetime(2026, 1, 1, 0, 30, tzinfo=paris)) == dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.timezone.utc)
    assert as_utc(dt.datetime(2026, 1, 1, 0, 30)).date() == dt.date(2026, 1, 1)
    assert as_utc(dt.datetime(2026, 1, 1, 0, 30, tzinfo=paris)).date() == dt.date(2025, 12, 31)
