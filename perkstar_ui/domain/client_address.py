"""Who is the client? The one rule for every per-client limit (login throttle, public
routes' rate limits), for the Starlette routes and the Reflex handlers alike.

Behind ``hops`` trusted reverse proxies each proxy appends the address it saw to
``X-Forwarded-For``, so the client is the ``hops``-th entry from the right; anything left
of it was written by the client and is ignored. With 0 hops the header is never read
(anyone can send it): the client is the socket's peer. A header with fewer entries than
``hops`` did not come through the whole chain: the peer counts then (as in Reflex's own
``trusted_proxy_hops``, which ``rxconfig.py`` is given the same number).

Limits count per ``limit_key``: an IPv4 address, or the /56 network of an IPv6 address
(ISPs delegate a /56, some a /48, to one subscriber's line, and a /64 to each of its LANs:
per address, or per /64, one subscriber could rotate through many keys).
"""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 56


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:8080"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(peer: str | None, forwarded_for: str | None, hops: int) -> str:
    """The client's address: the peer, or with ``hops`` > 0 the ``hops``-th
    ``X-Forwarded-For`` entry from the right (see the module doc); "" when unknown."""
    peer = (peer or "").strip()
    if hops <= 0 or not forwarded_for:
        return peer
    entries = [entry.strip() for entry in forwarded_for.split(",") if entry.strip()]
    if len(entries) < hops:
        return peer
    address = _address(entries[-hops])
    return str(address) if address is not None else peer


def limit_key(ip: str | None) -> str:
    """What per-client limits count by: the IPv4 address, an IPv6 address's /56 network
    (an IPv4-mapped IPv6 address counts as its IPv4 address); "" when unknown."""
    address = _address(ip or "")
    if address is None:
        return (ip or "").strip()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)
