"""Dashboard tiles at scale: ``load_tiles`` versus the same counts as bare SQL."""

from __future__ import annotations

from bench.common import bare, print_table, timed

BARE_SQL = [
    "SELECT COUNT(*) FROM customer WHERE merchant_id = :m",
    "SELECT COUNT(*) FROM card_transaction WHERE merchant_id = :m",
    "SELECT COUNT(*), COALESCE(SUM(rating), 0) FROM review WHERE merchant_id = :m",
]


def measure(backend: str, merchant: int) -> None:
    from perkstar_ui.services.dashboard import load_tiles

    queries = [bare(sql, m=merchant) for sql in BARE_SQL]

    def baseline() -> None:
        for query in queries:
            query()

    print_table(f"[{backend}] dashboard tiles (50 runs)", [("load_tiles (4 tiles)", *timed(lambda: load_tiles(merchant)), *timed(baseline))])
