"""Prometheus metrics of this process (served by ``/api/metrics``, api/ops.py).

Event latency per handler: Reflex 0.10.1 calls a middleware's ``preprocess`` before each
event but never its ``postprocess`` (reflex_base ``BaseStateEventProcessor._execute_event``),
so there is no app-level hook at the end of an event. Handlers are timed where every one of
them already passes: the guard (state/guard.py) wraps each call in ``timed_event``. The
middleware counts events as they start (``EVENTS_STARTED``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
EVENT_SECONDS = Histogram(
    "perkstar_event_seconds",
    "Run time of an event handler, per handler",
    ["handler"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_STARTED = Counter(
    "perkstar_events_started", "Events the app began to process, per handler", ["handler"], registry=REGISTRY
)
WEBSOCKETS = Gauge("perkstar_websocket_connections", "Open websocket connections of this process", registry=REGISTRY)
OUTBOX_DEPTH = Gauge("perkstar_outbox_queued", "Messages queued in the outbox (all processes)", registry=REGISTRY)
WEBHOOK_FAILURES = Gauge(
    "perkstar_webhook_failures", "Stripe events stored with an error, waiting to be retried", registry=REGISTRY
)


def observe_event(handler: str, seconds: float) -> None:
    EVENT_SECONDS.labels(handler=handler).observe(seconds)


@contextlib.contextmanager
def timed_event(handler: str) -> Iterator[None]:
    """``with timed_event("GridState.search"): ...`` records the block's run time."""
    started = time.perf_counter()
    try:
        yield
    finally:
        observe_event(handler, time.perf_counter() - started)
