"""Queue a campaign to 100k recipients (``services.campaigns.send``: audience query, card
choice, placeholders filled, consent checked, one bulk insert, one transaction), beside a
bare baseline: the same 100k outbox rows, already built, inserted by a raw ``COPY``
(PostgreSQL) or ``executemany`` (SQLite) in one transaction.

    python -m bench.campaigns [--backend sqlite|postgresql|both] [--customers 100000] [--runs 3]

Goal (issue 11): ≤ 10 s on both backends.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import sqlalchemy as sa

from bench.common import seeded
from perkstar_ui.db.engine import get_engine  # an engine per DATABASE_URL, made when first used
from perkstar_ui.domain.campaigns import Audience
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services import campaigns
from perkstar_ui.services.campaign_audience import Target

BODY = "Hi {first_name}, you have {balance} on {card_name}. Show this at the counter: {install_link}"


def _consent_for_half(merchant: int) -> None:
    """The seed records no consent; give every other customer email consent, so half the
    rows are queued and half skipped (both paths are measured)."""
    with get_engine().begin() as connection:
        connection.execute(sa.text("UPDATE customer SET email_consent = (id % 2 = 0) WHERE merchant_id = :m"),
                           {"m": merchant})


def _bare_insert(backend: str, rows: list[tuple]) -> float:
    columns = ("merchant_id, customer_id, card_id, campaign_id, channel, recipient, subject, body, status, reason, "
               "attempts, next_attempt_at, created_at")
    engine = get_engine()
    started = time.perf_counter()
    with engine.begin() as connection:
        cursor = connection.connection.cursor()
        if backend == "postgresql":
            with cursor.copy(f"COPY message ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
            cursor.executemany(f"INSERT INTO message ({columns}) VALUES ({', '.join('?' * 13)})",
                               [(*row[:11], now, now) for row in rows])
        cursor.close()
    return time.perf_counter() - started


def run(backend: str, customers: int, runs: int) -> None:

    with seeded(backend, customers) as merchant:
        _consent_for_half(merchant)
        draft = campaigns.Draft(Channel.EMAIL, Target(Audience.FILTER), "News for {first_name}", BODY)
        started = time.perf_counter()
        count = campaigns.count_recipients(merchant, draft.target)
        counted = time.perf_counter() - started
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            result = campaigns.send(merchant, draft)
            timings.append(time.perf_counter() - started)
        with get_engine().connect() as connection:
            rows = [tuple(r) for r in connection.execute(sa.text(
                "SELECT merchant_id, customer_id, card_id, campaign_id, channel, recipient, subject, body, status, "
                "reason, attempts, next_attempt_at, created_at FROM message WHERE campaign_id = :c"),
                {"c": result.campaign_id})]
        bare = _bare_insert(backend, rows)
        print(f"[{backend}] count_recipients: {count} in {counted * 1000:.0f} ms")
        print(f"[{backend}] queue a campaign to {result.recipients} recipients ({result.queued} queued, "
              f"{result.skipped} skipped): best {min(timings):.2f} s, worst {max(timings):.2f} s over {runs} runs; "
              f"bare insert of the same rows {bare:.2f} s ({min(timings) / bare:.1f}×)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run(backend, args.customers, args.runs)


if __name__ == "__main__":
    main()
