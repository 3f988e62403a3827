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
import collections
import logging
import threading
import time
from collections.abc import Callable

import redis
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from perkstar_ui.config import settings

log = logging.getLogger(__name__)

REFUSAL_TEXT = "Too many requests. Please try again in a minute."
_REDIS_PREFIX = "perkstar:ratelimit"
# Bound on remembered clients per limiter, so a flood of addresses cannot exhaust memory.
_MAX_TRACKED_KEYS = 50_000


def client_key(request: Request) -> str:
    """The client's address as the server saw it. Forwarded headers are not trusted here
    (anyone can send them): behind a reverse proxy, configure the server's forwarded-IPs
    setting so ``request.client`` is the real client."""
    return request.client.host if request.client else "unknown"


class SlidingWindow:
    """At most ``limit`` hits per key in any ``window_seconds``; thread-safe, in-process."""

    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._hits: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Count one request for ``key``; False when it is over the limit (not counted then)."""
        now = self._clock()
        horizon = now - self.window_seconds
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= _MAX_TRACKED_KEYS:
                    self._forget_idle(horizon)
                hits = self._hits[key] = collections.deque()
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _forget_idle(self, horizon: float) -> None:
        for key in [key for key, hits in self._hits.items() if not hits or hits[-1] <= horizon]:
            del self._hits[key]
        if len(self._hits) >= _MAX_TRACKED_KEYS:  # all active: drop the oldest half
            for key in list(self._hits)[: _MAX_TRACKED_KEYS // 2]:
                del self._hits[key]


class RedisWindow:
    """At most ``limit`` hits per key per fixed window, counted in Redis for all processes."""

    def __init__(self, client: redis.Redis, name: str, limit: int, window_seconds: float) -> None:
        self.client = client
        self.name = name
        self.limit = limit
        self.window_seconds = max(1, int(window_seconds))

    def hit(self, key: str) -> bool:
        window = int(time.time()) // self.window_seconds
        redis_key = f"{_REDIS_PREFIX}:{self.name}:{key}:{window}"
        pipeline = self.client.pipeline()
        # Create the counter with its expiry first, so a crash between calls never
        # leaves a counter without one (works on every Redis version).
        pipeline.set(redis_key, 0, ex=self.window_seconds + 1, nx=True)
        pipeline.incr(redis_key)
        _, count = pipeline.execute()
        return int(count) <= self.limit


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
