"""A Redis database of its own for one test run (``PERKSTAR_TEST_REDIS``): the app's tab
states, token records and rate-limit counters of parallel runs never meet.

``claim`` takes a numbered database that holds nothing and marks it as the run's: a claim
key set ``NX`` (two runs starting together cannot take the same one) naming its owner
(host, pid), with a TTL (``CLAIM_TTL_S``) that ``refresh`` renews while the run lives, and
a persistent ``MARK_KEY`` saying the database is a test run's. ``release`` empties it.

A run killed (SIGKILL, a CI timeout) never releases: its database is taken again (emptied)
once its owner is known dead, i.e. a process of this host that no longer exists, or once
the claim key has expired (another host's run, or a reused pid). A database holding data
but no ``MARK_KEY`` is someone else's and left alone.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import redis

CLAIM_KEY = "perkstar-test-run"
MARK_KEY = "perkstar-test-db"
# Never taken: 0 (everyone's default), 7 (bench/load.py), 15 (tests/unit/test_rate_limit.py).
RESERVED = {0, 7, 15}
TIMEOUT_S = 3
CLAIM_TTL_S = 6 * 3600
REFRESH_INTERVAL_S = 600

# Compare-and-set / compare-and-expire: only the holder of the value read changes it.
_SWAP_IF = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) and 1 or 0
end
return 0
"""
_EXPIRE_IF = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
"""

_owners: dict[str, str] = {}  # claimed URL -> this process's claim value


def redacted(url: str) -> str:
    """``url`` with its password (if any) shown as ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def reachable(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError as error:
        print(f"Redis not reachable at {redacted(url)}: {error}")
        return False


def with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _owner_value() -> str:
    return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "nonce": secrets.token_hex(8)})


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def owner_dead(value: bytes | str) -> bool:
    """Whether a claim value names a process of this host that no longer exists. Claims
    from before owners were recorded (``pid N``, no TTL) were always made on this host."""
    text = value.decode() if isinstance(value, bytes) else value
    if text.startswith("pid "):
        host, pid = socket.gethostname(), text.removeprefix("pid ")
    else:
        try:
            owner = json.loads(text)
            host, pid = owner["host"], owner["pid"]
        except (ValueError, KeyError, TypeError):
            return False
    return host == socket.gethostname() and str(pid).isdigit() and not _pid_alive(int(pid))


def _take(client: redis.Redis, owner: str) -> bool:
    """Claim this database for ``owner`` if it is free, a dead run's, or empty."""
    if not client.set(CLAIM_KEY, owner, nx=True, ex=CLAIM_TTL_S):
        current = client.get(CLAIM_KEY)
        if current is None or not owner_dead(current):
            return False  # a live run's
        if not client.eval(_SWAP_IF, 1, CLAIM_KEY, current, owner, CLAIM_TTL_S):
            return False  # another run took it over first
        return _fresh(client, owner)
    if client.dbsize() == 1:
        client.set(MARK_KEY, "1")
        return True
    if client.exists(MARK_KEY):  # a killed run's leftovers, its claim expired
        return _fresh(client, owner)
    client.delete(CLAIM_KEY)  # someone else's data: leave it alone
    return False


def _fresh(client: redis.Redis, owner: str) -> bool:
    """Empty a dead run's database and claim it anew (another run may win it meanwhile)."""
    client.flushdb()
    if not client.set(CLAIM_KEY, owner, nx=True, ex=CLAIM_TTL_S):
        return False
    client.set(MARK_KEY, "1")
    return True


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
    owner = _owner_value()
    for db in candidates:
        client = redis.Redis.from_url(with_db(url, db), socket_timeout=TIMEOUT_S)
        try:
            if _take(client, owner):
                _owners[with_db(url, db)] = owner
                return with_db(url, db)
        finally:
            client.close()
    raise RuntimeError(f"no empty Redis database left on {redacted(url)} (of {count})")


def refresh(url: str) -> bool:
    """Renew the claim's TTL; False when it is no longer this process's."""
    owner = _owners.get(url)
    if owner is None:
        return False
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S)
    try:
        return bool(client.eval(_EXPIRE_IF, 1, CLAIM_KEY, owner, CLAIM_TTL_S))
    finally:
        client.close()


def keep_claimed(url: str) -> threading.Event:
    """Refresh the claim every ``REFRESH_INTERVAL_S`` in a daemon thread until the answered
    event is set."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(REFRESH_INTERVAL_S):
            try:
                refresh(url)
            except redis.RedisError as error:
                print(f"could not refresh the Redis claim on {redacted(url)}: {error}")

    threading.Thread(target=loop, name="redis-claim-refresh", daemon=True).start()
    return stop


def release(url: str) -> None:
    """Empty the run's database (the app is stopped by then), claim key included."""
    _owners.pop(url, None)
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S)
    try:
        client.flushdb()
    finally:
        client.close()
