"""The card engine against the real database: exactly once, under contention, tenant-scoped."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.engine import get_engine
from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Message, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import Action, IssueOptions
from perkstar_ui.domain.card_types import CardType, validate_settings
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import card_desk, cards
from tests.helpers import add_customer


def _template(merchant_id: int, card_type: str, **settings) -> int:  # noqa: ANN003
    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == card_type)).first()
        if settings:
            raw = {**template.settings, **settings}
            template.settings = validate_settings(card_type, raw).model_dump(mode="json")
            session.add(template)
            session.commit()
        return template.id


def _issue(merchant_id: int, customer_id: int, card_type: str, options: IssueOptions = IssueOptions(), **settings) -> int:  # noqa: ANN003
    template_id = _template(merchant_id, card_type, **settings)
    with tenant_session(merchant_id) as session:
        card = cards.issue_card(session, customer_id, session.get(CardTemplate, template_id), options)
        session.commit()
        return card.id


def _card(merchant_id: int, card_id: int) -> Card:
    with tenant_session(merchant_id) as session:
        return session.get(Card, card_id)


def test_issue_card_writes_opening_entries_and_activates_the_template(merchant):
    customer = add_customer(merchant, "Ada", "Lovelace", email="p01@example.com")
    card_id = _issue(merchant, customer, "stamp", welcome_stamps=2)
    card = _card(merchant, card_id)
    assert card.balance == 2 and card.status == "uninstalled" and len(card.serial) >= 8
    with tenant_session(merchant) as session:
        assert session.get(CardTemplate, card.template_id).activated_at is not None
        kinds = session.exec(select(CardTransaction.kind).where(CardTransaction.card_id == card_id)).all()
    assert kinds == ["welcome_bonus"]


def test_action_updates_cache_equal_to_replay(merchant):
    customer = add_customer(merchant, "Grace", "Hopper", email="p02@example.com")
    card_id = _issue(merchant, customer, "stamp", stamp_count=5)
    for _ in range(3):
        cards.perform_action(merchant, card_id, Action("add-stamps", 2))
    cards.perform_action(merchant, card_id, Action("redeem-reward", 1))
    cache, replayed = cards.verify_cache(merchant, card_id)
    assert cache == replayed
    assert (cache.balance, cache.rewards_available, cache.count("rewards_redeemed")) == (1, 0, 1)


def test_the_same_idempotency_key_applies_once(merchant):
    customer = add_customer(merchant, "Alan", "Turing", email="p03@example.com")
    card_id = _issue(merchant, customer, "gift")
    key = uuid.uuid4().hex
    first = cards.perform_action(merchant, card_id, Action("add-balance", 1_000), idempotency_key=key)
    again = cards.perform_action(merchant, card_id, Action("add-balance", 1_000), idempotency_key=key)
    assert first.applied and not again.applied
    assert _card(merchant, card_id).balance == 1_000


def test_refused_action_changes_nothing(merchant):
    customer = add_customer(merchant, "Edsger", "Dijkstra", email="p04@example.com")
    card_id = _issue(merchant, customer, "stamp")
    before = _card(merchant, card_id)
    with pytest.raises(Refused, match="Cannot remove more stamps"):
        cards.perform_action(merchant, card_id, Action("remove-stamps", 1))
    after = _card(merchant, card_id)
    assert (after.balance, after.version) == (before.balance, before.version)


def test_another_merchants_card_is_not_found(merchant, other_merchant):
    customer = add_customer(other_merchant, "Other", "Shop", email="p05@example.com")
    card_id = _issue(other_merchant, customer, "gift")
    with pytest.raises(cards.CardNotFound):
        cards.perform_action(merchant, card_id, Action("add-balance", 100))
    assert cards.load_panel(merchant, card_id) is None
    assert _card(other_merchant, card_id).balance == 0


def test_correction_through_the_service_links_the_original(merchant):
    customer = add_customer(merchant, "Barbara", "Liskov", email="p06@example.com")
    card_id = _issue(merchant, customer, "cashback")
    cards.perform_action(merchant, card_id, Action("add-amount", 10_000))
    with tenant_session(merchant) as session:
        original = session.exec(select(CardTransaction).where(CardTransaction.card_id == card_id)).one()
    cards.correct_transaction(merchant, original.id)
    with pytest.raises(Refused, match="already been corrected"):
        cards.correct_transaction(merchant, original.id)
    card = _card(merchant, card_id)
    assert (card.balance, card.spend_total_cents, card.ltv_cents) == (0, 0, 0)
    with tenant_session(merchant) as session:
        correction = session.exec(select(CardTransaction).where(CardTransaction.kind == "correction",
                                                                CardTransaction.card_id == card_id)).one()
    assert correction.correction_of_id == original.id and correction.value_delta == -original.value_delta
    cache, replayed = cards.verify_cache(merchant, card_id)
    assert cache == replayed and cache.count("points_earned") == 0


@pytest.mark.parametrize("card_type, verb, value, expected", [
    ("stamp", "add-stamps", 1, "stamps_earned"),
    ("multipass", "add-visits", 1, "balance"),
])
def test_twenty_tablets_at_once_lose_no_update(merchant, card_type, verb, value, expected):
    customer = add_customer(merchant, "Busy", "Counter", email=f"{uuid.uuid4().hex[:8]}@example.com")
    card_id = _issue(merchant, customer, card_type)
    errors: list[BaseException] = []

    def tablet() -> None:
        try:
            for _ in range(50):
                cards.perform_action(merchant, card_id, Action(verb, value), idempotency_key=uuid.uuid4().hex)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=tablet) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    cache, replayed = cards.verify_cache(merchant, card_id)
    assert cache == replayed
    total = cache.count("stamps_earned") if expected == "stamps_earned" else cache.balance
    assert total == 1_000
    if card_type == "stamp":  # every 10 stamps became a reward
        assert cache.balance + 10 * cache.rewards_available == 1_000


def test_concurrent_double_click_with_one_key_applies_once(merchant):
    customer = add_customer(merchant, "Double", "Click", email="p99@example.com")
    card_id = _issue(merchant, customer, "gift")
    key = uuid.uuid4().hex
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        cards.perform_action(merchant, card_id, Action("add-balance", 500), idempotency_key=key))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.applied for r in results) == 1
    assert _card(merchant, card_id).balance == 500


def test_coupon_redemption_converts_to_the_linked_card(merchant):
    customer = add_customer(merchant, "Coupon", "Holder", email="p07@example.com")
    stamp_template = _template(merchant, "stamp")
    coupon_id = _issue(merchant, customer, "coupon", linked_template_id=stamp_template)
    outcome = cards.perform_action(merchant, coupon_id, Action("redeem", purchase_cents=0))
    assert "Stamp" in outcome.message
    with tenant_session(merchant) as session:
        stamp = session.exec(select(Card).where(Card.customer_id == customer, Card.card_type == "stamp")).one()
    assert stamp.balance == 1 and outcome.new_card_id == stamp.id


def test_bulk_issue_skips_holders_and_queues_deliveries(merchant):
    a = add_customer(merchant, "Ann", "One", phone="+14155550111", email="ann@example.com")
    b = add_customer(merchant, "Ben", "Two", phone="+14155550112")
    template_id = _template(merchant, "cashback")
    report = cards.issue_cards(merchant, [a, b], template_id, IssueOptions(starting_balance=500), delivery="both")
    assert report.issued == 2 and report.messages == 3
    assert report.skipped == ["Ben Two: no email for EMAIL"]
    again = cards.issue_cards(merchant, [a], template_id, IssueOptions(), delivery="sms")
    assert again.issued == 0 and again.skipped == ["Ann One: already has this card"]
    with tenant_session(merchant) as session:
        balances = session.exec(select(Card.balance).where(Card.template_id == template_id)).all()
        bodies = session.exec(select(Message.body).where(Message.customer_id == a)).all()
    assert balances == [500, 500]
    assert all("/card/" in body for body in bodies)


def test_membership_issue_with_tier_and_period(merchant):
    customer = add_customer(merchant, "Gym", "Member", email="p13@example.com")
    card_id = _issue(merchant, customer, "membership", IssueOptions(tier="Premium", period="weekly"))
    panel = cards.load_panel(merchant, card_id)
    metrics = {m.key: m.value for m in panel.metrics}
    assert (panel.balance, panel.tier, metrics["subscription-period"]) == ("90", "Premium", "Weekly")
    assert panel.tiers == ["Basic", "Premium"]


def test_seeded_cards_without_counters_are_replayed(merchant):
    customer = add_customer(merchant, "Old", "Card", email="p14@example.com")
    card_id = _issue(merchant, customer, "stamp")
    cards.perform_action(merchant, card_id, Action("add-stamps", 3))
    with tenant_session(merchant) as session:
        card = session.get(Card, card_id)
        card.metrics = {}
        session.add(card)
        session.commit()
    panel = cards.load_panel(merchant, card_id)
    assert {m.key: m.value for m in panel.metrics}["stamps-earned"] == "3"
    assert "counters" in _card(merchant, card_id).metrics


def test_push_needs_an_installed_card(merchant):
    customer = add_customer(merchant, "Push", "Target", email="p15@example.com")
    card_id = _issue(merchant, customer, "stamp")
    with pytest.raises(Refused, match="installed cards only"):
        cards.send_push(merchant, card_id, "Hello")
    with tenant_session(merchant) as session:
        card = session.get(Card, card_id)
        card.status = "installed"
        session.add(card)
        session.commit()
    cards.send_push(merchant, card_id, "Double stamps today")
    with tenant_session(merchant) as session:
        assert session.exec(select(Message.channel).where(Message.card_id == card_id)).all() == ["push"]


def test_types_are_all_covered():
    assert {t.value for t in CardType} == {"stamp", "multipass", "cashback", "gift", "reward", "coupon", "membership", "discount"}


def test_coupon_converts_once_only_on_redeem_even_when_stamps_need_a_purchase(merchant):
    import datetime as dt

    customer = add_customer(merchant, "Coupon", "Once", email="once@example.com")
    stamp_template = _template(merchant, "stamp", purchase_amount_required=True)
    coupon_id = _issue(merchant, customer, "coupon", linked_template_id=stamp_template)
    cards.perform_action(merchant, coupon_id, Action("change-expiration", date=dt.date(2030, 1, 1)))
    with tenant_session(merchant) as session:
        assert len(session.exec(select(Card).where(Card.customer_id == customer)).all()) == 1
    cards.perform_action(merchant, coupon_id, Action("redeem", purchase_cents=None))
    with tenant_session(merchant) as session:
        held = session.exec(select(Card.card_type).where(Card.customer_id == customer)).all()
        redeemed = session.exec(select(CardTransaction).where(CardTransaction.kind == "coupon_redeemed",
                                                              CardTransaction.card_id == coupon_id)).one()
    assert sorted(held) == ["coupon", "stamp"]
    with pytest.raises(Refused, match="cannot be corrected"):  # a redeemed coupon stays redeemed
        cards.correct_transaction(merchant, redeemed.id)


def test_tier_changes_are_not_corrected_but_made_again(merchant):
    customer = add_customer(merchant, "Tier", "Change", email="tier@example.com")
    card_id = _issue(merchant, customer, "membership")
    cards.perform_action(merchant, card_id, Action("change-tier", tier="Premium"))
    with tenant_session(merchant) as session:
        change = session.exec(select(CardTransaction).where(CardTransaction.kind == "tier_changed")).one()
    with pytest.raises(Refused, match="cannot be corrected"):
        cards.correct_transaction(merchant, change.id)


def test_the_expiry_job_settles_due_cards_once(merchant):
    import datetime as dt

    from perkstar_ui.db.models import utcnow

    customer = add_customer(merchant, "Lot", "Expiry", email="lots@example.com")
    card_id = _issue(merchant, customer, "cashback", points_life_days=30)
    cards.perform_action(merchant, card_id, Action("add-points", 1_000))
    later = utcnow() + dt.timedelta(days=31)
    assert cards.settle_all(later) >= 1
    assert _card(merchant, card_id).balance == 0
    assert cards.settle_all(later) == 0  # idempotent: nothing is due twice
    with tenant_session(merchant) as session:
        kinds = session.exec(select(CardTransaction.kind).where(CardTransaction.card_id == card_id)).all()
    assert kinds.count("points_expired") == 1
    cache, replayed = cards.verify_cache(merchant, card_id)
    assert cache == replayed


def test_settle_cards_command(capsys):
    from perkstar_ui import cli

    assert cli.main(["settle-cards"]) == 0
    assert "cards" in capsys.readouterr().out


@contextmanager
def _round_trips() -> Iterator[dict[str, list]]:
    """The statements sent and the pool checkouts (one per ORM session) while inside."""
    engine = get_engine()
    seen: dict[str, list] = {"statements": [], "checkouts": []}

    def statement(_conn, _cursor, sql, _params, _context, _many) -> None:  # noqa: ANN001
        seen["statements"].append(sql)

    def checkout(_dbapi, _record, _proxy) -> None:  # noqa: ANN001
        seen["checkouts"].append(1)

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "checkout", checkout)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "checkout", checkout)


def _verbs(statements: list[str]) -> list[str]:
    return [sql.split(None, 1)[0].upper() for sql in statements]


def test_the_panel_of_a_cached_card_with_nothing_due_is_one_read(merchant):
    customer = add_customer(merchant, "One", "Read", email="one-read@example.com")
    card_id = _issue(merchant, customer, "stamp")
    cards.perform_action(merchant, card_id, Action("add-stamps", 2))
    with _round_trips() as seen:
        panel = card_desk.load_panel(merchant, card_id)
    assert {m.key: m.value for m in panel.metrics}["stamps-earned"] == "2"
    assert _verbs(seen["statements"]) == ["SELECT"]
    assert len(seen["checkouts"]) == 1


def test_the_panel_settles_points_that_expired_since_the_last_visit(merchant):
    customer = add_customer(merchant, "Points", "Lapsed", email="lapsed@example.com")
    card_id = _issue(merchant, customer, "cashback", points_life_days=30)
    cards.perform_action(merchant, card_id, Action("add-points", 1_000), now=utcnow() - dt.timedelta(days=31))
    assert _card(merchant, card_id).balance == 1_000
    with _round_trips() as seen:
        panel = card_desk.load_panel(merchant, card_id)
    assert "UPDATE" in _verbs(seen["statements"])  # written under the card's lock, then read again
    assert _card(merchant, card_id).balance == 0
    assert panel == cards.load_panel(merchant, card_id)  # the panel shows the settled card
    with tenant_session(merchant) as session:
        kinds = session.exec(select(CardTransaction.kind).where(CardTransaction.card_id == card_id)).all()
    assert kinds.count("points_expired") == 1
    assert cards.verify_cache(merchant, card_id)[0] == cards.verify_cache(merchant, card_id)[1]


def test_the_panel_of_a_deleted_card_settles_nothing(merchant):
    customer = add_customer(merchant, "Gone", "Card", email="gone-card@example.com")
    card_id = _issue(merchant, customer, "stamp")
    with tenant_session(merchant) as session:
        card = session.get(Card, card_id)
        card.status, card.metrics = "deleted", {}  # and predating the counters: still nothing written
        session.add(card)
        session.commit()
    version = _card(merchant, card_id).version
    with _round_trips() as seen:
        panel = card_desk.load_panel(merchant, card_id)
    assert panel.status == "Deleted" and not panel.referral_may_be_due
    assert set(_verbs(seen["statements"])) == {"SELECT"}
    assert _card(merchant, card_id).version == version
