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
        return [(r.customer_id, r.last_visit_on, r.frequency, r.monetary_cents, r.r, r.f, r.m, r.fm, r.segment)
                for r in found]


def _recency(row: CustomerRfm, now: dt.datetime) -> int | None:
    """rfm.md's recency of a stored row on the day of ``now`` (UTC)."""
    return rfm.rule.recency_days(row.last_visit_on, now.astimezone(dt.timezone.utc).date())


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
    assert (row.monetary_cents, row.frequency, _recency(row, start + dt.timedelta(days=400))) == (0, 1, 300)
    assert row.last_visit_on == (start + dt.timedelta(days=100)).date()


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
    assert (row.frequency, _recency(row, _now()), row.monetary_cents) == (4, 3, 600)


def test_the_window_is_respected_and_configurable(merchant):
    customer, card = _cashback(merchant, "Window")
    _act(merchant, card, "add-amount", 1_500)
    day = _now()
    rfm.recompute(merchant, now=day + dt.timedelta(days=364))
    assert (_recency(_row(merchant, customer), day + dt.timedelta(days=364)), _row(merchant, customer).frequency) == (364, 1)
    rfm.recompute(merchant, now=day + dt.timedelta(days=365))
    row = _row(merchant, customer)
    # Out of the window: unscored, Lost; the stored last visit is still that day.
    assert (row.last_visit_on, row.frequency, row.monetary_cents, row.r) == (day.date(), 0, 0, None)
    assert row.segment == "Lost Customers"
    rfm.save_settings(merchant, "400", "30")
    rfm.recompute(merchant, now=day + dt.timedelta(days=365))
    row = _row(merchant, customer)
    assert _recency(row, day + dt.timedelta(days=365)) == 365 and row.segment == "Champions"


def test_a_slower_older_run_never_overwrites_a_newer_one(merchant):
    customer, card = _cashback(merchant, "Order")
    _act(merchant, card, "add-amount", 1_500)
    day = _now()
    assert rfm.recompute(merchant, now=day + dt.timedelta(days=10)).stored  # the run that read the ledger last
    late = rfm.recompute(merchant, now=day + dt.timedelta(days=5))  # started earlier, finished later
    assert (late.stored, late.written) == (False, 0)
    assert rfm.summary(merchant).computed_at == day + dt.timedelta(days=10)


def _from_scratch(merchant_id: int, now: dt.datetime) -> list[tuple]:
    """The rows a first run on ``now`` stores (no rows before it)."""
    with system_session() as session:
        session.execute(sa.text("DELETE FROM customer_rfm WHERE merchant_id = :m"), {"m": merchant_id})
        session.execute(sa.text("UPDATE merchant SET rfm_computed_at = NULL WHERE id = :m"), {"m": merchant_id})
        session.commit()
    rfm.recompute(merchant_id, now=now)
    return _rows(merchant_id)


def test_a_run_the_next_day_rewrites_only_what_changed_and_scores_like_a_first_run(merchant):
    now = _now()
    ids = []
    for days_ago in range(10):  # recency 0..9 today, 1..10 tomorrow
        customer, card = _cashback(merchant, f"Daily{days_ago}")
        _act(merchant, card, "add-amount", 1_000, now=now - dt.timedelta(days=days_ago))
        ids.append(customer)
    leaving, leaving_card = _cashback(merchant, "Leaving")  # the window's last day today, out tomorrow
    _act(merchant, leaving_card, "add-amount", 1_000, now=now - dt.timedelta(days=364))
    _age(merchant, leaving, 400)  # not a new customer once unscored
    first = rfm.recompute(merchant, now=now)
    assert first.written == 11 and _row(merchant, leaving).r is not None
    before = {row[0]: row for row in _rows(merchant)}

    tomorrow = now + dt.timedelta(days=1)
    run = rfm.recompute(merchant, now=tomorrow)
    rows = {row[0]: row for row in _rows(merchant)}
    # rfm.md's example: recency days 1..10 → R = 5,5,4,4,3,3,2,2,1,1; the stored day did not move.
    assert [_recency(_row(merchant, c), tomorrow) for c in ids] == list(range(1, 11))
    assert [rows[c][4] for c in ids] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert all(rows[c][1] == before[c][1] for c in ids)
    assert rows[leaving][1:] == ((now - dt.timedelta(days=364)).date(), 0, 0, None, None, None, None, "Lost Customers")
    # Only the rows whose values differ were written: the leaver and the R moves of the others.
    assert run.written == sum(rows[c] != before[c] for c in rows) < len(rows)
    assert rfm.recompute(merchant, now=tomorrow).written == 0
    # A day with new visits and a new customer, then a correction: always what a first run stores.
    _act(merchant, _card_of(merchant, ids[9]), "add-amount", 50_000, now=tomorrow)
    fresh = add_customer(merchant, "Fresh", "Daily", email="fresh-daily@example.com")
    later = tomorrow + dt.timedelta(days=40)
    rfm.recompute(merchant, now=later)
    assert _row(merchant, fresh) is None  # created 41 days before "later": not new, never visited
    incremental = _rows(merchant)
    assert incremental == _from_scratch(merchant, later)


def _card_of(merchant_id: int, customer_id: int) -> int:
    with tenant_session(merchant_id) as session:
        return session.exec(select(CardTransaction.card_id).where(CardTransaction.customer_id == customer_id)).first()


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
    assert (first.written, second.written) == (len(rows), 0)  # the second run writes nothing
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
    assert rfm.summary(merchant).computed_at is None  # never run
    run = rfm.recompute(merchant)
    assert run.customers == 0 and set(run.counts.values()) == {0} and run.written == 0
    summary = rfm.summary(merchant)
    assert summary.computed_at is not None and summary.segments[0].share == "0.0%" and summary.cells == {}


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
