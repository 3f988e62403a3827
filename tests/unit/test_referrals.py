"""Referral rewards (customers.md §15, spec Q27, issue 14): paid on the referred card's first
real visit once it has settled (older than the counter's undo window, not undone), or on
its installation when the merchant chose that; once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid

import pytest
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import Action
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.referral_rules import FIRST_VISIT_SETTLES
from perkstar_ui.services import card_desk, cards, referrals, signup, signup_limits
from tests.helpers import add_customer, issue, referral_program, set_template


@pytest.fixture(autouse=True)
def _fresh_limits():
    signup_limits.reset_local()


def _referrer(merchant_id: int, trigger: str, referrer_reward: int = 2, new_reward: int = 1) -> Card:
    referral_program(merchant_id, trigger, referrer_reward, new_reward)
    customer = add_customer(merchant_id, "Rita", "Referrer", email="rita@example.com")
    with tenant_session(merchant_id) as session:
        return session.get(Card, issue(merchant_id, customer, "stamp"))


_phones = iter(range(100, 999))


def _join(code: str, first: str, phone: str | None = None, email: str = "", client: str = "") -> signup.Outcome:
    phone = f"+447400123{next(_phones):03d}" if phone is None else phone
    return signup.sign_up({"first_name": first, "last_name": "New", "phone": phone, "email": email},
                          referral_code=code, client=client or f"10.0.0.{abs(hash(first)) % 250}")


def _card(merchant_id: int, token: str) -> Card:
    with tenant_session(merchant_id) as session:
        return session.exec(select(Card).where(Card.install_token == token)).one()


def _balance(merchant_id: int, card_id: int) -> int:
    with tenant_session(merchant_id) as session:
        return session.get(Card, card_id).balance


def _settled() -> dt.datetime:
    """A moment when a visit made now has settled (the undo window is over)."""
    return utcnow() + FIRST_VISIT_SETTLES + dt.timedelta(seconds=1)


def _earlier() -> dt.datetime:
    """A visit's time that has settled already."""
    return utcnow() - FIRST_VISIT_SETTLES - dt.timedelta(seconds=1)


def test_the_default_program_pays_on_the_first_visit_not_on_sign_up_or_install(merchant):
    set_template(merchant, "stamp", referral={"enabled": True, "referrer_reward": 3, "new_customer_reward": 1})
    customer = add_customer(merchant, "Rita", "Referrer", email="rita@example.com")
    referrer_id = issue(merchant, customer, "stamp")
    with tenant_session(merchant) as session:
        code = session.get(Card, referrer_id).referral_code
    outcome = _join(code, "Finn", phone="+447400555123")
    assert outcome.answer == signup.Answer.CARD
    card = _card(merchant, outcome.token)
    assert (card.status, card.referred_by_card_id, card.balance) == ("uninstalled", referrer_id, 0)
    assert referrals.install_card(outcome.token) is True  # installing pays nothing
    assert _balance(merchant, referrer_id) == 0
    first = card_desk.perform_action(merchant, card.id, Action("add-stamps", 1))
    assert first.referral_due
    card_desk.load_panel(merchant, card.id)  # within the undo window: nothing yet
    assert (_balance(merchant, referrer_id), _balance(merchant, card.id)) == (0, 1)
    assert referrals.pay_if_due(merchant, card.id, now=_settled()) == 2
    assert (_balance(merchant, referrer_id), _balance(merchant, card.id)) == (3, 2)
    second = card_desk.perform_action(merchant, card.id, Action("add-stamps", 1))
    assert not second.referral_due
    card_desk.load_panel(merchant, card.id)
    assert (_balance(merchant, referrer_id), _balance(merchant, card.id)) == (3, 3)


def test_an_explicit_install_program_pays_on_install_once(merchant):
    referrer = _referrer(merchant, "install")
    outcome = _join(referrer.referral_code, "Nia", email="nia@example.com")
    card = _card(merchant, outcome.token)
    assert _balance(merchant, referrer.id) == 0  # sign-up alone pays nothing
    assert referrals.install_card(outcome.token) is True
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 1)
    with tenant_session(merchant) as session:
        comments = session.exec(select(CardTransaction.comment).where(CardTransaction.kind == "referral_bonus")
                                .order_by(CardTransaction.id)).all()
        assert session.exec(select(Customer.utm).where(Customer.id == card.customer_id)).one() == "referral"
    assert comments == ["Referral bonus: invited by Rita Referrer", "Referral bonus: invited Nia New"]
    assert referrals.install_card(outcome.token, "google_wallet") is False  # another phone: nothing more
    assert _balance(merchant, referrer.id) == 2


def test_the_engine_reports_the_first_visit_and_pays_nothing_itself(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=3, new_reward=0)
    card = _card(merchant, _join(referrer.referral_code, "Ed", email="ed@example.com").token)
    outcome = cards.perform_action(merchant, card.id, Action("add-stamps", 1), now=_earlier())
    assert outcome.referral_due and _balance(merchant, referrer.id) == 0
    # The caller pays; a panel load catches up a settled visit's payment.
    card_desk.load_panel(merchant, card.id)
    assert _balance(merchant, referrer.id) == 3


def test_two_tablets_at_the_first_visit_pay_once(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=2, new_reward=0)
    card = _card(merchant, _join(referrer.referral_code, "Tess", email="tess@example.com").token)
    cards.perform_action(merchant, card.id, Action("add-stamps", 1), now=_earlier())
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(referrals.on_first_visit(merchant, card.id)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 1
    assert _balance(merchant, referrer.id) == 2


def test_a_known_customer_gets_the_neutral_answer_no_reward_and_no_card(merchant):
    referrer = _referrer(merchant, "first_visit")
    known = add_customer(merchant, "Kim", "Known", email="kim@example.com")
    known_card = issue(merchant, known, "stamp")
    outcome = signup.sign_up({"first_name": "Kim", "last_name": "Known", "phone": "+447400555999",
                              "email": "KIM@example.com "},
                             referral_code=referrer.referral_code, client="10.1.1.1")
    assert outcome == signup.Outcome(signup.Answer.DONE, contact="kim@example.com")  # the email matched
    assert _balance(merchant, referrer.id) == 0
    with tenant_session(merchant) as session:
        assert session.get(Card, known_card).status == "uninstalled"
        assert len(session.exec(select(Card).where(Card.customer_id == known)).all()) == 1


def test_a_program_that_is_off_has_no_sign_up(merchant):
    referrer = _referrer(merchant, "first_visit")
    set_template(merchant, "stamp", referral={"enabled": False})
    assert referrals.invitation(referrer.referral_code) is None
    with pytest.raises(Refused, match="not valid"):
        _join(referrer.referral_code, "Off", email="off@example.com")


def test_no_bonus_on_an_expired_card(merchant):
    referrer = _referrer(merchant, "install", referrer_reward=1)
    with tenant_session(merchant) as session:
        card = session.get(Card, referrer.id)
        card.expires_on = dt.date(2020, 1, 1)
        session.add(card)
        session.commit()
    referrals.install_card(_join(referrer.referral_code, "Late", email="late@example.com").token)
    assert _balance(merchant, referrer.id) == 0


def test_invalid_or_deleted_codes_are_refused(merchant):
    with pytest.raises(Refused, match="not valid"):
        _join("NOPE1234", "A", email="a@example.com")
    referrer = _referrer(merchant, "first_visit")
    with pytest.raises(Refused, match="fill in: Phone"):
        _join(referrer.referral_code, "A", phone="")
    with pytest.raises(Refused, match="not a valid"):
        _join(referrer.referral_code, "A", phone="+447400555888", email="not-an-email")
    with tenant_session(merchant) as session:
        card = session.get(Card, referrer.id)
        card.status = "deleted"
        session.add(card)
        session.commit()
    assert referrals.invitation(referrer.referral_code) is None


def test_the_worker_job_pays_what_a_caller_missed_once(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=2, new_reward=1)
    card = _card(merchant, _join(referrer.referral_code, "Job", email="job@example.com").token)
    referrals.pay_all_due(_settled())
    assert _balance(merchant, referrer.id) == 0  # no visit yet: nothing due
    cards.perform_action(merchant, card.id, Action("add-stamps", 1))  # a caller that does not pay
    referrals.pay_all_due()
    assert _balance(merchant, referrer.id) == 0  # within the undo window: not yet
    assert referrals.pay_all_due(_settled()) >= 2
    assert referrals.pay_all_due(_settled()) == 0
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 2)


def test_a_first_visit_undone_at_the_counter_pays_nobody(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=2, new_reward=1)
    card = _card(merchant, _join(referrer.referral_code, "Oops", email="oops@example.com").token)
    key = uuid.uuid4().hex
    tap = card_desk.perform_action(merchant, card.id, Action("add-stamps", 1), idempotency_key=key, source="scanner")
    assert tap.applied and tap.referral_due
    with tenant_session(merchant) as session:
        tapped = session.exec(select(CardTransaction.id).where(CardTransaction.idempotency_key == key)).one()
    cards.correct_transaction(merchant, tapped, idempotency_key=f"undo-{key}", source="scanner")
    referrals.pay_all_due(_settled())
    assert referrals.pay_if_due(merchant, card.id, now=_settled()) == 0
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (0, 0)
    cards.perform_action(merchant, card.id, Action("add-stamps", 1))  # a real visit, not undone
    assert referrals.pay_if_due(merchant, card.id) == 0  # not while it can still be undone
    assert referrals.pay_if_due(merchant, card.id, now=_settled()) == 2
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 2)


def test_the_worker_completes_a_payment_of_which_one_side_was_made(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=2, new_reward=1)
    card = _card(merchant, _join(referrer.referral_code, "Half", email="half@example.com").token)
    cards.perform_action(merchant, card.id, Action("add-stamps", 1), now=_earlier())
    # A crash between the two grants: the new customer's side was paid, the referrer's not.
    assert cards.grant_referral_bonus(merchant, card.id, 1, key=f"referral-{card.id}-new", comment="Referral bonus")
    referrals.pay_all_due()
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 2)


def test_an_inactive_template_signs_nobody_up_and_pays_nothing(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=2, new_reward=1)
    card = _card(merchant, _join(referrer.referral_code, "Late", email="late2@example.com").token)
    cards.perform_action(merchant, card.id, Action("add-stamps", 1), now=_earlier())
    with tenant_session(merchant) as session:
        template = session.get(CardTemplate, referrer.template_id)
        template.active = False
        session.add(template)
        session.commit()
    assert signup.join_page(referral_code=referrer.referral_code) is None
    with pytest.raises(Refused, match="not valid"):
        _join(referrer.referral_code, "Nope", email="nope@example.com")
    assert referrals.pay_if_due(merchant, card.id) == 0
    assert _balance(merchant, referrer.id) == 0


def test_a_multipass_sale_is_the_first_visit(merchant):
    """Spec Q27: the first earning transaction, a purchase included: selling visits on a
    multipass is its holder's first purchase, as the engine reports it."""
    set_template(merchant, "multipass", referral={"enabled": True, "referrer_reward": 2, "new_customer_reward": 1,
                                                  "trigger": "first_visit"})
    referrer_id = issue(merchant, add_customer(merchant, "Mo", "Multi", email="mo@example.com"), "multipass")
    with tenant_session(merchant) as session:
        referrer = session.get(Card, referrer_id)
    card = _card(merchant, _join(referrer.referral_code, "Pia", email="pia@example.com").token)
    sale = card_desk.perform_action(merchant, card.id, Action("add-visits", 5, purchase_cents=2500), now=_earlier())
    assert sale.referral_due
    assert referrals.pay_if_due(merchant, card.id) == 2
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 6)


def test_a_panel_load_pays_a_settled_first_visit_and_shows_the_bonus(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=2, new_reward=1)
    card = _card(merchant, _join(referrer.referral_code, "Paz", email="paz@example.com").token)
    cards.perform_action(merchant, card.id, Action("add-stamps", 1), now=_earlier())
    unpaid = cards.load_panel(merchant, card.id)
    assert unpaid.referral_may_be_due  # referred, nothing held: card_desk asks the referral program
    panel = card_desk.load_panel(merchant, card.id)
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 2)
    assert panel.balance != unpaid.balance  # read again after the payment: the bonus shows
    assert panel == cards.load_panel(merchant, card.id)
    card_desk.load_panel(merchant, card.id)  # paid once
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 2)


def test_a_panel_load_pays_nothing_while_the_bonus_is_held(merchant):
    referrer = _referrer(merchant, "first_visit", referrer_reward=2, new_reward=1)
    card = _card(merchant, _join(referrer.referral_code, "Hal", email="hal@example.com").token)
    cards.perform_action(merchant, card.id, Action("add-stamps", 1), now=_earlier())

    def hold(held: bool) -> None:
        with tenant_session(merchant) as session:
            row = session.get(Card, card.id)
            row.bonus_hold = held
            session.add(row)
            session.commit()

    hold(True)
    assert not card_desk.load_panel(merchant, card.id).referral_may_be_due
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (0, 1)
    hold(False)  # the holder confirmed their contact
    card_desk.load_panel(merchant, card.id)
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 2)


def test_a_card_nobody_referred_never_asks_the_referral_program(merchant, monkeypatch):
    referrer = _referrer(merchant, "first_visit")
    monkeypatch.setattr(referrals, "pay_if_due", lambda *args, **kwargs: pytest.fail("asked for an unreferred card"))
    panel = card_desk.load_panel(merchant, referrer.id)
    assert panel.card_id == referrer.id and not panel.referral_may_be_due


def test_a_failed_payment_on_a_panel_load_is_logged_and_the_panel_shown(merchant, monkeypatch, caplog):
    referrer = _referrer(merchant, "first_visit", referrer_reward=2, new_reward=1)
    card = _card(merchant, _join(referrer.referral_code, "Err", email="err@example.com").token)
    cards.perform_action(merchant, card.id, Action("add-stamps", 1), now=_earlier())

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("the database went away")

    monkeypatch.setattr(referrals, "pay_if_due", broken)
    with caplog.at_level(logging.ERROR, logger=card_desk.__name__):
        panel = card_desk.load_panel(merchant, card.id)
    assert panel is not None and panel.card_id == card.id
    assert "not paid" in caplog.text and "the database went away" in caplog.text
    monkeypatch.undo()  # the worker's job, or the next panel load, pays it
    card_desk.load_panel(merchant, card.id)
    assert (_balance(merchant, referrer.id), _balance(merchant, card.id)) == (2, 2)
