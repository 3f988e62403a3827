"""Filters and saved segments at scale: the grid's count + first page for a filter, and a
segment's live count, each beside the very statements it sends replayed bare.

    python -m bench.filters [--customers 100000] [--backend sqlite|postgresql|both]

Goals (issue 10): count + first page of a three-condition filter (card status AND visits
in 90 days AND birthday month) median ≤ 100 ms and ≤ 3× bare; a segment's count ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt

from bench.common import print_table, seeded, timed
from bench.grid import capture, replay
from perkstar_ui.domain import filter_params as P
from perkstar_ui.domain import filters as F
from perkstar_ui.domain.filters import Condition, Filter, Match, Op, Param
from perkstar_ui.services.customer_filters import count_matching
from perkstar_ui.services.customer_grid import GridQuery, grid_page


def _this_month() -> str:
    return P.MONTHS[dt.date.today().month - 1]


def cases() -> list[tuple[str, Filter]]:
    month = _this_month()
    return [
        ("3 conditions, 1+ visit", Filter(Match.ALL, (
            Condition(Param.CARD_STATUS, Op.EQUALS, "Installed"),
            Condition(Param.VISITS_IN_DAYS, Op.GREATER, "0", days="90"),
            Condition(Param.BIRTHDAY_MONTH, Op.EQUALS, month),
        ))),
        ("3 conditions, 3+ visits", Filter(Match.ALL, (
            Condition(Param.CARD_STATUS, Op.EQUALS, "Installed"),
            Condition(Param.VISITS_IN_DAYS, Op.GREATER, "2", days="90"),
            Condition(Param.BIRTHDAY_MONTH, Op.EQUALS, month),
        ))),
        ("any of 2 (OR)", Filter(Match.ANY, (
            Condition(Param.NAME, Op.CONTAINS, "mül"),
            Condition(Param.BIRTHDAY, Op.IN_NEXT, "7"),
        ))),
        ("preset not installed", F.PRESETS_BY_KEY["not-installed"].filter),
        ("came 5+, not in 60 days", Filter(Match.ALL, (
            Condition(Param.USES, Op.GREATER, "4"),
            Condition(Param.LAST_VISIT, Op.NOT_IN_LAST, "60"),
        ))),
    ]


def measure(backend: str, merchant: int) -> None:
    grid_rows, count_rows = [], []
    for name, spec in cases():
        query = GridQuery(filter=spec)
        page = grid_page(merchant, query)
        assert page.total == count_matching(merchant, spec), f"{name}: grid and count disagree"
        baseline = replay(capture(lambda q=query: grid_page(merchant, q)))
        grid_rows.append((f"{name} ({page.total})", *timed(lambda q=query: grid_page(merchant, q), runs=30),
                          *timed(baseline, runs=30)))
        counting = replay(capture(lambda s=spec: count_matching(merchant, s)))
        count_rows.append((f"{name} ({page.total})", *timed(lambda s=spec: count_matching(merchant, s), runs=30),
                           *timed(counting, runs=30)))
    print_table(f"[{backend}] filter: count + first page of 50 (30 runs)", grid_rows)
    print_table(f"[{backend}] segment count (30 runs)", count_rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        with seeded(backend, args.customers) as merchant:
            measure(backend, merchant)


if __name__ == "__main__":
    main()
