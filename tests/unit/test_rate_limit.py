"""The public routes' rate limiter: in-process sliding window, and Redis when configured."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from perkstar_ui.api.rate_limit import RateLimiter, RedisWindow, SlidingWindow
from perkstar_ui.config import settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_admits_the_limit_then_frees_up_as_hits_age():
    clock = Clock()
    window = SlidingWindow(3, 60, clock)
    assert [window.hit("a") for _ in range(4)] == [True, True, True, False]
    assert window.hit("b")  # per key
    clock.now += 30
    assert not window.hit("a")  # the three hits are still inside the last 60 s
    clock.now += 30.5
    assert window.hit("a")  # the first three aged out; refused hits were never counted
    assert [window.hit("a") for _ in range(3)] == [True, True, False]


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    return client


def test_redis_window_is_shared_by_every_limiter_of_that_name():
    client = _redis_or_skip()
    name = f"test-{uuid.uuid4().hex[:8]}"
    one, two = RedisWindow(client, name, 3, 60), RedisWindow(client, name, 3, 60)
    # Two processes' limiters count together (each RedisWindow stands for one process).
    assert [one.hit("1.2.3.4"), two.hit("1.2.3.4"), one.hit("1.2.3.4"), two.hit("1.2.3.4")] == [True, True, True, False]
    assert one.hit("5.6.7.8")
    keys = client.keys(f"perkstar:ratelimit:{name}:*")
    assert keys and all(0 < client.ttl(key) <= 61 for key in keys)  # counters expire


def test_the_limiter_uses_redis_when_redis_url_is_set(monkeypatch):
    client = _redis_or_skip()
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    settings.cache_clear()
    try:
        name = f"test-{uuid.uuid4().hex[:8]}"
        first, second = RateLimiter(name, limit=2), RateLimiter(name, limit=2)
        assert [first.hit("k"), second.hit("k"), first.hit("k")] == [True, True, False]
        assert client.keys(f"perkstar:ratelimit:{name}:k:*")
    finally:
        monkeypatch.delenv("REDIS_URL")
        settings.cache_clear()


def test_an_unreachable_redis_falls_back_to_counting_in_process(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    settings.cache_clear()
    try:
        limiter = RateLimiter(f"test-{uuid.uuid4().hex[:8]}", limit=2)
        assert [limiter.hit("k") for _ in range(3)] == [True, True, False]
    finally:
        monkeypatch.delenv("REDIS_URL")
        settings.cache_clear()
