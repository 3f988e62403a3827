"""Issue 15: two app instances sharing one PostgreSQL database and one Redis, each running
Reflex's several backend workers (granian), like two machines behind a load balancer.

Instance A is the session's app (``conftest.base_url``, on 127.0.0.1); instance B serves
the same build (``serve_built``) on 127.0.0.2 at the same port: a build carries its port.
Runs only in a PostgreSQL + Redis session (``make test``'s multi-worker run, or
``PERKSTAR_TEST_BACKEND=postgresql PERKSTAR_TEST_REDIS=redis://127.0.0.1:6379``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import socketio
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import PASSWORD, goto, log_in, start_app, stop_app, wait_ready
from tests.e2e.test_cards import act, ledger_kinds
from tests.helpers import add_customer, issue

pytestmark = pytest.mark.skipif(
    os.environ.get("PERKSTAR_TEST_BACKEND") != "postgresql" or not os.environ.get("REDIS_URL"),
    reason="two instances need a shared PostgreSQL database and Redis: run with PERKSTAR_TEST_BACKEND=postgresql "
    "and PERKSTAR_TEST_REDIS=redis://127.0.0.1:6379 (make test's multi-worker run does)",
)

HOST_B = "127.0.0.2"
EVENT_PATH = "/_event"
REPLY_TIMEOUT_S = 20
# Reflex's record of which worker holds a tab's socket (reflex/utils/token_manager.py).
SOCKET_RECORD_PREFIX = "token_manager_socket_record_"


@dataclasses.dataclass
class Instance:
    url: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = start_app(self.command, self.env, self.url, self.log)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            stop_app(self.process, sig)
            self.process = None


@pytest.fixture(scope="module")
def instance_b(base_url: str, app_port: int, app_env: dict[str, str], tmp_path_factory) -> Iterator[Instance]:  # noqa: ANN001
    url = f"http://{HOST_B}:{app_port}"
    env = dict(app_env, PERKSTAR_PUBLIC_URL=url, PERKSTAR_SECURE_COOKIES="false")  # plain http off localhost
    instance = Instance(url, [sys.executable, "-m", "tests.e2e.serve_built", HOST_B, str(app_port)], env,
                        tmp_path_factory.mktemp("app-b") / "reflex.log")
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def tab(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 800})
    return context, context.new_page()


def balance(page: Page):  # noqa: ANN201
    return page.get_by_test_id("card-panel").get_by_test_id("card-balance")


@pytest.fixture
def stamp_card(shop) -> tuple[int, int]:  # noqa: ANN001
    merchant_id = shop[0]
    customer = add_customer(merchant_id, "Twin", "Counter", phone="+14155550123")
    return customer, issue(merchant_id, customer, "stamp")


def test_two_instances_see_each_others_changes(browser: Browser, base_url: str, instance_b: Instance, shop,
                                               stamp_card):  # noqa: ANN001
    merchant_id, email = shop
    customer, card_id = stamp_card
    context_a, page_a = tab(browser, base_url)
    context_b, page_b = tab(browser, instance_b.url)
    try:
        for page in (page_a, page_b):
            log_in(page, email, PASSWORD)  # the same login on both
            goto(page, f"/customers/{customer}")
            expect(balance(page)).to_have_text("0")
        assert page_b.url.startswith(instance_b.url) and page_a.url.startswith(base_url)
        act(page_a, "add-stamps", "2")
        expect(balance(page_a)).to_have_text("2")
        goto(page_b, f"/customers/{customer}")
        expect(balance(page_b)).to_have_text("2")  # A's stamps, read on B
        act(page_b, "add-stamps", "1")
        expect(balance(page_b)).to_have_text("3")
        goto(page_a, f"/customers/{customer}")
        expect(balance(page_a)).to_have_text("3")  # and B's on A
        expect(page_a.get_by_test_id("transaction-row")).to_have_count(2)
        assert ledger_kinds(merchant_id, card_id) == ["stamps_added", "stamps_added"]
    finally:
        context_a.close()
        context_b.close()


# -- an action replayed on the other instance -----------------------------------------


def _event_frames(frames: list[str]) -> list[dict]:
    """The Reflex events among socket.io frames sent by a page (``42/_event,["event",…]``)."""
    events = []
    for frame in frames:
        match = re.match(r"^42(/_event,)?(\[.*)$", frame, re.S)
        if not match:
            continue
        name, *args = json.loads(match.group(2))
        if name == "event" and args:
            data = args[0]
            events.append(json.loads(data) if isinstance(data, str) else data)
    return events


@dataclasses.dataclass
class Replies:
    updates: list[str]  # each state update the app sent, as JSON text
    new_tokens: list[str]  # a ``new_token`` here: the app took the socket for a duplicate tab


async def _send(url: str, token: str, cookie: str, event: dict, until: str) -> Replies:
    """Connect a socket.io client to ``url`` as the tab (its token and login cookie), send
    ``event``, and collect what the app answers until an update contains ``until``."""
    client = socketio.AsyncClient(reconnection=False)
    replies = Replies([], [])
    answered = asyncio.Event()

    def on_update(data) -> None:  # noqa: ANN001
        text = data if isinstance(data, str) else json.dumps(data)
        replies.updates.append(text)
        if until in text:
            answered.set()

    client.on("event", on_update, namespace=EVENT_PATH)
    client.on("new_token", replies.new_tokens.append, namespace=EVENT_PATH)
    await client.connect(f"{url}?token={token}", headers={"Origin": url, "Cookie": cookie}, namespaces=[EVENT_PATH],
                         socketio_path=EVENT_PATH, transports=["websocket"], wait_timeout=15)
    try:
        await client.emit("event", event, namespace=EVENT_PATH)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(answered.wait(), REPLY_TIMEOUT_S)
    finally:
        await client.disconnect()
    return replies


def send(url: str, token: str, cookie: str, event: dict, until: str) -> Replies:
    """``_send`` on a loop of its own (Playwright's runs in this thread), never hanging the
    test: a pytest-timeout firing meanwhile is not stuck behind the pool's shutdown."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        return pool.submit(asyncio.run, _send(url, token, cookie, event, until)).result(timeout=REPLY_TIMEOUT_S + 30)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def tab_state_keys(client: redis.Redis, token: str) -> list[bytes]:
    """The Redis keys of the tab's states (``<token>_<state>``), not the lock of its events."""
    return [key for key in client.scan_iter(match=f"{token}_*", count=1000) if not key.endswith(b"_lock")]


def wait_until_left(client: redis.Redis, token: str) -> None:
    """The instance the tab left is done with it: the tab's socket record deleted (its
    disconnect ran) and the lock of its events released (the last event's state written)."""
    deadline = time.monotonic() + 10
    while client.exists(f"{SOCKET_RECORD_PREFIX}{token}", f"{token}_lock"):
        assert time.monotonic() < deadline, "the tab's socket record or event lock outlived its disconnect"
        time.sleep(0.1)


def test_an_action_replayed_on_the_other_instance_is_applied_once(browser: Browser, base_url: str,
                                                                  instance_b: Instance, shop, stamp_card):  # noqa: ANN001
    """The tablet's Apply (its dialog open, one idempotency key in the tab's state in
    Redis) reaches instance A, which commits the stamp and dies before it saves the tab's
    state; the tablet reconnects through the load balancer to instance B with the same
    token and sends Apply again, to the state as it was before: one stamp in the ledger."""
    merchant_id, email = shop
    customer, card_id = stamp_card
    context, page = tab(browser, base_url)
    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(str(payload))))
        log_in(page, email, PASSWORD)
        goto(page, f"/customers/{customer}")
        page.get_by_test_id("card-action-add-stamps").click()
        expect(page.get_by_role("dialog").get_by_label("Value", exact=True)).to_have_value("1")
        opened = [e for e in _event_frames(frames) if e.get("name", "").endswith(".open_action")]
        assert opened, _event_frames(frames)
        apply = dict(opened[-1], name=opened[-1]["name"].removesuffix(".open_action") + ".apply",
                     payload={"form_data": {"value": "1", "purchase": "", "comment": ""}})
        token = page.evaluate("() => window.sessionStorage.getItem('token')")
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies(base_url))
        page.close()  # the tab's socket goes: its state (dialog open, key) stays in Redis
        wait_until_left(store, token)
        keys = tab_state_keys(store, token)
        assert keys, f"no state of tab {token} in Redis"
        before_apply = {key: (store.dump(key), max(store.pttl(key), 0)) for key in keys}

        first = send(base_url, token, cookie, apply, until=": done.")
        assert not first.new_tokens, first.new_tokens  # the tab's own state, not a fresh one
        assert any(": done." in update for update in first.updates), first.updates
        assert ledger_kinds(merchant_id, card_id) == ["stamps_added"]
        wait_until_left(store, token)
        # A died after its commit, before writing the tab's state: Redis holds the state
        # from before Apply, the dialog open with the same key.
        for key, (dumped, ttl_ms) in before_apply.items():
            store.restore(key, ttl_ms, dumped, replace=True)

        replay = send(instance_b.url, token, cookie, apply, until="Already applied.")
        assert not replay.new_tokens, replay.new_tokens  # B served the tab's state (dialog open, key)
        assert any("Already applied." in update for update in replay.updates), "\n".join(replay.updates)  # the engine saw the key
        assert ledger_kinds(merchant_id, card_id) == ["stamps_added"]  # once, not twice
        again = context.new_page()
        goto(again, f"/customers/{customer}")
        expect(balance(again)).to_have_text("1")
    finally:
        store.close()
        context.close()


# -- an instance killed mid-session ---------------------------------------------------


@pytest.mark.parametrize("stop_signal", [
    signal.SIGTERM,  # a restart (deploy, systemctl restart): the lifespan releases every tab's record
    # a crash (the OOM killer, a power loss): the dead workers' records stay in Redis, and
    # state/tab_records.py lets the returning tab take them over once their heartbeat is gone
    signal.SIGKILL,
], ids=["restart", "crash"])
def test_an_instance_going_down_mid_session_loses_no_state(browser: Browser, instance_b: Instance, shop,
                                                           stop_signal: int):  # noqa: ANN001
    merchant_id, email = shop
    for index in range(3):
        add_customer(merchant_id, f"Kept{index}", "Filter", phone=f"+1415555017{index}")
    add_customer(merchant_id, "Other", "Person", phone="+14155550180")
    context, page = tab(browser, instance_b.url)
    try:
        log_in(page, email, PASSWORD)
        page.get_by_label("Search customers").fill("Kept")
        rows = page.get_by_test_id("customer-row")
        expect(rows).to_have_count(3)
        instance_b.stop(stop_signal)
        banner = page.get_by_test_id("connection-lost")
        expect(banner).to_be_visible(timeout=30_000)
        instance_b.start()
        expect(banner).to_have_count(0, timeout=60_000)  # reconnected by itself
        wait_ready(page)
        # The tab carries on with its state: the search and its rows, and it still works.
        expect(page.get_by_label("Search customers")).to_have_value("Kept")
        expect(rows).to_have_count(3)
        expect(page.get_by_test_id("grid-page-info")).to_have_text("1–3 of 3")
        page.get_by_label("Search customers").fill("Other")
        expect(rows).to_have_count(1)
    finally:
        context.close()
