"""Customer grid at scale: one page fetched by ``grid_page`` versus bare SQL.

Bare SQL = the same page query and total count, hand-written, without the ORM, the
tenant hook or the page's card/rating/custom-field look-ups.
"""

from __future__ import annotations

from bench.common import bare, print_table, timed

PAGE = "SELECT id, first_name, last_name, phone, email, birthdate, utm, created_at FROM customer"


def _pair(where: str, order: str, **params: object):
    page = bare(f"{PAGE} WHERE merchant_id = :m{where} ORDER BY {order} LIMIT 50 OFFSET 0", **params)
    count = bare(f"SELECT COUNT(*) FROM customer WHERE merchant_id = :m{where}", **params)

    def run() -> None:
        count()
        page()

    return run


def measure(backend: str, merchant: int) -> None:
    from perkstar_ui.services.customers import GridQuery, grid_page

    phone_typed = "07500 012345"  # a seeded customer's number, typed the local way
    fragment = "mül"  # accent-folded fragment of a common surname
    cases = [
        ("first page", GridQuery(), _pair("", "created_at DESC, id DESC", m=merchant)),
        ("search name fragment", GridQuery(search=fragment),
         _pair(" AND search_name LIKE :p", "created_at DESC, id DESC", m=merchant, p="%mul%")),
        ("search phone", GridQuery(search=phone_typed),
         _pair(" AND phone = :p", "created_at DESC, id DESC", m=merchant, p="+447500012345")),
        ("sort by date created", GridQuery(sort="created", descending=False),
         _pair("", "created_at ASC, id ASC", m=merchant)),
    ]
    rows = []
    for name, query, baseline in cases:
        found = grid_page(merchant, query)
        assert found.rows, f"{name}: the benchmark query found nothing"
        rows.append((name, *timed(lambda q=query: grid_page(merchant, q)), *timed(baseline)))
    print_table(f"[{backend}] customer grid, one page of 50 (50 runs)", rows)
