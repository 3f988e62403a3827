"""The dashboard tiles: settled counts plus a live tail equal a plain count after every
kind of change, in this process and after another process's deletion."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.models import CardTransaction, Customer, CustomerRfm, Merchant
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.services import customer_grid, customer_records, dashboard, importing
from tests.helpers import add_customer, give_card
from tests.unit.test_import_service import HEADER, template_id, upload


def plain_counts(merchant: int) -> tuple[int, int]:
    with tenant_session(merchant) as session:
        return (session.exec(select(sa.func.count()).select_from(Customer)).one(),
                session.exec(select(sa.func.count()).select_from(CardTransaction)).one())


def tiles(merchant: int) -> tuple[int, int]:
    shown = dashboard.load_tiles(merchant)
    return shown.total_customers, shown.card_transactions


@pytest.fixture
def small_tail(monkeypatch):
    """A tail of two rows, so a handful of rows crosses the settled boundary."""
    monkeypatch.setattr(dashboard, "TAIL_ROWS", 2)


def test_counts_follow_additions_across_the_settled_boundary(merchant, unique, small_tail):
    assert tiles(merchant) == (0, 0)
    people = [add_customer(merchant, "Tile", f"{unique}-{i}") for i in range(3)]
    give_card(merchant, people[0], transactions=4)
    assert tiles(merchant) == plain_counts(merchant) == (3, 4)
    for i in range(3, 9):  # more than twice the tail: the settled part moves forward
        add_customer(merchant, "Tile", f"{unique}-{i}")
        give_card(merchant, people[1], transactions=2)
        assert tiles(merchant) == plain_counts(merchant)
    assert tiles(merchant) == (9, 16)


def test_a_deletion_in_another_process_is_counted(merchant, unique, small_tail):
    people = [add_customer(merchant, "Gone", f"{unique}-{i}") for i in range(6)]
    for person in people:
        give_card(merchant, person, transactions=3)
    assert tiles(merchant) == (6, 18)
    dashboard._settled.clear()  # what another worker's cache looks like: counted before ...
    assert tiles(merchant) == (6, 18)
    customer_records.delete_customers(merchant, people[:2])  # ... then rows go elsewhere
    assert tiles(merchant) == plain_counts(merchant) == (4, 12)


def test_without_the_deletion_mark_the_settled_count_would_be_stale(merchant, unique, small_tail):
    """Pins why note_deletion exists: rows removed behind its back stay counted."""
    people = [add_customer(merchant, "Raw", f"{unique}-{i}") for i in range(6)]
    assert tiles(merchant) == (6, 0)
    with tenant_session(merchant) as session:
        session.execute(sa.delete(Customer).where(Customer.id == people[0]))
        session.commit()
    assert tiles(merchant)[0] == 6
    with tenant_session(merchant) as session:
        dashboard.note_deletion(session, merchant)
        session.commit()
    assert tiles(merchant)[0] == 5


def test_an_old_settled_count_is_recounted(merchant, unique, small_tail, monkeypatch):
    people = [add_customer(merchant, "Old", f"{unique}-{i}") for i in range(6)]
    assert tiles(merchant) == (6, 0)
    with tenant_session(merchant) as session:
        session.execute(sa.delete(Customer).where(Customer.id == people[0]))
        session.commit()
    monkeypatch.setattr(dashboard, "SETTLED_SECONDS", 0.0)
    assert tiles(merchant)[0] == 5


def test_merchants_are_counted_apart(merchant, other_merchant, unique):
    add_customer(merchant, "Mine", unique)
    give_card(merchant, add_customer(merchant, "Also", unique), transactions=2)
    add_customer(other_merchant, "Theirs", unique)
    assert tiles(merchant) == (2, 2)
    assert tiles(other_merchant) == (1, 0)


def test_an_import_undo_is_counted(merchant, small_tail):
    token = upload(merchant, HEADER + "".join(f"Undo,Person{i},,undo{i}@example.com,,,3\n" for i in range(6)))
    batch = importing.apply_import(merchant, None, token, "people.csv", template_id(merchant, "stamp"))
    assert tiles(merchant) == plain_counts(merchant) == (6, 6)
    importing.undo_import(merchant, batch.batch_id)
    assert tiles(merchant) == plain_counts(merchant) == (0, 0)


def test_a_delete_beside_a_writer_holding_the_merchant_row_does_not_deadlock(merchant, unique):
    """Every writer locks the merchant row first (an RFM run: then its customer_rfm rows);
    a delete that locked customer_rfm rows before the merchant row deadlocked on PostgreSQL."""
    people = [add_customer(merchant, "Lock", f"{unique}-{i}") for i in range(3)]
    for person in people:
        give_card(merchant, person, transactions=2)
    rfm_row = CustomerRfm(customer_id=people[0], merchant_id=merchant, segment="Lost")
    with tenant_session(merchant) as session:
        session.add(rfm_row)
        session.commit()
    holding, errors = threading.Event(), []

    def writer() -> None:  # what an RFM run does: merchant row, a pause, then its customer_rfm rows
        try:
            with tenant_session(merchant) as session:
                session.execute(sa.update(Merchant).where(Merchant.id == merchant).values(name=Merchant.name))
                holding.set()
                time.sleep(0.5)
                session.execute(sa.update(CustomerRfm).where(CustomerRfm.customer_id == people[0])
                                .values(segment="Hibernating"))
                session.commit()
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    holding.wait(5)
    try:
        customer_records.delete_customers(merchant, [people[0]])
    except Exception as error:  # noqa: BLE001
        errors.append(error)
    thread.join(10)
    assert errors == []
    assert tiles(merchant) == plain_counts(merchant) == (2, 4)


def test_the_grid_total_without_search_is_the_tiles_count(merchant, unique, small_tail):
    """A full first page (and a later page) totals everyone with the tiles' count: equal
    to a plain count after additions and after a deletion (note_deletion)."""
    def grid_total(page: int = 1) -> int:
        return customer_grid.grid_page(merchant, customer_grid.GridQuery(page=page, page_size=25)).total

    people = [add_customer(merchant, "Grid", f"{unique}-{i}") for i in range(26)]
    assert grid_total() == tiles(merchant)[0] == plain_counts(merchant)[0] == 26
    for i in range(26, 32):  # past the settled boundary (a tail of two rows)
        add_customer(merchant, "Grid", f"{unique}-{i}")
        assert grid_total() == plain_counts(merchant)[0]
    assert grid_total(page=2) == 32
    customer_records.delete_customers(merchant, people[:5])
    assert grid_total() == grid_total(page=2) == tiles(merchant)[0] == plain_counts(merchant)[0] == 27
    assert len(customer_grid.grid_page(merchant, customer_grid.GridQuery(page=2, page_size=25)).rows) == 2
    assert customer_grid.grid_page(merchant, customer_grid.GridQuery(page=9, page_size=25)).page == 2


def test_the_grid_and_the_tile_are_one_count(merchant, unique, small_tail):
    """Pins that the grid reads the tiles' count (not a count of its own): a row removed
    behind note_deletion's back stays in both until the mark, then leaves both."""
    people = [add_customer(merchant, "One", f"{unique}-{i}") for i in range(30)]
    full_page = customer_grid.GridQuery(page_size=25)
    assert customer_grid.grid_page(merchant, full_page).total == tiles(merchant)[0] == 30
    with tenant_session(merchant) as session:
        session.execute(sa.delete(Customer).where(Customer.id == people[0]))
        session.commit()
    assert customer_grid.grid_page(merchant, full_page).total == tiles(merchant)[0] == 30
    with tenant_session(merchant) as session:
        dashboard.note_deletion(session, merchant)
        session.commit()
    assert customer_grid.grid_page(merchant, full_page).total == tiles(merchant)[0] == 29


@pytest.mark.skipif(is_sqlite(), reason="SQLite has one writer: no other commit can happen inside an import")
def test_customers_an_import_commits_below_a_boundary_counted_meanwhile_are_counted_at_once(merchant, unique, small_tail):
    """PostgreSQL: the import reserves its ids early and commits late; a sign-up committing
    a higher id meanwhile moves the settled boundary past the import's ids. Without the
    mark after the commit, the grid's total and the tile missed them for a minute."""
    for i in range(4):
        add_customer(merchant, "Before", f"{unique}-{i}")
    assert tiles(merchant)[0] == 4
    token = upload(merchant, HEADER + "".join(f"Late,Row{i},,late{i}@example.com,,,\n" for i in range(5)))
    during: list[int] = []
    other_worker: dict = {}

    def meanwhile(fraction: float) -> None:
        if fraction >= 0.8 and not during:  # the import's customers are written, not committed
            for i in range(5):
                add_customer(merchant, "Meanwhile", f"{unique}-m{i}")
            dashboard._settled.clear()  # a recount now (another worker, or an old count)
            during.append(tiles(merchant)[0])
            other_worker.update(dashboard._settled)  # what another worker keeps from that recount

    importing.apply_import(merchant, None, token, "late.csv", None, progress=meanwhile)
    assert during == [9]  # the import's rows were not visible yet
    dashboard._settled.clear()
    dashboard._settled.update(other_worker)  # the mark must reach that worker too, not only this one
    assert tiles(merchant)[0] == plain_counts(merchant)[0] == 14
    assert customer_grid.grid_page(merchant, customer_grid.GridQuery(page=2)).total == 14  # page 2: counted, clamped
