"""Counting hits per key in a time window: the limiter behind every public route and the
public sign-up pages (issue 14). In-process sliding window without ``REDIS_URL``; a Redis
counter shared by every process when it is set (``RateLimiter`` in api/rate_limit.py and
``services.signup_limits`` choose)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

import redis

REDIS_PREFIX = "perkstar:ratelimit"
# Bound on remembered clients per limiter, so a flood of addresses cannot exhaust memory.
_MAX_TRACKED_KEYS = 50_000


class SlidingWindow:
    """At most ``limit`` hits per key in any ``window_seconds``; thread-safe, in-process."""

    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._hits: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int | None = None) -> bool:
        """Count one request for ``key``; False when it is over the limit (not counted then).
        ``limit``: this call's limit instead of the window's (a per-merchant setting)."""
        limit = self.limit if limit is None else limit
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
            if len(hits) >= limit:
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

    def hit(self, key: str, limit: int | None = None) -> bool:
        window = int(time.time()) // self.window_seconds
        redis_key = f"{REDIS_PREFIX}:{self.name}:{key}:{window}"
        pipeline = self.client.pipeline()
        # Create the counter with its expiry first, so a crash between calls never
        # leaves a counter without one (works on every Redis version).
        pipeline.set(redis_key, 0, ex=self.window_seconds + 1, nx=True)
        pipeline.incr(redis_key)
        _, count = pipeline.execute()
        return int(count) <= (self.limit if limit is None else limit)


