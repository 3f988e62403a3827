"""The client's address of a Starlette request or of a Reflex event, by the one rule in
``domain.client_address`` with ``PERKSTAR_TRUSTED_PROXY_HOPS`` (default 0: the
``X-Forwarded-For`` header is never read).

A Reflex event carries the websocket handshake's headers: Reflex puts the socket's peer in
the ``asgi-scope-client`` entry (over any header of that name the client sent) and keeps
``x-forwarded-for`` as sent, so both sides read the same two inputs.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from perkstar_ui.config import settings
from perkstar_ui.domain.client_address import client_ip, limit_key

__all__ = ["limit_key", "request_ip", "router_ip"]

FORWARDED_FOR = "x-forwarded-for"
REFLEX_PEER = "asgi-scope-client"  # set by reflex.app._build_static_router_data


def request_ip(request: Request) -> str:
    """The client of an HTTP request ("" when unknown)."""
    peer = request.client.host if request.client else ""
    # A repeated header counts as one list, in order (RFC 9110 §5.3), as Reflex joins it.
    forwarded = ", ".join(request.headers.getlist(FORWARDED_FOR))
    return client_ip(peer, forwarded, settings().trusted_proxy_hops)


def router_ip(router: Any) -> str:  # noqa: ANN401  reflex's RouterData (a state's self.router)
    """The client of a Reflex event's websocket ("" when unknown)."""
    raw = router.headers.raw_headers
    peer = raw.get(REFLEX_PEER) or router.session.client_ip
    return client_ip(peer, raw.get(FORWARDED_FOR, ""), settings().trusted_proxy_hops)
