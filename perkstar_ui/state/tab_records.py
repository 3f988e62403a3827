"""Which process holds each tab, surviving a crashed process (issue 15).

With Redis, Reflex 0.10.1's ``RedisTokenManager`` records which process (``instance_id``,
one per backend worker) holds each tab's socket: ``token_manager_socket_record_<token>``,
kept ``redis_token_expiration`` (1 h). A tab connecting with a token that has a record is
taken for a duplicate browser tab and handed a NEW token (a fresh state). A worker that
stops normally deletes its records in the lifespan's ``disconnect_all``; a worker killed
(SIGKILL, the OOM killer, a power loss) never does, so its tabs reconnecting to a restarted
worker lost their state (search, filter).

``TabRecords`` adds a liveness key per worker, ``perkstar_instance_alive_<instance_id>``,
set with a short expiry (``ALIVE_TTL_MS``) and refreshed every ``BEAT_INTERVAL_S`` by a
background task started on the first link; a graceful ``close`` deletes it. When a tab
links and its token's record belongs to ANOTHER worker that no longer beats, that
record is an orphan: it is deleted (only if unchanged since read) and the tab keeps its
token and state. A live owner keeps Reflex's duplicate-tab behaviour. "Live" means beating:
a worker killed a moment ago still has its key, so an owner whose key exists must refresh
it within two beat intervals (a duplicate tab or a fast crash-restart waits that long, at
most 3 s, on connecting; an ordinary connect never does).

The heartbeat always writes the CURRENT ``instance_id``: Reflex assigns a fresh one in
each forked worker (``App._setup_event_processor`` → ``_reset_instance_id``), and the
lost-and-found channel (updates for tabs held by another worker) is keyed by it. Deleting
an orphan fires the same keyspace ``del`` notification as a disconnect, so other workers
drop their cached copy of the dead owner's record and look the new owner up again.

``install()`` swaps Reflex's factory (``TokenManager.create``, called by
``EventNamespace.__init__`` when ``rx.App`` is built) so it answers a ``TabRecords``
wherever it would have answered a ``RedisTokenManager``; it must run before ``rx.App()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import time
from typing import Any

from redis.exceptions import RedisError
from reflex.utils.tasks import ensure_task
from reflex.utils.token_manager import RedisTokenManager, TokenManager

logger = logging.getLogger(__name__)

ALIVE_PREFIX = "perkstar_instance_alive_"
# A dead worker's tabs can be taken over this long after its last beat; a live worker
# beats several times within it (a slow beat or two never makes it look dead).
ALIVE_TTL_MS = 5_000
BEAT_INTERVAL_S = 1.5

# Delete the record only if it is still the one read: a worker that linked the token in
# between (another tab, another instance taking over too) keeps its record.
_DELETE_IF_UNCHANGED = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def alive_key(instance_id: str) -> str:
    return f"{ALIVE_PREFIX}{instance_id}"


class TabRecords(RedisTokenManager):
    """``RedisTokenManager`` whose tabs outlive a crashed worker (see the module doc)."""

    def __init__(self, redis: Any, *, alive_ttl_ms: int = ALIVE_TTL_MS,
                 beat_interval_s: float = BEAT_INTERVAL_S) -> None:
        super().__init__(redis)
        self.alive_ttl_ms = alive_ttl_ms
        self.beat_interval_s = beat_interval_s
        self._heartbeat_task: asyncio.Task | None = None

    # -- liveness ---------------------------------------------------------------------

    async def _beat(self) -> None:
        await self.redis.set(alive_key(self.instance_id), b"1", px=self.alive_ttl_ms)

    async def _heartbeat(self) -> None:
        while True:
            await self._beat()
            await asyncio.sleep(self.beat_interval_s)

    async def _ensure_heartbeat(self) -> None:
        """Mark this worker alive before it records a tab, then keep it marked."""
        task = self._heartbeat_task
        if task is not None and not task.done():
            return
        try:
            await self._beat()
        except RedisError as error:
            logger.error("Redis error marking instance alive: %s", error)
        ensure_task(owner=self, task_attribute="_heartbeat_task", coro_function=self._heartbeat,
                    suppress_exceptions=[Exception])

    async def _stop_heartbeat(self) -> None:
        task, self._heartbeat_task = self._heartbeat_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def is_instance_alive(self, instance_id: str) -> bool:
        """Whether the worker still beats: its key exists AND is refreshed within two beat
        intervals (its expiry, read with Redis's own clock, goes back up). A worker killed
        a moment ago still has its key, so a tab coming back at once to a quickly restarted
        process waits at most that long, then takes its record over."""
        key = alive_key(instance_id)
        previous = await self.redis.pttl(key)
        if previous == -2:
            return False  # expired: no beat for ALIVE_TTL_MS
        deadline = time.monotonic() + 2 * self.beat_interval_s
        while time.monotonic() < deadline:
            await asyncio.sleep(self.beat_interval_s / 8)
            remaining = await self.redis.pttl(key)
            if remaining == -2:
                return False
            if remaining > previous or remaining == -1:
                return True  # beaten again (-1: set without expiry, by someone else)
            previous = remaining
        return False

    # -- orphaned records -------------------------------------------------------------

    async def _take_over_orphan(self, token: str) -> bool:
        """Delete the token's record when another worker holds it and that worker is dead."""
        key = self._get_redis_key(token)
        try:
            raw = await self.redis.get(key)
            if not raw:
                return False
            owner = pickle.loads(raw).instance_id
            if owner == self.instance_id or await self.is_instance_alive(owner):
                return False  # ours, or a live worker's: Reflex decides (a duplicate tab)
            taken = bool(await self.redis.eval(_DELETE_IF_UNCHANGED, 1, key, raw))
        except (RedisError, pickle.UnpicklingError, AttributeError) as error:
            logger.error("Redis error checking the tab's previous owner: %s", error)
            return False
        if taken:
            cached = self.token_to_socket.get(token)
            if cached is not None and cached.instance_id != self.instance_id:
                self.token_to_socket.pop(token, None)  # the dead owner's record, cached
                if self.sid_to_token.get(cached.sid) == token:
                    self.sid_to_token.pop(cached.sid, None)
            logger.info("Tab %s taken over from stopped instance %s", token, owner)
        return taken

    async def link_token_to_sid(self, token: str, sid: str) -> str | None:
        local = self.token_to_socket.get(token)
        if local is not None and local.sid == sid:
            return None  # a reconnection of this socket (Reflex's fast path)
        await self._ensure_heartbeat()
        await self._take_over_orphan(token)
        return await super().link_token_to_sid(token, sid)

    async def close(self) -> None:
        """Graceful stop: no more beats, and the liveness key goes at once."""
        await self._stop_heartbeat()
        try:
            await self.redis.delete(alive_key(self.instance_id))
        except RedisError as error:
            logger.error("Redis error removing the instance's liveness key: %s", error)
        await super().close()


_reflex_create = TokenManager.create


def _create(cls: type[TokenManager]) -> TokenManager:
    manager = _reflex_create()
    if type(manager) is RedisTokenManager:  # Redis in use: the same client, our records
        return TabRecords(manager.redis)
    return manager


def install() -> None:
    """Make Reflex's ``TokenManager.create`` answer ``TabRecords`` (idempotent)."""
    if getattr(TokenManager.create, "__func__", None) is not _create:
        TokenManager.create = classmethod(_create)  # type: ignore[method-assign,assignment]
