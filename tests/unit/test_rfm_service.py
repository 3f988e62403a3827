"""RFM runs on the real database: what the ledger query counts, tenancy, idempotency,
the summary and the settings."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui import cli
from perkstar_ui.db.models import CardTransaction, Customer, CustomerRfm
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain.card_rules import Action
from perkstar_ui.services import cards, rfm
from tests.helpers import add_customer, issue


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _row(merchant_id: int, customer_id: int) -> CustomerRfm | None:
    with tenant_session(merchant_id) as session:
        return session.get(CustomerRfm, customer_id)


def _rows(merchant_id: int) -> list[tuple]:
    with tenant_session(merchant_id) as session:
        found = session.exec(select(CustomerRfm).order_by(CustomerRfm.customer_id)).all()
        return [(r.customer_id, r.recency_days, r.frequency, r.monetary_cents, r.r, r.f, r.m, r.fm, r.segment)
                for r in found]


def _cashback(merchant_id: int, name: str) -> tuple[int, int]:
    customer = add_customer(merchant_id, name, "Rfm", email=f"{name.lower()}-{merchant_id}@example.com")
    return customer, issue(merchant_id, customer, "cashback")


def _act(merchant_id: int, card_id: int, verb: str, value: int, **kwargs) -> None:  # noqa: ANN003
    cards.perform_action(merchant_id, card_id, Action(verb, value), **kwargs)


def _age(merchant_id: int, customer_id: int, days: int) -> None:
    """Pretend the customer was created ``days`` ago."""
    with tenant_session(merchant_id) as session:
        customer = session.get(Customer, customer_id)
        customer.created_at = _now() - dt.timedelta(days=days)
        session.add(customer)
        session.commit()


def test_refunds_subtract_and_monetary_never_goes_below_zero(merchant):
    shopper, card = _cashback(merchant, "Refunded")
    _act(merchant, card, "add-amount", 5_000)
    _act(merchant, card, "subtract-amount", 2_000)
    rfm.recompute(merchant)
    assert _row(merchant, shopper).monetary_cents == 3_000
    # A purchase before the window, refunded inside it: the window's sum is negative → 0.
    early, early_card = _cashback(merchant, "Early")
    start = _now()
    _act(merchant, early_card, "add-amount", 4_000)
    _act(merchant, early_card, "add-amount", 1_000, now=start + dt.timedelta(days=100))
    _act(merchant, early_card, "subtract-amount", 4_000, now=start + dt.timedelta(days=101))
    rfm.recompute(merchant, now=start + dt.timedelta(days=400))
    row = _row(merchant, early)
    # 1,000 − 4,000 in the window; the refund is no visit.
    assert (row.monetary_cents, row.frequency, row.recency_days) == (0, 1, 300)


def test_corrections_and_what_they_reversed_never_count(merchant):
    kept, card = _cashback(merchant, "Kept")
    _act(merchant, card, "add-amount", 1_000)
    _act(merchant, card, "add-amount", 9_000)
    with tenant_session(merchant) as session:
        mistaken = session.exec(select(CardTransaction.id).where(
            CardTransaction.card_id == card, CardTransaction.purchase_cents == 9_000)).one()
    cards.correct_transaction(merchant, mistaken)
    gone, gone_card = _cashback(merchant, "Gone")
    _act(merchant, gone_card, "add-amount", 2_000)
    with tenant_session(merchant) as session:
        only = session.exec(select(CardTransaction.id).where(
            CardTransaction.card_id == gone_card, CardTransaction.purchase_cents == 2_000)).one()
    cards.correct_transaction(merchant, only)
    _age(merchant, gone, 90)
    rfm.recompute(merchant)
    row = _row(merchant, kept)
    assert (row.frequency, row.monetary_cents) == (1, 1_000)
    # The only visit was corrected: no visit at all, not new → no segment, no row.
    assert _row(merchant, gone) is None


def test_one_action_with_several_visit_entries_is_one_visit(merchant):
    customer = add_customer(merchant, "Multi", "Entry", email="multi@example.com")
    card = issue(merchant, customer, "stamp")
    at = _now() - dt.timedelta(days=3)
    with tenant_session(merchant) as session:
        for kind, key in [("stamps_added", "action-1"), ("reward_redeemed", "action-1"), ("stamps_added", "action-2"),
                          ("stamps_added", None), ("stamps_added", None), ("reward_earned", "action-3")]:
            session.add(CardTransaction(card_id=card, customer_id=customer, kind=kind, value_delta=1, balance_after=1,
                                        action_key=key, purchase_cents=100, created_at=at))
        session.commit()
    rfm.recompute(merchant)
    row = _row(merchant, customer)
    # action-1 once, action-2 once, two keyless entries; reward_earned is no visit.
    assert (row.frequency, row.recency_days, row.monetary_cents) == (4, 3, 600)


def test_the_window_is_respected_and_configurable(merchant):
    customer, card = _cashback(merchant, "Window")
    _act(merchant, card, "add-amount", 1_500)
    day = _now()
    rfm.recompute(merchant, now=day + dt.timedelta(days=364))
    assert (_row(merchant, customer).recency_days, _row(merchant, customer).frequency) == (364, 1)
    rfm.recompute(merchant, now=day + dt.timedelta(days=365))
    row = _row(merchant, customer)
    assert (row.recency_days, row.frequency, row.monetary_cents, row.r) == (None, 0, 0, None)
    assert row.segment == "Lost Customers"
    rfm.save_settings(merchant, "400", "30")
    rfm.recompute(merchant, now=day + dt.timedelta(days=365))
    assert _row(merchant, customer).recency_days == 365 and _row(merchant, customer).segment == "Champions"


def test_a_slower_older_run_never_overwrites_a_newer_one(merchant):
    customer, card = _cashback(merchant, "Order")
    _act(merchant, card, "add-amount", 1_500)
    day = _now()
    rfm.recompute(merchant, now=day + dt.timedelta(days=10))  # the run that read the ledger last
    rfm.recompute(merchant, now=day + dt.timedelta(days=5))  # started earlier, finished later
    assert _row(merchant, customer).recency_days == 10


def test_new_customers_without_visits(merchant):
    fresh = add_customer(merchant, "Fresh", "Face", email="fresh@example.com")
    older = add_customer(merchant, "Older", "Face", email="older@example.com")
    _age(merchant, older, 30)
    run = rfm.recompute(merchant)
    assert _row(merchant, fresh).segment == "New Customers" and _row(merchant, older) is None
    assert run.counts["New Customers"] == 1 and run.customers == 2
    rfm.save_settings(merchant, "365", "31")
    rfm.recompute(merchant)
    assert _row(merchant, older).segment == "New Customers"


def test_another_merchant_is_never_counted_nor_touched(merchant, other_merchant):
    mine, my_card = _cashback(merchant, "Mine")
    _act(merchant, my_card, "add-amount", 1_000)
    theirs, their_card = _cashback(other_merchant, "Theirs")
    for _ in range(3):
        _act(other_merchant, their_card, "add-amount", 50_000)
    rfm.recompute(other_merchant)
    before = _rows(other_merchant)
    run = rfm.recompute(merchant)
    assert _rows(other_merchant) == before  # not deleted by my run
    assert [r[0] for r in _rows(merchant)] == [mine]
    assert _row(merchant, mine).monetary_cents == 1_000 and _row(merchant, mine).frequency == 1
    assert run.customers == 1 and sum(run.counts.values()) == 1
    assert rfm.segment_of(merchant, theirs) == ""  # another merchant's customer: nothing


def test_rerun_is_idempotent_and_summary_matches_sql(merchant):
    now = _now()
    for index in range(12):
        customer, card = _cashback(merchant, f"Shopper{index}")
        for visit in range(index % 4 + 1):
            _act(merchant, card, "add-amount", 1_000 * (index + 1),
                 now=now - dt.timedelta(days=index * 20 + visit))
        if index % 3 == 0:
            _age(merchant, customer, 200)
    add_customer(merchant, "No", "Visits", email="none@example.com")
    first = rfm.recompute(merchant, now=now)
    rows = _rows(merchant)
    second = rfm.recompute(merchant, now=now)
    assert _rows(merchant) == rows and first.counts == second.counts
    summary = rfm.summary(merchant)
    with system_session() as session:
        direct = dict(session.execute(sa.text(
            "SELECT segment, COUNT(*) FROM customer_rfm WHERE merchant_id = :m AND segment IS NOT NULL GROUP BY segment"
        ), {"m": merchant}).all())
        cells = {(r, fm): n for r, fm, n in session.execute(sa.text(
            "SELECT r, fm, COUNT(*) FROM customer_rfm WHERE merchant_id = :m AND r IS NOT NULL GROUP BY r, fm"
        ), {"m": merchant}).all()}
    assert {s.segment: s.count for s in summary.segments if s.count} == direct == {k: v for k, v in first.counts.items() if v}
    assert summary.cells == cells and sum(cells.values()) == 12
    assert summary.customers == 13 and [s.segment for s in summary.segments] == [s.value for s in rfm.rule.Segment]
    champions = next(s for s in summary.segments if s.segment == "Champions")
    assert champions.share == f"{champions.count * 100 / 13:.1f}%"
    assert summary.computed_at is not None
    some = rows[0]
    assert rfm.segment_of(merchant, some[0]) == some[-1]


def test_no_customers_no_rows(merchant):
    run = rfm.recompute(merchant)
    assert run.customers == 0 and set(run.counts.values()) == {0}
    assert rfm.summary(merchant).computed_at is None and rfm.summary(merchant).segments[0].share == "0.0%"


@pytest.mark.parametrize(("window", "new_days", "message"), [
    ("29", "30", "RFM window must be from 30 to 1825 days."),
    ("1826", "30", "RFM window must be from 30 to 1825 days."),
    ("365.5", "30", "RFM window must be a whole number"),
    ("", "30", "RFM window must be a whole number"),
    ("abc", "30", "RFM window must be a whole number"),
    ("365", "0", "New customer days must be from 1 to 365 days."),
    ("365", "366", "New customer days must be from 1 to 365 days."),
    ("365", "-5", "New customer days must be a whole number"),
    ("365", "٣", "New customer days must be a whole number"),
])
def test_settings_are_validated(merchant, window, new_days, message):
    with pytest.raises(rfm.SettingsError, match=message.replace(".", r"\.")):
        rfm.save_settings(merchant, window, new_days)
    assert rfm.get_settings(merchant) == rfm.RfmSettings(365, 30)


def test_settings_are_saved_per_merchant(merchant, other_merchant):
    assert rfm.save_settings(merchant, " 30 ", "365") == rfm.RfmSettings(30, 365)
    assert rfm.get_settings(merchant) == rfm.RfmSettings(30, 365)
    assert rfm.save_settings(merchant, "1825", "1") == rfm.RfmSettings(1825, 1)
    assert rfm.get_settings(other_merchant) == rfm.RfmSettings(365, 30)


def test_rfm_command_runs_every_merchant(merchant, capsys):
    add_customer(merchant, "Cli", "Customer", email="cli@example.com")
    assert cli.main(["rfm"]) == 0
    out = capsys.readouterr().out
    assert f"merchant {merchant}:" in out
    assert _row(merchant, next(iter(_customer_ids(merchant)))).segment == "New Customers"


def _customer_ids(merchant_id: int) -> list[int]:
    with tenant_session(merchant_id) as session:
        return list(session.exec(select(Customer.id)).all())
