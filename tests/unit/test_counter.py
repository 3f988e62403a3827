"""The counter's look-ups and one-tap rules against the real database (issue 14)."""

from __future__ import annotations

import uuid

from sqlmodel import select

from perkstar_ui.db.models import CardTransaction
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import counter as rules
from perkstar_ui.domain.card_rules import Action, visible_verbs
from perkstar_ui.domain.card_types import CardType, default_settings
from perkstar_ui.services import cards
from perkstar_ui.services import counter
from tests.helpers import add_customer, give_card


def test_a_valid_serial_opens_its_card_and_only_this_merchants(merchant, other_merchant):
    ada = add_customer(merchant, "Ada", "Lovelace", phone="+447400123101")
    card_id, serial = give_card(merchant, ada)
    found = counter.find(merchant, serial.lower())
    assert (found.card_id, found.customer_id) == (card_id, ada)
    assert [r.customer_id for r in found.results] == [ada] and serial in found.results[0].cards
    other = counter.find(other_merchant, serial)
    assert other.card_id == 0 and other.results == []


def test_phone_and_name_find_customers_without_opening_a_card(merchant):
    ada = add_customer(merchant, "Ada", "Lovelace", phone="+447400123102")
    bob = add_customer(merchant, "Bob", "Lovelace", phone="+447400123103")
    give_card(merchant, ada)
    by_phone = counter.find(merchant, "07400 123102")
    assert [r.customer_id for r in by_phone.results] == [ada] and by_phone.card_id == 0
    assert by_phone.results[0].phone == "+447400123102"
    by_name = counter.find(merchant, "lovelace")
    assert {r.customer_id for r in by_name.results} == {ada, bob}
    assert counter.find(merchant, "nobody-like-this").results == []
    assert counter.find(merchant, "  ").results == []


def test_results_are_capped(merchant):
    for n in range(counter.RESULT_LIMIT + 3):
        add_customer(merchant, f"Cap{n}", "Many", email=f"cap{n}@example.com")
    assert len(counter.find(merchant, "Many").results) == counter.RESULT_LIMIT


def test_customer_cards_and_the_default_card(merchant, other_merchant):
    ada = add_customer(merchant, "Ada", "Lovelace", email="dc@example.com")
    first, _ = give_card(merchant, ada)
    second, _ = give_card(merchant, ada, card_type="gift")
    name, listed = counter.customer_cards(merchant, ada)
    assert name == "Ada Lovelace" and [c.id for c in listed] == [first, second]
    assert counter.default_card(listed) == second  # none used: the newest
    cards.perform_action(merchant, first, Action("add-stamps", 1))
    _, listed = counter.customer_cards(merchant, ada)
    assert counter.default_card(listed) == first  # the last used one
    assert counter.customer_cards(other_merchant, ada) is None


def test_quick_verbs_per_type():
    def quick(card_type: CardType) -> list[str]:
        return rules.quick_verbs(card_type.value, visible_verbs(card_type, default_settings(card_type)))

    assert quick(CardType.STAMP) == ["add-stamps", "redeem-reward"]
    assert quick(CardType.MULTIPASS) == ["redeem-visits"]
    assert quick(CardType.COUPON) == ["redeem"]
    assert quick(CardType.GIFT) == [] and quick(CardType.CASHBACK) == [] and quick(CardType.DISCOUNT) == []
    assert rules.quick_value("add-stamps") == 1 and rules.quick_value("redeem") == 0
    assert rules.quick_verbs("nonsense", ["add-stamps"]) == []


def test_a_quick_key_applies_once_and_its_undo_is_a_correction(merchant):
    ada = add_customer(merchant, "Ada", "Lovelace", email="undo@example.com")
    card_id, _ = give_card(merchant, ada)
    key = uuid.uuid4().hex
    first = cards.perform_action(merchant, card_id, Action("add-stamps", 1), idempotency_key=key, source="scanner")
    again = cards.perform_action(merchant, card_id, Action("add-stamps", 1), idempotency_key=key, source="scanner")
    assert first.applied and not again.applied and first.balance == "1"
    transaction_id = counter.transaction_of_key(merchant, key)
    assert transaction_id is not None and counter.transaction_of_key(merchant, uuid.uuid4().hex) is None
    undone = cards.correct_transaction(merchant, transaction_id, idempotency_key=f"undo-{key}",
                                       source=rules.SCANNER_SOURCE)  # as CounterState.undo writes it
    assert undone.balance == "0"
    with tenant_session(merchant) as session:
        rows = session.exec(select(CardTransaction).where(CardTransaction.card_id == card_id)
                            .order_by(CardTransaction.id)).all()
    assert [(r.value_delta, r.source) for r in rows] == [(1, "scanner"), (-1, "scanner")]
    assert rows[1].correction_of_id == rows[0].id
