"""domain.stripe_rules and the Stripe-mode card rules: pure, no database, no network."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from perkstar_ui.domain import card_metrics, card_rules, stripe_rules
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_rules import Action, IssueOptions
from perkstar_ui.domain.card_types import CardType, MembershipSettings, MembershipTier
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.stripe_rules import EventType, MembershipStatus
from tests import stripe_fixtures as sf

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)
SETTINGS = MembershipSettings(mode="stripe", tiers=[MembershipTier(name="Basic", price_cents=3_500, visit_limit=3),
                                                    MembershipTier(name="Premium", price_cents=7_000, visit_limit=5),
                                                    MembershipTier(name="Open", price_cents=9_000)],
                              stripe_prices={"Basic": "price_basic", "Premium": "price_premium", "Open": "price_open"})
T0 = sf.BASE_TIME


@pytest.mark.parametrize("stripe_status, status", [
    ("trialing", "valid"), ("active", "valid"), ("past_due", "past_due"), ("unpaid", "past_due"),
    ("incomplete", "past_due"), ("canceled", "cancelled"), ("incomplete_expired", "cancelled"),
])
def test_status_mapping_of_stripe_md(stripe_status, status):
    assert stripe_rules.status_of(stripe_status) == MembershipStatus(status)
    assert stripe_rules.STATUS_LABELS[MembershipStatus(status)] in ("Valid", "Past due", "Cancelled")


def test_period_fields_on_items_or_top_level():
    new = sf.subscription("S1", sub_id="sub_1", start=T0, end=T0 + 30 * sf.DAY)
    old = sf.subscription("S1", sub_id="sub_1", start=T0, end=T0 + 30 * sf.DAY, old_api=True)
    assert "current_period_end" not in old["items"]["data"][0] and "current_period_end" in old
    assert stripe_rules.period_bounds(new) == stripe_rules.period_bounds(old) == ("2026-05-28", "2026-06-27")
    assert stripe_rules.period_of(new) == "monthly" and stripe_rules.price_ids(new) == ["price_basic"]


def test_invoice_reaches_its_subscription_by_the_new_and_the_old_field():
    assert stripe_rules.invoice_subscription(sf.invoice("sub_new")) == "sub_new"
    assert stripe_rules.invoice_subscription(sf.invoice("sub_old", old_api=True)) == "sub_old"
    assert stripe_rules.invoice_subscription(sf.resource("invoice")) == "subscription"  # the fixture as it is
    link = stripe_rules.event_link(sf.event("invoice.paid", sf.invoice("sub_new", serial="SER1", customer="cus_9")))
    assert link == stripe_rules.Link("SER1", "sub_new", "cus_9")


def test_event_links_and_types():
    checkout = sf.event("checkout.session.completed", sf.checkout_completed("SER2", sub_id="sub_2", customer="cus_2"))
    assert stripe_rules.event_link(checkout) == stripe_rules.Link("SER2", "sub_2", "cus_2")
    assert stripe_rules.is_subscription_checkout(checkout)
    assert not stripe_rules.is_subscription_checkout(sf.event("checkout.session.completed", sf.resource("checkout.session")))
    assert stripe_rules.event_type(sf.resource("event")) is None  # plan.created: not ours


def test_watermark_orders_by_created_then_by_a_subscriptions_life():
    sub = sf.subscription("S", sub_id="sub")
    created = sf.event("customer.subscription.created", sub, created=T0)
    updated = sf.event("customer.subscription.updated", sub, created=T0)
    later = sf.event("customer.subscription.created", sub, created=T0 + 1)
    assert stripe_rules.watermark(created) < stripe_rules.watermark(updated) < stripe_rules.watermark(later)


# --- the card ------------------------------------------------------------------------------------


def _opened() -> L.CardState:
    state = L.initial_state(CardType.MEMBERSHIP, SETTINGS)
    for entry in card_rules.opening_entries(CardType.MEMBERSHIP, SETTINGS, IssueOptions(), NOW):
        L.fold(state, entry, CardType.MEMBERSHIP, SETTINGS)
    return state


def _apply(state: L.CardState, entries: list[L.Entry]) -> L.CardState:
    for entry in entries:
        L.fold(state, entry, CardType.MEMBERSHIP, SETTINGS)
    return state


def _sub_event(kind: str, created: int, **fields) -> tuple[EventType, dict, int]:  # noqa: ANN003
    evt = sf.event(kind, sf.subscription("S", sub_id="sub_x", **fields), created=created)
    return stripe_rules.event_type(evt), evt["data"]["object"], stripe_rules.watermark(evt)


def _entries(state: L.CardState, kind: EventType, obj: dict, mark: int) -> list[L.Entry]:
    if kind in stripe_rules.INVOICE_EVENTS:
        return stripe_rules.payment_entries(state, obj, mark, NOW, failed=kind == EventType.INVOICE_PAYMENT_FAILED)
    return stripe_rules.subscription_entries(SETTINGS, state, obj, mark, NOW, deleted=kind == EventType.SUBSCRIPTION_DELETED)


def test_a_stripe_card_opens_pending_payment_without_limits_and_refuses_visits():
    state = _opened()
    assert (state.balance, stripe_rules.membership_status(state), state.tier) == (0, MembershipStatus.PENDING, "Basic")
    with pytest.raises(Refused, match="Pending payment"):
        card_rules.apply_action(CardType.MEMBERSHIP, SETTINGS, state, Action("add-visits", 1), NOW)
    view = card_metrics.view(CardType.MEMBERSHIP, SETTINGS, state)
    assert {m.key: m.value for m in view.metrics}["subscription-status"] == "Pending payment"
    assert card_rules.settle(CardType.MEMBERSHIP, SETTINGS, state, NOW + dt.timedelta(days=400)) == []


def test_a_snapshot_sets_status_tier_period_and_refills_only_at_a_new_period():
    state = _opened()
    kind, sub, mark = _sub_event("customer.subscription.created", T0, end=T0 + 30 * sf.DAY)
    _apply(state, _entries(state, kind, sub, mark))
    assert (state.balance, state.tier, stripe_rules.membership_status(state)) == (3, "Basic", MembershipStatus.VALID)
    assert stripe_rules.expires_on(state) == dt.date(2026, 6, 27)
    _apply(state, card_rules.apply_action(CardType.MEMBERSHIP, SETTINGS, state, Action("add-visits", 2), NOW))
    assert state.balance == 1
    # an update in the same period (cancel at period end): no refill, auto-renew off
    kind, sub, mark = _sub_event("customer.subscription.updated", T0 + 10, cancel_at_period_end=True)
    _apply(state, _entries(state, kind, sub, mark))
    assert (state.balance, state.membership["auto_renew"]) == (1, False)
    # an upgrade in the same period keeps the visits used: 5 - 2
    kind, sub, mark = _sub_event("customer.subscription.updated", T0 + 20, price="price_premium")
    _apply(state, _entries(state, kind, sub, mark))
    assert (state.balance, state.tier) == (3, "Premium")
    # the next period: the whole limit again
    kind, sub, mark = _sub_event("customer.subscription.updated", T0 + 30 * sf.DAY, price="price_premium",
                                 start=T0 + 30 * sf.DAY, end=T0 + 60 * sf.DAY)
    _apply(state, _entries(state, kind, sub, mark))
    assert (state.balance, state.membership["period_end"]) == (5, "2026-07-27")


def test_an_older_snapshot_writes_nothing():
    state = _opened()
    kind, sub, mark = _sub_event("customer.subscription.updated", T0 + 100, status="past_due")
    _apply(state, _entries(state, kind, sub, mark))
    kind, sub, mark = _sub_event("customer.subscription.created", T0, status="active")
    assert stripe_rules.is_stale(state, mark) and _entries(state, kind, sub, mark) == []


def test_payments_are_rows_with_amount_currency_status_invoice_and_a_failure_is_past_due():
    state = _opened()
    kind, sub, mark = _sub_event("customer.subscription.created", T0)
    _apply(state, _entries(state, kind, sub, mark))
    paid = stripe_rules.payment_entries(state, sf.invoice("sub_x", amount=3_500, inv_id="in_1"), mark + 8, NOW, failed=False)
    assert [e.kind for e in paid] == [L.PAYMENT] and paid[0].purchase_cents == 3_500
    assert json.loads(paid[0].detail) == {"amount": 3_500, "currency": "usd", "status": "paid", "invoice": "in_1"}
    _apply(state, paid)
    assert state.ltv_cents == 3_500
    failed = stripe_rules.payment_entries(state, sf.invoice("sub_x", amount=3_500, paid=False, inv_id="in_2"),
                                          mark + 16, NOW, failed=True)
    assert [e.kind for e in failed] == [L.PAYMENT, L.SUBSCRIPTION_CHANGED] and failed[0].purchase_cents is None
    _apply(state, failed)
    assert stripe_rules.membership_status(state) == MembershipStatus.PAST_DUE and state.ltv_cents == 3_500
    with pytest.raises(Refused, match="Past due"):
        card_rules.apply_action(CardType.MEMBERSHIP, SETTINGS, state, Action("add-visits", 1), NOW)
    assert all(kind in card_rules.UNCORRECTABLE for kind in (L.PAYMENT, L.SUBSCRIPTION_CHANGED))


def test_deleted_is_cancelled_until_the_paid_period_end():
    state = _opened()
    kind, sub, mark = _sub_event("customer.subscription.deleted", T0, status="canceled")
    _apply(state, _entries(state, kind, sub, mark))
    assert stripe_rules.membership_status(state) == MembershipStatus.CANCELLED
    assert (stripe_rules.expires_on(state), state.membership["auto_renew"]) == (dt.date(2026, 6, 27), False)


def _events() -> list[tuple[EventType, dict, int]]:
    events = []
    for month, (kind, status, price) in enumerate([
        ("customer.subscription.created", "incomplete", "price_basic"), ("customer.subscription.updated", "active", "price_basic"),
        ("customer.subscription.updated", "past_due", "price_premium"), ("customer.subscription.updated", "active", "price_open"),
        ("customer.subscription.deleted", "canceled", "price_open"),
    ]):
        start = T0 + month * 30 * sf.DAY
        events.append(_sub_event(kind, start + 1, status=status, price=price, start=start, end=start + 30 * sf.DAY))
        invoice = sf.invoice("sub_x", paid=month != 2, inv_id=f"in_{month}")
        evt = sf.event("invoice.paid" if month != 2 else "invoice.payment_failed", invoice, created=start)
        events.append((stripe_rules.event_type(evt), invoice, stripe_rules.watermark(evt)))
    return events


def _fold_in(order: list[int]) -> L.CardState:
    events, state = _events(), _opened()
    for index in order:
        _apply(state, _entries(state, *events[index]))
    return state


@hsettings(max_examples=200, deadline=None)
@given(st.permutations(range(10)))
def test_any_delivery_order_folds_to_the_in_order_state(order):
    in_order = _fold_in(list(range(10)))
    shuffled = _fold_in(order)
    assert (shuffled.membership, shuffled.balance, shuffled.tier, shuffled.ltv_cents) == (
        in_order.membership, in_order.balance, in_order.tier, in_order.ltv_cents)


def test_the_in_order_state_is_the_last_snapshot():
    state = _fold_in(list(range(10)))
    assert stripe_rules.membership_status(state) == MembershipStatus.CANCELLED
    assert (state.tier, state.membership["period_end"], state.ltv_cents) == ("Open", "2026-10-25", 4 * 3_500)


def test_manual_mode_still_refills_by_the_clock():
    manual = SETTINGS.model_copy(update={"mode": "manual"})
    state = L.initial_state(CardType.MEMBERSHIP, manual)
    for entry in card_rules.opening_entries(CardType.MEMBERSHIP, manual, IssueOptions(), NOW):
        L.fold(state, entry, CardType.MEMBERSHIP, manual)
    assert state.balance == 3
    for entry in card_rules.apply_action(CardType.MEMBERSHIP, manual, state, Action("add-visits", 3), NOW):
        L.fold(state, entry, CardType.MEMBERSHIP, manual)
    due = card_rules.settle(CardType.MEMBERSHIP, manual, state, NOW + dt.timedelta(days=40))
    assert [e.kind for e in due] == [L.LIMITS_REFILLED] and due[0].value_delta == 3


def test_every_permutation_of_a_small_set_agrees():
    base = _fold_in(list(range(4)))
    for order in itertools.permutations(range(4)):
        assert _fold_in(list(order)).membership == base.membership


# --- same-second events of one type (reviewer: the last arrival won) -----------------------------------


def _twin(kind: str, created: int, **fields) -> tuple[EventType, dict, int, str]:  # noqa: ANN003
    evt = sf.event(kind, sf.subscription("S", sub_id="sub_x", **fields), created=created)
    return stripe_rules.event_type(evt), evt["data"]["object"], stripe_rules.watermark(evt), stripe_rules.tiebreak(evt)


_SAME_SECOND = [
    _twin("customer.subscription.created", T0, status="incomplete"),
    _twin("customer.subscription.updated", T0 + 10, status="active"),
    _twin("customer.subscription.updated", T0 + 10, status="past_due"),  # same end: the status order decides
    _twin("customer.subscription.updated", T0 + 20, status="active", price="price_premium",
          start=T0 + 30 * sf.DAY, end=T0 + 60 * sf.DAY),
    _twin("customer.subscription.updated", T0 + 20, status="past_due", start=T0, end=T0 + 30 * sf.DAY),
    _twin("customer.subscription.deleted", T0 + 40, status="canceled", end=T0 + 60 * sf.DAY),
    _twin("customer.subscription.deleted", T0 + 40, status="canceled", end=T0 + 60 * sf.DAY),  # only the id differs
]


def _fold_twins(order: list[int], upto: int) -> L.CardState:
    state = _opened()
    for index in order:
        kind, obj, mark, tie = _SAME_SECOND[index]
        if index < upto:
            _apply(state, stripe_rules.subscription_entries(SETTINGS, state, obj, mark, NOW, tie=tie,
                                                           deleted=kind == EventType.SUBSCRIPTION_DELETED))
    return state


@hsettings(max_examples=200, deadline=None)
@given(st.permutations(range(len(_SAME_SECOND))), st.sampled_from([3, 5, 7]))
def test_same_second_events_of_one_type_end_the_same_in_any_order(order, upto):
    in_order, shuffled = _fold_twins(list(range(len(_SAME_SECOND))), upto), _fold_twins(order, upto)
    assert (shuffled.membership, shuffled.balance, shuffled.tier) == (in_order.membership, in_order.balance, in_order.tier)


def test_the_same_second_tiebreak_prefers_the_later_period_end_then_the_status_order():
    assert stripe_rules.membership_status(_fold_twins([2, 1, 0], 3)) == MembershipStatus.PAST_DUE  # past_due > active
    state = _fold_twins([4, 3, 0], 5)  # the later period end wins over the later arrival
    assert (state.membership["period_end"], state.tier) == ("2026-07-27", "Premium")
