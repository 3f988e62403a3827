"""Our services' share of a load-test cycle (issue 15): the CPU (``process_time``) of each
service a counter tablet's cycle calls in ``bench/load.py`` (search a phone, open the
profile, add a stamp, back to the grid), without Reflex, on the seeded 100k database.

The cycle's total beside the workers' CPU per cycle (the load test's CPU sampler) says how
much of a worker's time is ours and how much is Reflex's per-event pipeline.

    .venv/bin/python -m bench.service_cycle [--backend postgresql] [--customers 100000] [--calls 60]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from bench.common import seeded
from bench.load import pick_targets
from perkstar_ui import config
from perkstar_ui.domain.card_rules import Action
from perkstar_ui.services import accounts, card_desk, customer_filters, customer_grid, customer_profile, rfm
from perkstar_ui.services.dashboard import load_tiles

# How often one cycle calls each (state/*.py): every guarded event resolves the session.
# Guarded events per cycle: set_search, the profile's load, open_action, apply, /customers' load.
# Back on /customers the grid keeps its search: the phone is searched twice, the whole grid
# never. The profile's refresh after an action reads the cards and the history only (load_cards).
PER_CYCLE = {"resolve_session": 5, "grid_page (phone)": 2, "load_profile": 1, "load_cards": 1,
             "segment_of": 1, "card_history": 2, "load_panel": 2, "perform_action": 1, "load_tiles": 1,
             "params_for": 1}
WARM_UP = 10


def _calls(merchant_id: int, token: str) -> dict[str, Callable]:
    return {
        "resolve_session": lambda t: accounts.resolve_session(token),
        "grid_page (phone)": lambda t: customer_grid.grid_page(merchant_id, customer_grid.GridQuery(search=t.phone)),
        "load_profile": lambda t: customer_profile.load_profile(merchant_id, t.customer_id),
        "load_cards": lambda t: customer_profile.load_cards(merchant_id, t.customer_id),
        "segment_of": lambda t: rfm.segment_of(merchant_id, t.customer_id),
        "card_history": lambda t: customer_profile.card_history(merchant_id, t.card_id),
        "load_panel": lambda t: card_desk.load_panel(merchant_id, t.card_id),
        "perform_action": lambda t: card_desk.perform_action(merchant_id, t.card_id, Action("add-stamps", 1),
                                                             idempotency_key=uuid.uuid4().hex),
        "load_tiles": lambda t: load_tiles(merchant_id),
        "params_for": lambda t: customer_filters.params_for(merchant_id),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    with seeded(args.backend, args.customers) as merchant_id:
        ticket = accounts.log_in(config.DEMO_EMAIL, config.DEMO_PASSWORD, browser="bench")
        token = accounts.redeem_ticket(ticket, browser="bench").token
        targets = pick_targets(merchant_id, args.calls + WARM_UP)
        total = 0.0
        print(f"[{args.backend}] our services per load-test cycle, {args.customers} customers (ms, medians)")
        for name, call in _calls(merchant_id, token).items():
            cpu, wall = [], []
            for target in targets:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                call(target)
                cpu.append((time.process_time() - cpu0) * 1000)
                wall.append((time.perf_counter() - wall0) * 1000)
            cpu_ms, wall_ms = statistics.median(cpu[WARM_UP:]), statistics.median(wall[WARM_UP:])
            total += cpu_ms * PER_CYCLE[name]
            print(f"{name:<20} cpu {cpu_ms:6.2f}  wall {wall_ms:6.2f}  × {PER_CYCLE[name]} = {cpu_ms * PER_CYCLE[name]:6.2f}")
        print(f"CPU of our services per cycle: {total:.1f} ms")


if __name__ == "__main__":
    main()
