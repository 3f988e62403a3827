"""Public sign-up (issue 14): the template's issuing form, neutral answers, rate limits,
the honeypot, restore and verify codes through the outbox (expiry, attempts)."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import uuid

import pytest
from sqlmodel import select

from perkstar_ui.config import settings
from perkstar_ui.db.models import Card, CardTemplate, ContactCode, Customer, CustomFieldValue, Merchant, Message, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import signup as rules
from perkstar_ui.domain.card_rules import Action
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import card_desk, contact_codes, custom_fields, signup, signup_limits, signup_settings
from tests.helpers import add_customer, issue, referral_program, set_template


@pytest.fixture(autouse=True)
def _fresh_limits():
    signup_limits.reset_local()


def _join_code(merchant_id: int, card_type: str = "stamp") -> str:
    with tenant_session(merchant_id) as session:
        return session.exec(select(CardTemplate.join_code).where(CardTemplate.card_type == card_type)).first()


def _customers(merchant_id: int) -> list[Customer]:
    with tenant_session(merchant_id) as session:
        return list(session.exec(select(Customer).order_by(Customer.id)).all())


def _messages(merchant_id: int) -> list[Message]:
    with tenant_session(merchant_id) as session:
        return list(session.exec(select(Message).order_by(Message.id)).all())


def _code_in(message: Message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


PERSON = {"first_name": "Jo", "last_name": "Walker", "phone": "+447400123456", "email": ""}


def test_join_creates_the_customer_and_card_with_the_templates_fields(merchant):
    custom_fields.add_custom_field(merchant, "Favourite drink", "choice", ["Tea", "Coffee"])
    form = {"fields": [{"key": "first_name", "required": True}, {"key": "last_name", "required": True},
                       {"key": "phone", "required": True, "unique": True}, {"key": "email"},
                       {"key": "cf:favourite-drink", "required": True}]}
    set_template(merchant, "stamp", issuing_form=form, welcome_stamps=2)
    code = _join_code(merchant)
    page = signup.join_page(join_code=code)
    assert [(f.label, f.required) for f in page.fields] == [
        ("First name", True), ("Last name", True), ("Phone", True), ("Email", False), ("Favourite drink", True)]
    with pytest.raises(Refused, match="Please fill in: Favourite drink"):
        signup.sign_up(PERSON, join_code=code, client="1.1.1.1")
    assert _customers(merchant) == []
    outcome = signup.sign_up({**PERSON, "cf:favourite-drink": "Tea"}, join_code=code, client="1.1.1.1",
                             sms_consent=True)
    assert outcome.answer == signup.Answer.CARD
    (customer,) = _customers(merchant)
    with tenant_session(merchant) as session:
        card = session.exec(select(Card).where(Card.install_token == outcome.token)).one()
        value = session.exec(select(CustomFieldValue.value).where(CustomFieldValue.customer_id == customer.id)).one()
    assert (customer.first_name, customer.phone, customer.utm, value) == ("Jo", "+447400123456", "join", "Tea")
    assert (card.customer_id, card.utm, card.status, card.balance, card.bonus_hold) == (
        customer.id, "join", "uninstalled", 2, False)


def test_a_known_phone_gets_the_neutral_answer_no_card_and_a_restore_code(merchant):
    known = add_customer(merchant, "Kim", "Known", phone="+447400123456")
    issue(merchant, known, "stamp")
    code = _join_code(merchant)
    outcome = signup.sign_up({**PERSON, "first_name": "Someone", "phone": "07400 123456"}, join_code=code,
                             client="2.2.2.2")
    assert outcome == signup.Outcome(signup.Answer.DONE, contact="+447400123456")  # the page keeps it, never shows it
    assert [c.id for c in _customers(merchant)] == [known]
    with tenant_session(merchant) as session:
        assert len(session.exec(select(Card).where(Card.customer_id == known)).all()) == 1
    (message,) = _messages(merchant)
    assert (message.channel, message.recipient) == ("sms", "+447400123456")
    assert "Kim" not in message.body  # the message says nothing about the customer either


def test_the_honeypot_gets_the_neutral_answer_and_creates_nothing(merchant):
    outcome = signup.sign_up({**PERSON, rules.HONEYPOT_FIELD: "http://spam.example"}, join_code=_join_code(merchant),
                             client="3.3.3.3")
    assert outcome.answer == signup.Answer.DONE
    assert _customers(merchant) == [] and _messages(merchant) == []


def test_sign_ups_are_limited_per_address_and_per_referral_code(merchant):
    code = _join_code(merchant)
    for n in range(5):
        signup.sign_up({**PERSON, "phone": f"+4474001234{n:02d}"}, join_code=code, client="4.4.4.4")
    with pytest.raises(Refused, match="Too many sign-ups"):
        signup.sign_up({**PERSON, "phone": "+447400123499"}, join_code=code, client="4.4.4.4")
    assert len(_customers(merchant)) == 5
    signup.sign_up({**PERSON, "phone": "+447400123498"}, join_code=code, client="4.4.4.5")  # another address
    # Per referral code a day, at the merchant's setting.
    signup_settings.save(merchant, {"per_ip_hour": "100", "per_code_day": "2", "per_template_day": "100"})
    referral_program(merchant, "first_visit")
    referrer = issue(merchant, add_customer(merchant, "Rita", "R", phone="+447400555000"), "stamp")
    with tenant_session(merchant) as session:
        referral = session.get(Card, referrer).referral_code
    for n in range(2):
        signup.sign_up({**PERSON, "phone": f"+4474005550{n + 10:02d}"}, referral_code=referral, client=f"5.5.5.{n}")
    with pytest.raises(Refused, match="Too many sign-ups"):
        signup.sign_up({**PERSON, "phone": "+447400555099"}, referral_code=referral, client="5.5.5.9")


def test_the_template_limit_counts_every_address(merchant):
    signup_settings.save(merchant, {"per_ip_hour": "100", "per_code_day": "100", "per_template_day": "3"})
    code = _join_code(merchant)
    for n in range(3):
        signup.sign_up({**PERSON, "phone": f"+4474001230{n:02d}"}, join_code=code, client=f"6.6.6.{n}")
    with pytest.raises(Refused, match="Too many sign-ups"):
        signup.sign_up({**PERSON, "phone": "+447400123099"}, join_code=code, client="6.6.6.9")


def test_limits_are_counted_in_redis_when_it_is_set(merchant, monkeypatch):
    monkeypatch.setenv("REDIS_URL", os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0"))
    settings.cache_clear()
    try:
        key = uuid.uuid4().hex
        assert [signup_limits.hit(rules.LimitScope.IP, key, 2) for _ in range(3)] == [True, True, False]
        signup_limits.reset_local()  # the count is Redis's, not this process's
        assert signup_limits.hit(rules.LimitScope.IP, key, 2) is False
    finally:
        monkeypatch.delenv("REDIS_URL")
        settings.cache_clear()


def test_restore_sends_a_code_only_to_a_known_contact_and_answers_the_same(merchant):
    known = add_customer(merchant, "Lou", "Lost", email="lou@example.com")
    card = issue(merchant, known, "stamp")
    found = contact_codes.join_template(_join_code(merchant))
    started = time.monotonic()
    assert contact_codes.request_restore(found, "nobody@example.com", client="7.7.7.7") is None
    unknown_seconds = time.monotonic() - started
    assert _messages(merchant) == []
    started = time.monotonic()
    assert contact_codes.request_restore(found, "LOU@example.com", client="7.7.7.7") is None
    known_seconds = time.monotonic() - started
    assert unknown_seconds >= contact_codes.NEUTRAL_SECONDS and known_seconds >= contact_codes.NEUTRAL_SECONDS
    (message,) = _messages(merchant)
    assert (message.channel, message.recipient) == ("email", "lou@example.com")
    with pytest.raises(Refused, match="not right"):
        contact_codes.confirm_restore(found, "nobody@example.com", _code_in(message))
    token = contact_codes.confirm_restore(found, "lou@example.com", _code_in(message))
    with tenant_session(merchant) as session:
        assert session.get(Card, card).install_token == token
    with pytest.raises(Refused, match="not right"):  # used once
        contact_codes.confirm_restore(found, "lou@example.com", _code_in(message))


def test_restore_codes_expire_and_allow_few_attempts(merchant):
    add_customer(merchant, "Max", "Tries", phone="+447400777000")
    found = contact_codes.join_template(_join_code(merchant))
    contact_codes.request_restore(found, "+447400777000", client="8.8.8.8")
    right = _code_in(_messages(merchant)[-1])
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(rules.CODE_ATTEMPTS):
        with pytest.raises(Refused, match="not right"):
            contact_codes.confirm_restore(found, "+447400777000", wrong)
    with pytest.raises(Refused, match="not right"):  # the right code after too many tries
        contact_codes.confirm_restore(found, "+447400777000", right)
    contact_codes.request_restore(found, "+447400777000", client="8.8.8.8")
    fresh = _code_in(_messages(merchant)[-1])
    later = utcnow() + rules.CODE_TTL + dt.timedelta(seconds=1)
    with pytest.raises(Refused, match="not right"):
        contact_codes.confirm_restore(found, "+447400777000", fresh, now=later)
    token = contact_codes.confirm_restore(found, "+447400777000", fresh)  # in time: a card of this template
    with tenant_session(merchant) as session:
        assert session.exec(select(Card.utm).where(Card.install_token == token)).one() == "restore"
        assert session.exec(select(ContactCode).where(ContactCode.used_at.is_(None))).all() == []


def test_verify_contact_holds_welcome_and_referral_bonuses_until_the_code(merchant):
    signup_settings.save(merchant, {"per_ip_hour": "5", "per_code_day": "20", "per_template_day": "200",
                                    "verify_contact_for_bonus": "on"})
    set_template(merchant, "stamp", welcome_stamps=2)
    referral_program(merchant, "first_visit", referrer_reward=3, new_customer_reward=1)
    referrer = issue(merchant, add_customer(merchant, "Rita", "R", phone="+447400555000"), "stamp")
    with tenant_session(merchant) as session:
        referral = session.get(Card, referrer).referral_code
        assert session.get(Merchant, merchant).verify_contact_for_bonus
    outcome = signup.sign_up(PERSON, referral_code=referral, client="9.9.9.9")
    assert outcome.answer == signup.Answer.VERIFY
    with tenant_session(merchant) as session:
        card = session.exec(select(Card).where(Card.install_token == outcome.token)).one()
    assert (card.bonus_hold, card.balance) == (True, 0)
    card_desk.perform_action(merchant, card.id, Action("add-stamps", 1),  # the first visit (settled): still held
                             now=utcnow() - dt.timedelta(minutes=1))

    def balances() -> tuple[int, int]:
        with tenant_session(merchant) as session:
            return session.get(Card, card.id).balance, session.get(Card, referrer).balance

    assert balances() == (1, 2)  # the referrer's own welcome stamps only
    message = _messages(merchant)[-1]
    assert message.recipient == "+447400123456"
    with pytest.raises(Refused, match="not right"):
        contact_codes.confirm_verify(outcome.token, "000000" if _code_in(message) != "000000" else "111111")
    assert contact_codes.confirm_verify(outcome.token, _code_in(message)) is True
    assert balances() == (1 + 2 + 1, 2 + 3)  # visit + welcome + referral bonus; the referrer's reward
    assert contact_codes.release_bonus(merchant, card.id) is False  # once
    assert balances() == (4, 5)


def test_the_template_form_chooses_the_join_fields_and_locks_them_after_a_join(merchant):
    from perkstar_ui.services import templates

    custom_fields.add_custom_field(merchant, "Postcode", "text")
    with tenant_session(merchant) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == "gift")).first()
    issue(merchant, add_customer(merchant, "Old", "Holder", phone="+447400111000"), "gift")  # issued by staff
    rows = [("first_name", "required"), ("last_name", "required"), ("email", "required"), ("phone", "off"),
            ("cf:postcode", "optional"), ("birthdate", "off")]
    form = {"issuing_shown": "1", "issuing_key": [k for k, _ in rows], "issuing_mode": [m for _, m in rows],
            "issuing_unique:email": "on"}
    assert "issuing_form" not in templates.load_template(merchant, template.id).locked_fields  # active, no join yet
    templates.save_template_form(merchant, template.id, template.name, form)
    page = signup.join_page(join_code=template.join_code)
    assert [(f.key, f.label, f.required) for f in page.fields] == [
        ("first_name", "First name", True), ("last_name", "Last name", True), ("email", "Email", True),
        ("cf:postcode", "Postcode", False)]
    no_contact = {**form, "issuing_mode": ["required", "required", "off", "off", "optional", "off"]}
    with pytest.raises(templates.TemplateError, match="phone or the email"):
        templates.save_template_form(merchant, template.id, template.name, no_contact)
    outcome = signup.sign_up({"first_name": "Gil", "last_name": "Gift", "email": "gil@example.com"},
                             join_code=template.join_code, client="10.9.9.9")
    assert outcome.answer == signup.Answer.CARD  # a card through the join page: the form is locked now
    assert "issuing_form" in templates.load_template(merchant, template.id).locked_fields
    with pytest.raises(templates.TemplateError, match="Issuing form"):
        templates.save_template_form(merchant, template.id, template.name,
                                     {**form, "issuing_mode": ["required", "required", "required", "optional",
                                                               "optional", "off"]})
