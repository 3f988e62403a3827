"""The merchant's row lock (``db.locks.merchant_row``: staff role changes, an RFM run's
store) queues its holders but leaves the counter running (issue 13 review): on PostgreSQL
it is ``FOR NO KEY UPDATE``, so a card action and a new customer, whose inserts check
their foreign key to the merchant with ``FOR KEY SHARE``, complete while it is held (a
plain ``FOR UPDATE`` made them wait for the whole hold). Threads against PostgreSQL; on
SQLite the lock is ``BEGIN IMMEDIATE`` (the file's one writer), which queues every write
by design."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from perkstar_ui.db import locks
from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import Action
from perkstar_ui.services import card_desk, rfm, staff
from perkstar_ui.services.staff import StaffRole
from tests.helpers import add_customer, give_card

WAIT = 10.0  # seconds: far longer than either action takes unblocked


@pytest.fixture
def hold(merchant: int) -> Iterator[Callable[[], threading.Event]]:
    """``hold()``: the merchant's row held by another transaction from now until the event
    it returns is set (or the test ends). Call it after the test's own set-up, which
    inserts rows referencing the merchant."""
    if is_sqlite():
        pytest.skip("SQLite: BEGIN IMMEDIATE is the file's one writer (every write queues, by design)")
    release, holders = threading.Event(), []

    def start() -> threading.Event:
        taken = threading.Event()

        def run() -> None:
            with tenant_session(merchant) as session:
                locks.merchant_row(session, merchant)
                taken.set()
                release.wait(60)
                session.rollback()

        holders.append(threading.Thread(target=run))
        holders[-1].start()
        assert taken.wait(WAIT)
        return release

    try:
        yield start
    finally:
        release.set()
        for holder in holders:
            holder.join()


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, threading.Event, list]:
    done, results = threading.Event(), []

    def run() -> None:
        results.append(work())
        done.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done, results


def test_a_card_action_and_a_new_customer_complete_while_the_merchant_row_is_held(merchant, hold):
    customer = add_customer(merchant, "Ottoline", "Fairweather")
    card_id, _ = give_card(merchant, customer)
    held = hold()

    def counter() -> str:
        outcome = card_desk.perform_action(merchant, card_id, Action("add-stamps", 2))
        add_customer(merchant, "Percival", "Ashdown")
        return outcome.balance

    thread, done, results = _in_thread(counter)
    finished = done.wait(WAIT)
    held.set()  # (a blocked action then finishes, so the test ends either way)
    thread.join()
    assert finished, "the card action waited for the merchant row's holder"
    assert results and "2" in results[0]


@pytest.mark.parametrize("change", ["role", "rfm"])
def test_staff_changes_and_rfm_runs_still_queue_behind_the_holder(merchant, hold, unique, change):
    owner = f"owner-{unique}@shop.test"
    colleague = staff.create_staff(owner, f"mgr-{unique}@shop.test", "correct-horse-battery", StaffRole.MANAGER.value)
    held = hold()
    work = {
        "role": lambda: staff.change_role(merchant, colleague, StaffRole.STAFF.value, staff_user_id=None),
        "rfm": lambda: rfm.recompute(merchant),
    }[change]
    thread, done, results = _in_thread(work)
    queued = not done.wait(1.0)
    held.set()
    thread.join()
    assert queued, f"{change} ran while another transaction held the merchant row"
    assert done.is_set() and len(results) == 1
