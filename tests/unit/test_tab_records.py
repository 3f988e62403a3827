"""state/tab_records.py against a real Redis: a tab whose worker was killed keeps its token
when it reconnects to another worker; a live worker's tab is still a duplicate.

Each ``TabRecords`` stands for one backend worker (its own client, its own instance_id).
A worker "killed" has its heartbeat cancelled and nothing deleted: what SIGKILL leaves.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest
from redis.asyncio import Redis
from reflex.state import StateUpdate
from reflex.utils.token_manager import LocalTokenManager, RedisTokenManager, TokenManager
from reflex_base.config import get_config

from perkstar_ui.state import tab_records
from perkstar_ui.state.tab_records import TabRecords, alive_key
from tests import redis_db

SERVER = os.environ.get("PERKSTAR_TEST_REDIS") or os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
TTL_MS = 1000
BEAT_S = 0.1


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if not redis_db.reachable(SERVER):
        pytest.skip(f"no Redis at {SERVER}")
    url = redis_db.claim(SERVER)
    try:
        yield url
    finally:
        redis_db.release(url)


def run(redis_url: str, scenario: Callable[[Callable[[], TabRecords], Redis], Awaitable[None]]) -> None:
    """Run ``scenario(worker, probe)`` in one event loop: ``worker()`` makes one more
    worker's token manager, ``probe`` reads Redis directly; every client closed after."""

    async def main() -> None:
        workers: list[RedisTokenManager] = []

        def worker() -> TabRecords:
            manager = TabRecords(Redis.from_url(redis_url), alive_ttl_ms=TTL_MS, beat_interval_s=BEAT_S)
            workers.append(manager)
            return manager

        probe = Redis.from_url(redis_url)
        try:
            await scenario(worker, probe)
        finally:
            for manager in workers:
                await kill(manager)
            await probe.aclose()

    asyncio.run(main())


async def kill(manager: TabRecords) -> None:
    """Stop the worker as SIGKILL would: no more beats, no record or key deleted."""
    await manager._stop_heartbeat()
    await RedisTokenManager.close(manager)  # only cancels tasks and closes the client


async def owner(probe: Redis, token: str) -> str | None:
    raw = await probe.get(f"token_manager_socket_record_{token}")
    return pickle.loads(raw).instance_id if raw else None


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_a_tab_of_a_killed_worker_keeps_its_token_on_another_worker(redis_url: str):
    async def scenario(worker, probe: Redis) -> None:  # noqa: ANN001
        a, b = worker(), worker()
        token = str(uuid.uuid4())
        assert await a.link_token_to_sid(token, "sid-a") is None
        assert await owner(probe, token) == a.instance_id
        assert await probe.exists(alive_key(a.instance_id))
        await kill(a)
        assert await owner(probe, token) == a.instance_id  # the record outlives its worker
        assert await probe.exists(alive_key(a.instance_id))  # and so does A's key, for a while
        started = time.monotonic()
        # At once, as to a quickly restarted process: A's key exists but is beaten no more.
        assert await b.link_token_to_sid(token, "sid-b") is None  # same token: the tab carries on
        assert time.monotonic() - started < 2 * BEAT_S + 0.5
        assert await owner(probe, token) == b.instance_id
        assert b.sid_to_token["sid-b"] == token and b.token_to_socket[token].sid == "sid-b"

    run(redis_url, scenario)


def test_without_tab_records_the_killed_workers_tab_gets_a_new_token(redis_url: str):
    """What Reflex alone does (the reason for TabRecords): the orphan record makes the
    returning tab a duplicate."""

    async def scenario(worker, probe: Redis) -> None:  # noqa: ANN001
        a = worker()
        token = str(uuid.uuid4())
        await a.link_token_to_sid(token, "sid-a")
        await kill(a)
        await until(lambda: _gone(probe, a.instance_id))
        plain = RedisTokenManager(Redis.from_url(redis_url))
        try:
            new_token = await plain.link_token_to_sid(token, "sid-b")
        finally:
            await plain.close()
        assert new_token is not None and new_token != token
        assert await owner(probe, token) == a.instance_id

    run(redis_url, scenario)


async def _gone(probe: Redis, instance_id: str) -> bool:
    return not await probe.exists(alive_key(instance_id))


def test_a_live_workers_tab_opened_again_is_a_duplicate(redis_url: str):
    async def scenario(worker, probe: Redis) -> None:  # noqa: ANN001
        a, b = worker(), worker()
        token = str(uuid.uuid4())
        assert await a.link_token_to_sid(token, "sid-a") is None
        await asyncio.sleep(TTL_MS / 1000 * 2)  # alive by its beats, not by its first mark
        new_token = await b.link_token_to_sid(token, "sid-b")
        assert new_token is not None and new_token != token  # Reflex's duplicate-tab behaviour
        assert await owner(probe, token) == a.instance_id  # A keeps its tab
        assert await owner(probe, new_token) == b.instance_id
        # The same socket reconnecting to its own worker is no duplicate.
        assert await a.link_token_to_sid(token, "sid-a") is None

    run(redis_url, scenario)


def test_updates_from_a_third_worker_reach_the_new_owner_after_a_takeover(redis_url: str):
    """Lost and found: C had cached the dead A as the tab's owner; once B takes the tab
    over, C's update for it is delivered to B."""

    async def scenario(worker, probe: Redis) -> None:  # noqa: ANN001
        a, b, c = worker(), worker(), worker()
        token = str(uuid.uuid4())
        await a.link_token_to_sid(token, "sid-a")
        c._ensure_socket_record_task()  # C watches the records of tokens it knows
        assert await c._get_token_owner(token) == a.instance_id  # cached by C
        await asyncio.sleep(0.3)  # C's subscription is listening
        received: list[tuple[StateUpdate, str]] = []

        async def emit_update(update: StateUpdate, to: str) -> None:
            received.append((update, to))

        b.ensure_lost_and_found_task(emit_update)
        await kill(a)
        await until(lambda: _gone(probe, a.instance_id))
        assert await b.link_token_to_sid(token, "sid-b") is None
        await until(lambda: _owner_is(c, token, b.instance_id))
        await asyncio.sleep(0.2)  # B's lost-and-found subscription is listening
        assert await c.emit_lost_and_found(token, StateUpdate(delta={"state": {"x": 1}}))
        await until(lambda: _received(received))
        assert received[0][1] == token and received[0][0].delta == {"state": {"x": 1}}

    run(redis_url, scenario)


async def _owner_is(manager: TabRecords, token: str, instance_id: str) -> bool:
    return await manager._get_token_owner(token) == instance_id


async def _received(received: list) -> bool:
    return bool(received)


def test_the_heartbeat_follows_the_current_instance_id(redis_url: str):
    """Reflex gives each forked worker a fresh instance_id (_reset_instance_id): the beats
    (and so the takeover rule) follow it."""

    async def scenario(worker, probe: Redis) -> None:  # noqa: ANN001
        a = worker()
        await a.link_token_to_sid(str(uuid.uuid4()), "sid-a")
        before = a.instance_id
        a._reset_instance_id()
        assert a.instance_id != before
        await until(lambda: _alive(probe, a.instance_id))
        await until(lambda: _gone(probe, before))
        await asyncio.sleep(TTL_MS / 1000 * 2)
        assert await probe.exists(alive_key(a.instance_id))

    run(redis_url, scenario)


async def _alive(probe: Redis, instance_id: str) -> bool:
    return bool(await probe.exists(alive_key(instance_id)))


def test_a_graceful_stop_removes_the_records_and_the_liveness_key(redis_url: str):
    async def scenario(worker, probe: Redis) -> None:  # noqa: ANN001
        a = worker()
        token = str(uuid.uuid4())
        await a.link_token_to_sid(token, "sid-a")
        instance_id = a.instance_id
        assert await probe.exists(alive_key(instance_id))
        await a.disconnect_all()  # the lifespan's cleanup, then close
        await a.close()
        assert not await probe.exists(alive_key(instance_id))
        assert await owner(probe, token) is None

    run(redis_url, scenario)


def test_install_makes_reflex_create_tab_records_when_redis_is_used(redis_url: str, monkeypatch):
    monkeypatch.setattr(TokenManager, "create", TokenManager.__dict__["create"])  # restored after
    tab_records.install()
    tab_records.install()  # idempotent
    config = get_config()
    monkeypatch.setattr(config, "redis_url", None)
    assert type(TokenManager.create()) is LocalTokenManager  # one worker, no Redis: Reflex's own
    monkeypatch.setattr(config, "redis_url", redis_url)

    async def main() -> None:
        manager = TokenManager.create()
        try:
            assert type(manager) is TabRecords
        finally:
            await manager.close()

    asyncio.run(main())
