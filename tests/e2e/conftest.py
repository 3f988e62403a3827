"""End-to-end fixtures: the real prod build, once per test session, in Chromium.

The app is started with the contract's own command on a free port against the
session's throw-away database (see ``tests/conftest.py``), in its own process group,
and killed at the end. Tests drive it through test ids and labels only.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.messaging_servers import SmsApi, SmtpInbox
from tests.stripe_server import StripeApi

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PERKSTAR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_CUSTOMERS = 120
START_TIMEOUT = 420
# The test that starts the app: seeding, START_TIMEOUT for the build and start, then the
# test itself within pytest.ini's --timeout.
APP_START_TIMEOUT = START_TIMEOUT + 60 + 300
# Granian forks its workers once the server is up; all of them exist within this.
WORKERS_TIMEOUT = 15
# The app's installation-wide Stripe webhook secret: tests sign events with it.
STRIPE_WEBHOOK_SECRET = "whsec_perkstarE2Etestsecret0123"

expect.set_options(timeout=15_000)
_app_started = threading.Event()  # the session's app is up: later tests skip its start


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item):  # noqa: ANN201
    """The first test that needs the app also seeds, builds and starts it (up to
    ``START_TIMEOUT``): that test gets ``APP_START_TIMEOUT`` from pytest-timeout (whose own
    wrapper runs after this one and reads the marker), the others the usual --timeout."""
    if "base_url" in item.fixturenames and not _app_started.is_set():
        item.add_marker(pytest.mark.timeout(APP_START_TIMEOUT), append=False)
    yield


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/login/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(2)
    raise RuntimeError(f"app did not start in {START_TIMEOUT}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def demo_merchant() -> int:
    from perkstar_ui.services import seed

    return seed.seed_demo(DEMO_CUSTOMERS).merchant_id


@pytest.fixture(scope="session")
def smtp_inbox() -> Iterator[SmtpInbox]:
    """The app's SMTP server: ``smtp_inbox.received()`` / ``.to(address)`` / ``.wait_for(...)``
    give the emails the app's embedded worker delivered (parsed ``EmailMessage``s)."""
    server = SmtpInbox().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sms_outbox() -> Iterator[SmsApi]:
    """The app's SMS provider (Twilio-style API): ``sms_outbox.sent(to)`` lists the SMS sent."""
    server = SmsApi().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stripe_api() -> Iterator[StripeApi]:
    """The app's Stripe API (``STRIPE_API_BASE``): ``stripe_api.requests(method, path)`` lists what it was asked."""
    server = StripeApi().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_port() -> int:
    return _free_port()


@pytest.fixture(scope="session")
def app_env(app_port, smtp_inbox, sms_outbox, stripe_api) -> dict[str, str]:  # noqa: ANN001
    """The app's environment: the session's database (and ``REDIS_URL`` in the multi-worker
    run, see ``tests/conftest.py``) from ``os.environ``, the local servers below."""
    url = f"http://127.0.0.1:{app_port}"
    return dict(
        os.environ,
        PERKSTAR_PORT=str(app_port),
        PERKSTAR_PUBLIC_URL=f"{url},http://localhost:{app_port}",
        # Messages go to the local servers above; the embedded worker looks every 0.3 s.
        SMTP_HOST=smtp_inbox.host, SMTP_PORT=str(smtp_inbox.port), SMTP_TLS="none", SMTP_FROM="shop@perkstar.test",
        SMS_API_BASE=sms_outbox.base_url, SMS_ACCOUNT_SID=sms_outbox.account_sid,
        SMS_AUTH_TOKEN=sms_outbox.auth_token, SMS_FROM="+447700900000",
        PERKSTAR_EMBEDDED_WORKER="true", PERKSTAR_WORKER_POLL_SECONDS="0.3",
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET, PERKSTAR_SECRET_KEY="perkstar-e2e-encryption-key",
        STRIPE_API_BASE=stripe_api.base_url,  # never api.stripe.com
        PATH=f"{ROOT / 'tools' / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
    )


def start_app(command: list[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen:
    """Start an app process (in its own process group) and wait until it serves pages."""
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait_until_up(url, process, log)
    except BaseException:
        stop_app(process)
        raise
    return process


def stop_app(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop the app's leader with ``sig`` (SIGKILL after 20 s), then whatever of its process
    group is left (granian workers, a build's node): nothing outlives the test session."""
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _group_processes(pgid: int) -> dict[int, tuple[int, bytes]]:
    """The processes of a process group: pid -> (parent pid, command line), from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
        if int(fields[2]) == pgid:
            found[int(entry.name)] = (int(fields[1]), cmdline)
    return found


def granian_workers(pgid: int) -> int:
    """How many granian worker processes the app's process group runs: granian forks its
    workers from its server process, so they are the children carrying their parent's
    command line (the most any one process of the group has)."""
    processes = _group_processes(pgid)
    forked: dict[int, int] = {}
    for ppid, cmdline in processes.values():
        if ppid in processes and processes[ppid][1] == cmdline:
            forked[ppid] = forked.get(ppid, 0) + 1
    return max(forked.values(), default=0)


def _check_several_workers(process: subprocess.Popen, log: Path) -> None:
    """In the multi-worker run (``REDIS_URL`` set) the app must really run several granian
    workers; fail the session clearly when it runs one."""
    deadline = time.monotonic() + WORKERS_TIMEOUT
    while (workers := granian_workers(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    if workers < 2:
        pytest.fail(f"multi-worker run (REDIS_URL set) but the app runs {workers} granian worker(s) in its process "
                    f"group {process.pid}; Reflex runs one without Redis or with GRANIAN_WORKERS=1:\n"
                    f"{log.read_text()[-4000:]}", pytrace=False)


@pytest.fixture(scope="session")
def base_url(demo_merchant, app_port, app_env, tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    # Bound to 127.0.0.1 (not every address): tests/e2e/test_instances.py serves a second
    # instance of the same build on another loopback address, the same port.
    url = f"http://127.0.0.1:{app_port}"
    log = tmp_path_factory.mktemp("app") / "reflex.log"
    reflex = Path(sys.executable).with_name("reflex")
    process = start_app(
        [str(reflex), "run", "--env", "prod", "--single-port", "--backend-port", str(app_port),
         "--backend-host", "127.0.0.1"],
        app_env, url, log,
    )
    _app_started.set()
    try:
        if app_env.get("REDIS_URL"):
            _check_several_workers(process, log)
        yield url
    finally:
        stop_app(process)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


PASSWORD = "shop-password"


@pytest.fixture
def shop(unique: str) -> tuple[int, str]:
    """A fresh merchant of its own, so tests never see each other's customers: (id, email)."""
    from perkstar_ui.services import accounts

    email = f"shop-{unique}@shop.test"
    return accounts.create_merchant(f"Shop {unique}", email, PASSWORD), email


@pytest.fixture
def shop_page(page: Page, shop) -> Page:  # noqa: ANN001
    """The shop's owner, logged in, on /customers."""
    log_in(page, shop[1], PASSWORD)
    return page


def wait_ready(page: Page) -> None:
    """The contract's hydration marker: events sent before it are lost."""
    page.locator('[data-testid="app-ready"][data-hydrated="true"]').wait_for(state="attached", timeout=30_000)


def goto(page: Page, path: str) -> None:
    page.goto(path)
    wait_ready(page)


def path_is(path: str) -> re.Pattern:
    return re.compile(rf"^https?://[^/]+{re.escape(path)}/?(\?.*)?$")


def log_in(page: Page, email: str, password: str) -> None:
    goto(page, "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(path_is("/customers"))
    wait_ready(page)


def touch_height(locator) -> int:  # noqa: ANN001
    """The element's height in whole CSS pixels once every running animation (a dialog
    scaling in) has finished; sub-pixel layout (43.99) counts as the pixel it renders."""
    # allSettled: an animation cancelled meanwhile (a tab switched, a dialog closed) rejects its
    # `finished` with AbortError, and it has ended just the same.
    locator.evaluate("el => Promise.allSettled(el.ownerDocument.getAnimations().map(a => a.finished))")
    return round(locator.bounding_box()["height"])
