"""The join page's codes under attack and odd input (issue 14 review): the restore code goes
to the contact that matched and is confirmed with it; parallel requests stay under the
hourly cap; timing tells nothing; guessing is capped per customer, per address and per
merchant; a field the form does not ask is never looked up; the page is never left busy."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from types import SimpleNamespace

import pytest
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, Customer, Message
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import signup as rules
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import contact_codes, signup, signup_limits
from perkstar_ui.state.join import JoinState, Step
from tests.helpers import add_customer, set_template


@pytest.fixture(autouse=True)
def _fresh_limits():
    signup_limits.reset_local()


def _join_code(merchant_id: int) -> str:
    with tenant_session(merchant_id) as session:
        return session.exec(select(CardTemplate.join_code).where(CardTemplate.card_type == "stamp")).first()


def _messages(merchant_id: int) -> list[Message]:
    with tenant_session(merchant_id) as session:
        return list(session.exec(select(Message).order_by(Message.id)).all())


def _code_in(message: Message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _page(join_code: str, client: str = "9.9.9.1", client_error: Exception | None = None) -> SimpleNamespace:
    """What JoinState's handlers read and write, with the page's code and the client's address."""

    def client_of() -> str:
        if client_error is not None:
            raise client_error
        return client

    return SimpleNamespace(busy=False, form_error="", code_error="", step=Step.FORM.value, _contact="", _token="",
                           _codes=lambda: {"join_code": join_code}, _client=client_of)


async def _drain(events) -> list:  # noqa: ANN001
    return [event async for event in events]


def _run(handler, page, form):  # noqa: ANN001, ANN202
    return asyncio.run(_drain(handler.fn(page, form)))


def test_a_new_phone_beside_a_known_email_confirms_the_code_sent_to_the_email(merchant):
    known = add_customer(merchant, "Kim", "Known", email="kim@example.com")
    code = _join_code(merchant)
    form = {"first_name": "Kim", "last_name": "Known", "phone": "+447400999111", "email": "Kim@Example.com"}
    set_template(merchant, "stamp", issuing_form={"fields": [
        {"key": "first_name", "required": True}, {"key": "last_name", "required": True},
        {"key": "phone", "required": True}, {"key": "email"}]})
    page = _page(code)
    _run(JoinState.submit, page, form)
    assert (page.step, page.busy, page._contact) == (Step.DONE.value, False, "kim@example.com")
    (message,) = _messages(merchant)
    assert message.recipient == "kim@example.com"
    events = _run(JoinState.confirm_code, page, {"code": _code_in(message)})
    assert page.code_error == ""
    with tenant_session(merchant) as session:
        token = session.exec(select(Card.install_token).where(Card.customer_id == known)).one()
    assert f"/card/{token}" in str(events[-1])


def test_a_field_the_form_does_not_ask_is_not_looked_up(merchant):
    add_customer(merchant, "Pat", "Phone", phone="+447400222333")
    set_template(merchant, "stamp", issuing_form={"fields": [
        {"key": "first_name", "required": True}, {"key": "last_name", "required": True},
        {"key": "email", "required": True}]})
    outcome = signup.sign_up({"first_name": "Eve", "last_name": "E", "email": "eve@example.com",
                              "phone": "+447400222333"}, join_code=_join_code(merchant), client="9.9.9.2")
    assert outcome.answer == signup.Answer.CARD  # a new customer: the phone was not asked
    assert _messages(merchant) == []  # and the known phone got no code
    with tenant_session(merchant) as session:
        eve = session.exec(select(Customer).where(Customer.email == "eve@example.com")).one()
    assert eve.phone in (None, "")


def test_an_unexpected_error_does_not_leave_the_page_busy(merchant):
    page = _page(_join_code(merchant), client_error=RuntimeError("proxy header"))
    with pytest.raises(RuntimeError):
        _run(JoinState.submit, page, {"first_name": "A", "last_name": "B", "phone": "+447400222444"})
    assert page.busy is False
    page.step = Step.DONE.value
    with pytest.raises(RuntimeError):
        _run(JoinState.confirm_code, page, {"code": "123456"})
    assert page.busy is False
    with pytest.raises(RuntimeError):
        _run(JoinState.request_restore, page, {"contact": "+447400222444"})
    assert page.busy is False


def test_parallel_restore_requests_send_at_most_the_hourly_codes(merchant):
    add_customer(merchant, "Kim", "Known", phone="+447400123456")
    found = contact_codes.join_template(_join_code(merchant))
    barrier = threading.Barrier(12)
    errors: list[Exception] = []

    def request(i: int) -> None:
        barrier.wait()
        try:
            contact_codes.request_restore(found, "+447400123456", client=f"5.4.3.{i}")
        except Exception as error:  # noqa: BLE001  any error fails the test below
            errors.append(error)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(_messages(merchant)) == contact_codes.CODES_PER_HOUR


def test_a_code_check_takes_as_long_for_a_stranger_as_for_a_customer(merchant):
    add_customer(merchant, "Kim", "Known", phone="+447400123456")
    found = contact_codes.join_template(_join_code(merchant))
    contact_codes.request_restore(found, "+447400123456", client="6.6.6.1")
    wrong = _wrong(_code_in(_messages(merchant)[-1]))
    for contact in ("+447400123456", "+447400654321", "nobody@example.com"):
        started = time.monotonic()
        with pytest.raises(Refused, match="not right"):
            contact_codes.confirm_restore(found, contact, wrong, client="6.6.6.2")
        assert time.monotonic() - started >= contact_codes.NEUTRAL_SECONDS, contact
    started = time.monotonic()
    with pytest.raises(Refused, match="not right"):
        contact_codes.confirm_verify("no-such-token", "123456", client="6.6.6.2")
    assert time.monotonic() - started >= contact_codes.NEUTRAL_SECONDS


def test_wrong_tries_are_capped_per_customer_over_all_their_codes(merchant, monkeypatch):
    monkeypatch.setattr(contact_codes, "NEUTRAL_SECONDS", 0.0)
    add_customer(merchant, "Kim", "Known", phone="+447400123456")
    found = contact_codes.join_template(_join_code(merchant))
    tries = 0
    for round_ in range(2):  # each new code would bring CODE_ATTEMPTS more
        contact_codes.request_restore(found, "+447400123456", client=f"7.7.7.{round_}")
        wrong = _wrong(_code_in(_messages(merchant)[-1]))
        for _ in range(rules.CODE_ATTEMPTS):
            tries += 1
            with pytest.raises(Refused, match="not right"):
                contact_codes.confirm_restore(found, "+447400123456", wrong, client=f"8.8.{round_}.{tries}")
    assert tries == rules.FAILED_PER_CUSTOMER_DAY
    contact_codes.request_restore(found, "+447400123456", client="7.7.7.9")
    right = _code_in(_messages(merchant)[-1])
    with pytest.raises(Refused, match="not right"):  # the day's tries are used up: even the right code
        contact_codes.confirm_restore(found, "+447400123456", right, client="8.8.9.9")


def test_code_tries_are_limited_per_address(merchant, monkeypatch):
    monkeypatch.setattr(contact_codes, "NEUTRAL_SECONDS", 0.0)
    found = contact_codes.join_template(_join_code(merchant))
    for i in range(rules.CONFIRMS_PER_ADDRESS_HOUR):
        with pytest.raises(Refused, match="not right"):
            contact_codes.confirm_restore(found, f"+4474001230{i:02d}", "123456", client="4.4.4.4")
    with pytest.raises(Refused, match="Too many codes tried"):
        contact_codes.confirm_restore(found, "+447400123099", "123456", client="4.4.4.4")
    with pytest.raises(Refused, match="Too many codes tried"):
        contact_codes.confirm_restore(found, "kim@example.com", "123456", client="4.4.4.4")
    with pytest.raises(Refused, match="not right"):  # another address still may
        contact_codes.confirm_restore(found, "+447400123099", "123456", client="4.4.4.5")


def test_restore_messages_are_capped_per_merchant_a_day(merchant, monkeypatch):
    monkeypatch.setattr(contact_codes, "NEUTRAL_SECONDS", 0.0)
    monkeypatch.setattr(rules, "RESTORES_PER_MERCHANT_DAY", 2)
    found = contact_codes.join_template(_join_code(merchant))
    for i in range(3):
        add_customer(merchant, f"C{i}", "Known", phone=f"+44740012340{i}")
        assert contact_codes.request_restore(found, f"+44740012340{i}", client=f"3.3.3.{i}") is None
    assert [m.recipient for m in _messages(merchant)] == ["+447400123400", "+447400123401"]
