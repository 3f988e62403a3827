"""All benchmarks on one seeded database per backend (``make bench``).

    python -m bench.run [--customers 100000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse

from bench import cards, grid, imports, tiles
from bench.common import bench_database, seeded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        with seeded(backend, args.customers) as merchant:
            tiles.measure(backend, merchant)
            grid.measure(backend, merchant)
            cards.measure(backend, merchant)
        with bench_database(backend):
            imports.measure(backend, args.customers)


if __name__ == "__main__":
    main()
