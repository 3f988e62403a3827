"""Referral sign-up and rewards (customers.md §15, spec Q27)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTransaction, Customer
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import Action
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import cards, referrals
from tests.helpers import add_customer, issue, referral_program, set_template


def _referrer(merchant_id: int, trigger: str, referrer_reward: int = 2, new_reward: int = 1) -> Card:
    referral_program(merchant_id, trigger, referrer_reward, new_reward)
    customer = add_customer(merchant_id, "Rita", "Referrer", email="rita@example.com")
    with tenant_session(merchant_id) as session:
        return session.get(Card, issue(merchant_id, customer, "stamp"))


def _card(merchant_id: int, token: str) -> Card:
    with tenant_session(merchant_id) as session:
        return session.exec(select(Card).where(Card.install_token == token)).one()


def _balance(merchant_id: int, card_id: int) -> int:
    with tenant_session(merchant_id) as session:
        return session.get(Card, card_id).balance


def test_sign_up_rewards_both_on_install(merchant):
    referrer = _referrer(merchant, "install")
    token = referrals.sign_up(referrer.referral_code, "Nia", "New", "", "nia@example.com")
    card = _card(merchant, token)
    assert card.status == "installed" and card.referred_by_card_id == referrer.id and card.balance == 1
    assert _balance(merchant, referrer.id) == 2
    panel = cards.load_panel(merchant, referrer.id)
    assert {m.key: m.value for m in panel.metrics}["stamps-earned-by-referral-program"] == "2"
    with tenant_session(merchant) as session:
        comments = session.exec(select(CardTransaction.comment).where(CardTransaction.kind == "referral_bonus")
                                 .order_by(CardTransaction.id)).all()
        assert session.exec(select(Customer.utm).where(Customer.id == card.customer_id)).one() == "referral"
    assert comments == ["Referral bonus: invited by Rita Referrer", "Referral bonus: invited Nia New"]
    # Installing again (another phone) pays nothing more.
    assert referrals.on_card_installed(merchant, card.id) == 0
    assert _balance(merchant, referrer.id) == 2


def test_a_known_customer_gets_no_reward_and_no_card_handed_out(merchant):
    referrer = _referrer(merchant, "install")
    known = add_customer(merchant, "Kim", "Known", email="kim@example.com")
    known_card = issue(merchant, known, "stamp")
    # Typing a known email must not hand that customer's card to whoever types it.
    with pytest.raises(Refused, match="already a customer"):
        referrals.sign_up(referrer.referral_code, "Kim", "Known", "", "KIM@example.com ")
    assert _balance(merchant, referrer.id) == 0
    with tenant_session(merchant) as session:
        assert session.get(Card, known_card).status == "uninstalled"
        assert len(session.exec(select(Card).where(Card.customer_id == known)).all()) == 1


def test_a_program_that_is_off_has_no_sign_up(merchant):
    referrer = _referrer(merchant, "install")
    set_template(merchant, "stamp", referral={"enabled": False})
    assert referrals.invitation(referrer.referral_code) is None
    with pytest.raises(Refused, match="not valid"):
        referrals.sign_up(referrer.referral_code, "Off", "Program", "", "off@example.com")


def test_no_bonus_on_an_expired_card_and_overdue_stamps_burn_first(merchant):
    import datetime as dt

    referrer = _referrer(merchant, "install", referrer_reward=1)
    with tenant_session(merchant) as session:
        card = session.get(Card, referrer.id)
        card.expires_on = dt.date(2020, 1, 1)
        session.add(card)
        session.commit()
    referrals.sign_up(referrer.referral_code, "Late", "Comer", "", "late@example.com")
    assert _balance(merchant, referrer.id) == 0


def test_first_visit_trigger_pays_once_on_the_first_earning_action(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=3, new_reward=0)
    card = _card(merchant, referrals.sign_up(referrer.referral_code, "Finn", "First", "", "finn@example.com"))
    assert _balance(merchant, referrer.id) == 0
    cards.perform_action(merchant, card.id, Action("add-stamps", 1))
    assert _balance(merchant, referrer.id) == 3
    cards.perform_action(merchant, card.id, Action("add-stamps", 1))
    assert _balance(merchant, referrer.id) == 3


def test_invalid_or_deleted_codes_are_refused(merchant):
    with pytest.raises(Refused, match="not valid"):
        referrals.sign_up("NOPE1234", "A", "B", "", "a@example.com")
    referrer = _referrer(merchant, "install")
    with pytest.raises(Refused, match="phone number or an email"):
        referrals.sign_up(referrer.referral_code, "A", "B", "", "")
    with pytest.raises(Refused, match="not a valid"):
        referrals.sign_up(referrer.referral_code, "A", "B", "", "not-an-email")
    with tenant_session(merchant) as session:
        card = session.get(Card, referrer.id)
        card.status = "deleted"
        session.add(card)
        session.commit()
    assert referrals.invitation(referrer.referral_code) is None
