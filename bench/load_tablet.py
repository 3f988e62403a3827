"""One simulated counter tablet speaking the app's real websocket protocol (Reflex 0.10.1).

What a browser tab does, without the browser:

- ``GET /login/`` gives the pre-login ``perkstar_browser`` cookie.
- socket.io at ``/_event`` (websocket transport, ``?token=<tab token>``), with the
  cookies and the page's ``Origin`` in the handshake; the ``hydrate_and_load`` event rides
  in the CONNECT packet's ``auth`` (``{"event": …}``), as the frontend's ``bootAuth``.
- Every later event is an ``"event"`` message ``{"name": "<state path>.<handler>",
  "payload": {...}, "router_data": {"pathname", "asPath", "query"}}``. The server answers
  with ``"event"`` messages ``{"delta": {state path: {var: value}}, "events": [...]}``;
  chained backend events run on the server, frontend ones (``_call_script``, toasts)
  come back in ``events``. There is no "done" message: each step waits for the delta or
  frontend event that ends it on screen.
- Log in: ``LoginState.log_in`` answers with a ``_call_script`` holding the one-time
  ticket; ``GET /api/session?ticket=…`` (with the browser cookie) sets the session cookie;
  the tab then reconnects (a full page load) with it, on ``/customers``.
- A client-side navigation (a link) is ``on_load_internal`` with the new route's
  ``router_data`` (``query`` carries the dynamic route's params).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import reflex as rx
import socketio
from reflex_base.constants.compiler import CompileVars

from perkstar_ui.api.guard import SESSION_COOKIE
from perkstar_ui.api.login_cookies import BROWSER_COOKIE
from perkstar_ui.state import card_panels
from perkstar_ui.state.customer_grid import GridState
from perkstar_ui.state.login import LoginState
from perkstar_ui.state.profile import ProfileState

ROOT = rx.State.get_full_name()
HYDRATE = f"{ROOT}.{CompileVars.HYDRATE_AND_LOAD}"  # the connect's boot event
NAVIGATED = f"{ROOT}.{CompileVars.ON_LOAD_INTERNAL}"  # sent after a client-side navigation
GRID = GridState.get_full_name()
PROFILE = ProfileState.get_full_name()
LOGIN = LoginState.get_full_name()
# The profile's card panel: one state for every type (or, in older trees, one per type).
_PANEL_CLASS = getattr(card_panels, "CardPanelState", None) or card_panels.PANEL_STATES["stamp"]
PANEL = _PANEL_CLASS.get_full_name()
NAMESPACE = "/_event"  # the socket.io path and namespace (the frontend connects to <backend>/_event)
TICKET = re.compile(r"ticket=' \+ \"([^\"]+)\"|ticket=([A-Za-z0-9_\-]+)")
STEP_TIMEOUT = 30.0
SUFFIX = "_rx_state_"  # a var's name in a delta: ``form_error`` travels as ``form_error_rx_state_``


def var(name: str) -> str:
    return name + SUFFIX


class StepFailed(Exception):
    """A step ended in an error on screen (a refusal, a redirect to /login) or timed out."""


@dataclass
class Target:
    customer_id: int
    phone: str
    card_id: int


@dataclass
class Recorder:
    """Latencies (seconds) and errors per step name, shared by the tablets of one run."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    stamps_sent: int = 0
    stamps_confirmed: int = 0
    events_sent: int = 0

    def ok(self, step: str, seconds: float) -> None:
        self.samples.setdefault(step, []).append(seconds)

    def fail(self, step: str, why: str) -> None:
        self.errors.setdefault(step, []).append(why)


def _cookie_values(response: aiohttp.ClientResponse) -> dict[str, str]:
    jar = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


class Tablet:
    """One counter tablet: one browser tab's token, cookies and socket."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession, recorder: Recorder, tag: str) -> None:
        self.base = base_url.rstrip("/")
        self.http = http
        self.recorder = recorder
        self.tag = tag
        self.token = str(uuid.uuid4())
        self.cookies: dict[str, str] = {}
        self.sio: socketio.AsyncClient | None = None
        self.path = "/login"
        self.query: dict[str, str] = {}
        self._waiter: tuple[Callable[[dict], Any], asyncio.Future] | None = None
        self.grid_rows: list[dict] = []

    # --- transport ------------------------------------------------------------------

    def _router_data(self) -> dict:
        data: dict[str, Any] = {"pathname": self.path, "asPath": self.path}
        if self.query:
            data["query"] = dict(self.query)
        return data

    def _on_update(self, update: dict) -> None:
        grid = (update.get("delta") or {}).get(GRID)
        if grid and var("rows") in grid:
            self.grid_rows = grid[var("rows")]
        if self._waiter is None:
            return
        check, future = self._waiter
        if future.done():
            return
        try:
            outcome = check(update)
        except StepFailed as failure:
            future.set_exception(failure)
            return
        if outcome is not None:
            future.set_result(outcome)

    async def _connect(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        # Not ``connect(headers={"Cookie": …})``: engine.io moves that header into the HTTP
        # session's cookie jar, which all tablets share. Extra websocket headers go as they are.
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http,
                                        websocket_extra_options={"headers": {"Cookie": cookie}})
        self.sio.on("event", self._on_update, namespace=NAMESPACE)
        boot = {"name": HYDRATE, "payload": {}, "router_data": self._router_data()}
        await self.sio.connect(
            f"{self.base}?token={self.token}", socketio_path=NAMESPACE, namespaces=[NAMESPACE], transports=["websocket"],
            headers={"Origin": self.base}, auth={"event": boot}, wait_timeout=STEP_TIMEOUT,
        )

    async def _send(self, step: str, name: str, payload: dict, check: Callable[[dict], Any]) -> Any:
        """Emit one event and wait until ``check(update)`` returns something (the step's end)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._waiter = (check, future)
        started = time.perf_counter()
        try:
            await self.sio.emit("event", {"name": name, "payload": payload, "router_data": self._router_data()},
                                namespace=NAMESPACE)
            self.recorder.events_sent += 1
            result = await asyncio.wait_for(future, STEP_TIMEOUT)
        except asyncio.TimeoutError:
            raise StepFailed(f"{step}: no answer in {STEP_TIMEOUT:.0f} s") from None
        finally:
            self._waiter = None
        self.recorder.ok(step, time.perf_counter() - started)
        return result

    # --- what the screen shows ------------------------------------------------------

    @staticmethod
    def _frontend_events(update: dict) -> list[dict]:
        return [e for e in update.get("events") or [] if str(e.get("name", "")).startswith("_")]

    @classmethod
    def _refused(cls, update: dict) -> None:
        """Raise when the update sends the tab to /login or shows an error toast."""
        for event in cls._frontend_events(update):
            text = json.dumps(event.get("payload", {}))
            if event["name"] == "_redirect" and "/login" in text:
                raise StepFailed("sent to /login (session not accepted)")
            if "toast" in text and ("error" in text or "don't have access" in text):
                raise StepFailed(f"error toast: {text[:200]}")

    def _grid_loaded(self) -> Callable[[dict], bool | None]:
        """The grid's spinner went on, then off: its page arrived (a hydrate's snapshot,
        which also says ``loading: false``, does not count)."""
        seen_spinner = False

        def check(update: dict) -> bool | None:
            nonlocal seen_spinner
            self._refused(update)
            grid = (update.get("delta") or {}).get(GRID) or {}
            if grid.get(var("grid_error")):
                raise StepFailed(f"grid error: {grid[var('grid_error')]}")
            if grid.get(var("loading")) is True:
                seen_spinner = True
            return True if seen_spinner and grid.get(var("loading")) is False else None

        return check

    # --- the steps ------------------------------------------------------------------

    async def log_in(self, email: str, password: str) -> None:
        started = time.perf_counter()
        async with self.http.get(f"{self.base}/login/") as response:
            response.raise_for_status()
            await response.read()
            self.cookies.update(_cookie_values(response))
        if BROWSER_COOKIE not in self.cookies:
            raise StepFailed("no perkstar_browser cookie with the login page")
        self.path, self.query = "/login", {}
        await self._connect()

        def ticket(update: dict) -> str | None:
            login = (update.get("delta") or {}).get(LOGIN) or {}
            if login.get(var("form_error")):
                raise StepFailed(f"login refused: {login[var('form_error')]}")
            for event in self._frontend_events(update):
                match = TICKET.search(json.dumps(event.get("payload", {})).replace('\\"', '"'))
                if match:
                    return match.group(1) or match.group(2)
            return None

        value = await self._send("log in (ticket)", f"{LOGIN}.log_in",
                                 {"form_data": {"email": email, "password": password}}, ticket)
        async with self.http.get(f"{self.base}/api/session", params={"ticket": value}, allow_redirects=False,
                                 headers={"Cookie": f"{BROWSER_COOKIE}={self.cookies[BROWSER_COOKIE]}"}) as response:
            await response.read()
            self.cookies.update(_cookie_values(response))
        if SESSION_COOKIE not in self.cookies:
            raise StepFailed(f"/api/session set no session cookie (HTTP {response.status})")
        # The browser follows the redirect: a full page load of /customers, a new socket.
        self.path, self.query = "/customers", {}
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._waiter = (self._grid_loaded(), future)
        try:
            await self._connect()
            await asyncio.wait_for(future, STEP_TIMEOUT)
        except asyncio.TimeoutError:
            raise StepFailed(f"customers page after login: no grid in {STEP_TIMEOUT:.0f} s") from None
        finally:
            self._waiter = None
        self.recorder.ok("log in (to grid)", time.perf_counter() - started)

    async def search(self, target: Target) -> None:
        await self._send("search phone", f"{GRID}.set_search", {"value": target.phone}, self._grid_loaded())
        if not any(row.get("id") == target.customer_id for row in self.grid_rows):
            raise StepFailed(f"search for {target.phone} did not show customer {target.customer_id}")

    async def open_profile(self, target: Target) -> None:
        self.path, self.query = f"/customers/{target.customer_id}", {"customer_id": str(target.customer_id)}

        def panel_shown(update: dict) -> bool | None:
            self._refused(update)
            delta = update.get("delta") or {}
            profile = delta.get(PROFILE) or {}
            if profile.get(var("found")) is False:
                raise StepFailed(f"profile {target.customer_id} not found")
            panel = delta.get(PANEL) or {}
            return True if panel.get(var("card_id")) == target.card_id else None

        await self._send("open profile", NAVIGATED, {}, panel_shown)

    async def add_stamp(self, target: Target, number: int) -> None:
        def dialog_open(update: dict) -> bool | None:
            self._refused(update)
            return True if ((update.get("delta") or {}).get(PANEL) or {}).get(var("dialog_open")) is True else None

        await self._send("open add-stamps", f"{PANEL}.open_action", {"verb": "add-stamps"}, dialog_open)
        comment = f"{self.tag}-{number}"

        def applied(update: dict) -> bool | None:
            self._refused(update)
            panel = (update.get("delta") or {}).get(PANEL) or {}
            if panel.get(var("form_error")):
                raise StepFailed(f"add stamp refused: {panel[var('form_error')]}")
            for event in self._frontend_events(update):
                if "done." in json.dumps(event.get("payload", {})):
                    return True
            return None

        self.recorder.stamps_sent += 1
        # The dialog is a form: its fields travel with Apply (Value keeps its default, 1).
        form = {"value": "1", "purchase": "", "comment": comment}
        await self._send("add stamp", f"{PANEL}.apply", {"form_data": form}, applied)
        self.recorder.stamps_confirmed += 1

    async def back_to_customers(self) -> None:
        self.path, self.query = "/customers", {}
        await self._send("back to customers", NAVIGATED, {}, self._grid_loaded())

    async def close(self) -> None:
        if self.sio is not None:
            try:
                await self.sio.disconnect()
            except Exception:  # noqa: BLE001  the server may be gone already
                pass
