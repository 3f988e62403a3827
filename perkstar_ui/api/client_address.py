"""The client's address of a Starlette request or of a Reflex event, by the one rule in
``domain.client_address`` with ``PERKSTAR_TRUSTED_PROXY_HOPS`` (default 0: the
``X-Forwarded-For`` header is never read).

A Reflex event reads the address Reflex gives (``router.session.client_ip``): the socket's
peer, or behind proxies the ``X-Forwarded-For`` entry Reflex's own ``trusted_proxy_hops``
(``rxconfig.py``: the same number) picked, read again by our rule. Never the handshake's
``asgi-scope-client`` header: Reflex writes the peer there only when the ASGI scope names a
client; otherwise a header of that name the client sent itself would survive.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from perkstar_ui.config import settings
from perkstar_ui.domain.client_address import client_ip, limit_key

__all__ = ["limit_key", "request_ip", "router_ip"]

FORWARDED_FOR = "x-forwarded-for"


def request_ip(request: Request) -> str:
    """The client of an HTTP request ("" when unknown)."""
    peer = request.client.host if request.client else ""
    # A repeated header counts as one list, in order (RFC 9110 §5.3), as Reflex joins it.
    forwarded = ", ".join(request.headers.getlist(FORWARDED_FOR))
    return client_ip(peer, forwarded, settings().trusted_proxy_hops)


def router_ip(router: Any) -> str:  # noqa: ANN401  reflex's RouterData (a state's self.router)
    """The client of a Reflex event's websocket ("" when unknown)."""
    hops = settings().trusted_proxy_hops
    given = router.session.client_ip  # reflex.app._build_static_router_data
    if hops <= 0:
        return client_ip(given, None, 0)  # the socket's peer
    # Reflex took the hops-th entry from the right, or the peer when the header has fewer
    # entries: the same rule, which also drops ports and brackets from the entry.
    return client_ip(given, router.headers.raw_headers.get(FORWARDED_FOR, ""), hops)
