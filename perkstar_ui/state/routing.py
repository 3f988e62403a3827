"""The tab's page address, read without Reflex's deprecated ``router.page``: each read of
that property walks the call stack to place its deprecation warning (2 % of the workers'
CPU in the load test, from the profile's load alone)."""

from __future__ import annotations

from typing import Any


def route_param(state: Any, name: str) -> str:  # noqa: ANN401  any state (or a background StateProxy)
    """A dynamic segment of the page's route (``/customers/[customer_id]``) or a query parameter."""
    return str(state.rx_router_page.params.get(name, ""))


def route_path(state: Any) -> str:  # noqa: ANN401
    """The page's route pattern, e.g. ``/r/[code]``."""
    return str(state.rx_router_page.path or "")
