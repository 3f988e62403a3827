"""A Redis database of its own for one test run (``PERKSTAR_TEST_REDIS``): the app's tab
states, token records and rate-limit counters of parallel runs never meet.

``claim`` takes a numbered database that holds nothing and marks it with a key set
``NX`` (two runs starting together cannot take the same one); ``release`` empties it.
"""

from __future__ import annotations

import os
import random
from urllib.parse import urlsplit, urlunsplit

import redis

CLAIM_KEY = "perkstar-test-run"
# Never taken: 0 (everyone's default), 7 (bench/load.py), 15 (tests/unit/test_rate_limit.py).
RESERVED = {0, 7, 15}
TIMEOUT_S = 3


def reachable(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError as error:
        print(f"Redis not reachable at {url}: {error}")
        return False


def with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def claim(url: str) -> str:
    """The URL of an empty database on the server at ``url`` (none of ``RESERVED``), now
    marked as this run's."""
    admin = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S)
    try:
        count = int(admin.config_get("databases").get("databases", 16))
    finally:
        admin.close()
    candidates = [db for db in range(count) if db not in RESERVED]
    random.shuffle(candidates)
    owner = f"pid {os.getpid()}"
    for db in candidates:
        client = redis.Redis.from_url(with_db(url, db), socket_timeout=TIMEOUT_S)
        try:
            if not client.set(CLAIM_KEY, owner, nx=True):
                continue  # another run's
            if client.dbsize() == 1:
                return with_db(url, db)
            client.delete(CLAIM_KEY)  # someone else's data: leave it alone
        finally:
            client.close()
    raise RuntimeError(f"no empty Redis database left on {url} (of {count})")


def release(url: str) -> None:
    """Empty the run's database (the app is stopped by then), claim key included."""
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S)
    try:
        client.flushdb()
    finally:
        client.close()
