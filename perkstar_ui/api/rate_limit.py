"""A small per-client rate limit for the public routes (no login: unsubscribe, push
subscribe, …).

Usage in a Starlette route::

    LIMIT = RateLimiter("unsubscribe", limit=20, window_seconds=60)

    async def route(request):
        if not await LIMIT.admit(request):
            return LIMIT.refusal()

Without ``REDIS_URL`` the count is an in-process sliding window: right for the embedded
default (one backend worker). With several workers or machines each process would count
alone, so when ``settings().redis_url`` is set the count moves to Redis (INCR + EXPIRE on a
fixed window shared by every process). If Redis is unreachable we fall back to the local
window rather than refuse everyone or admit everyone.
"""

from __future__ import annotations

import asyncio
import logging

import redis
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from perkstar_ui.api.client_address import limit_key, request_ip
from perkstar_ui.config import settings
from perkstar_ui.services.rate_limit import RedisWindow, SlidingWindow

__all__ = ["REFUSAL_TEXT", "RateLimiter", "RedisWindow", "SlidingWindow", "client_key"]

log = logging.getLogger(__name__)

REFUSAL_TEXT = "Too many requests. Please try again in a minute."


def client_key(request: Request) -> str:
    """What a limit counts by: the client's address (``api.client_address``: behind
    ``PERKSTAR_TRUSTED_PROXY_HOPS`` proxies, from X-Forwarded-For; never read with 0 hops),
    an IPv6 client's /56 network."""
    return limit_key(request_ip(request)) or "unknown"


class RateLimiter:
    """One named limit (e.g. ``unsubscribe``: 20 a minute per client address)."""

    def __init__(self, name: str, *, limit: int, window_seconds: float = 60) -> None:
        self.name = name
        self.limit = limit
        self.window_seconds = window_seconds
        self.local = SlidingWindow(limit, window_seconds)
        self._redis: RedisWindow | None = None
        self._redis_url = ""

    def _shared(self) -> RedisWindow | None:
        url = settings().redis_url
        if not url:
            return None
        if self._redis is None or url != self._redis_url:
            client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._redis, self._redis_url = RedisWindow(client, self.name, self.limit, self.window_seconds), url
        return self._redis

    def hit(self, key: str) -> bool:
        """Count one request for ``key``; False when over the limit."""
        shared = self._shared()
        if shared is not None:
            try:
                return shared.hit(key)
            except redis.RedisError as error:
                log.warning("rate limit %s: Redis unavailable (%s); counting in this process", self.name, error)
        return self.local.hit(key)

    async def admit(self, request: Request) -> bool:
        """Count this request against its client address; False when over the limit."""
        key = client_key(request)
        if settings().redis_url:  # a network round trip: keep it off the event loop
            return await asyncio.to_thread(self.hit, key)
        return self.hit(key)

    def refusal(self) -> Response:
        return PlainTextResponse(REFUSAL_TEXT, status_code=429, headers={"Retry-After": str(int(self.window_seconds))})
