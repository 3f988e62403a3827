"""Only the card-engine benchmark: ``python -m bench.cards_only [sqlite|postgresql] [customers]``."""

from __future__ import annotations

import sys

from bench import cards
from bench.common import seeded

if __name__ == "__main__":
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    customers = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    with seeded(backend, customers) as merchant:
        cards.measure(backend, merchant)
