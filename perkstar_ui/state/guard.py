"""The one guard for Reflex event handlers: who is asking, and may they?

Every event handler of every state declares what it needs, with exactly one of:

- ``@requires(Permission.X)``: resolve the login from the HttpOnly session cookie
  sent with the websocket handshake (the session row, the staff user's ``active`` flag
  and role, the merchant), check ``Permission.X`` against the role, then run the
  handler. Inside it ``current_login()`` is the resolved ``LoginContext`` (merchant,
  staff user, role): never take the merchant from the browser's arguments.
  No session (or a deactivated user) → the tab leaves as at logout (``leave_tab``): the
  states loaded for the event are reset, and the page drops its client token and loads
  ``/login`` anew, so it gets a new token, a fresh state and a new socket (whose handshake
  carries the cookies as they are now). With Redis the tab's other states (the grid, a
  profile, the audit page) are not loaded for the event, so resetting cannot reach them;
  without the token nothing ever reads them again (they expire). A role without the
  permission → the toast "You don't have access", or with ``page=True`` (a page's
  ``on_load``, which then also fills the shell's login vars, ``shell_vars``: a page needs
  no separate login check) the shell's ``access-denied`` panel instead of the page, or with
  ``silent=True`` (an on-mount load of a section the role does not see) nothing.
- ``@public``: the public pages' handlers (card page, referral sign-up, login): no
  login; they find what they act on by an unguessable token.
- ``@local``: changes only this tab's own view vars (a dialog's open flag, a form
  field's text), reads and writes nothing on the server; whatever it sets is checked
  again by the guarded handler that acts on it.

Order: ``@rx.event`` (with ``background=True`` where needed) outermost, the guard
directly on the function. The wrapper keeps the function's kind (coroutine or async
generator, a plain function becomes a coroutine) and its signature and annotations
(``functools.wraps``: Reflex converts the arguments by ``get_type_hints(handler.fn)``),
so background events and argument parsing work unchanged. The resolved context lives
in a ``ContextVar`` for the call, so it works for a background task's ``StateProxy``
too (that proxy refuses attribute writes outside ``async with self``).

``tests/unit/test_guard_enumeration.py`` fails when a registered handler declares none
(``declared(handler.fn)``, re-exported here from ``domain.permissions``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import reflex as rx
from reflex.istate.proxy import StateProxy

from perkstar_ui.api.guard import SESSION_COOKIE
from perkstar_ui.domain.permissions import Declared, Permission, allowed, declared, mark
from perkstar_ui.services.accounts import LoginContext, resolve_session
from perkstar_ui.services.metrics import timed_event

LOGIN_ROUTE = "/login"
ACCESS_DENIED_MESSAGE = "You don't have access"
ACCESS_DENIED_VAR = "access_denied"  # AuthState's flag behind the shell's access-denied panel
__all__ = ["Declared", "current_login", "declared", "leave_tab", "local", "public", "requires", "resolve_login", "session_token",
           "shell_vars"]

_current: contextvars.ContextVar[LoginContext | None] = contextvars.ContextVar("perkstar_login", default=None)


def session_token(cookie_header: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(cookie_header or "")
    except Exception:  # noqa: BLE001  a malformed header is the same as no cookie
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel else None


async def resolve_login(state: Any) -> LoginContext | None:  # noqa: ANN401  a state or a background StateProxy
    """The login behind this tab's websocket, re-read from the database (in a thread)."""
    token = session_token(state.router.headers.cookie)
    return await asyncio.to_thread(resolve_session, token)


def current_login() -> LoginContext:
    """The login the guard resolved for the running handler."""
    context = _current.get()
    if context is None:
        raise RuntimeError("current_login() outside a @requires handler")
    return context


def shell_vars(context: LoginContext) -> dict[str, Any]:
    """What the shell shows of a login (``AuthState``'s vars), set by every page's load."""
    return {"merchant_name": context.merchant_name, "staff_email": context.staff_email, "staff_role": context.role,
            "manager_tools": allowed(context.role, Permission.OPEN_SETTINGS),
            "owner_tools": allowed(context.role, Permission.ACCOUNT_SETTINGS), ACCESS_DENIED_VAR: False}


def public(fn: Callable) -> Callable:
    return mark(fn, Declared.PUBLIC)


def local(fn: Callable) -> Callable:
    return mark(fn, Declared.LOCAL)


def leave_tab(*, end_session: bool = False) -> rx.event.EventSpec:
    """The page drops its client token and loads ``/login`` anew (a new token, state and
    socket); with ``end_session`` it first ends the session (``/api/logout`` clears the
    HttpOnly cookie). The one way a tab leaves a login: logout and the guard alike."""
    leave = f"window.sessionStorage.removeItem('token'); window.location.replace('{LOGIN_ROUTE}');"
    if end_session:
        return rx.call_script(
            f"fetch('/api/logout', {{method: 'POST', credentials: 'same-origin'}}).finally(() => {{ {leave} }})"
        )
    return rx.call_script(leave)


async def _forget_tab(state: Any) -> None:  # noqa: ANN401  a state or a background StateProxy
    """No live login behind this tab: the states loaded for this event go back to their
    defaults, keeping only whether the page is hydrated (the page then leaves: ``leave_tab``)."""
    if isinstance(state, StateProxy):  # a background event: its state is writable only inside
        async with state:
            await _reset_root(state)
    else:
        await _reset_root(state)


async def _reset_root(state: Any) -> None:  # noqa: ANN401
    root = await state.get_state(rx.State)
    hydrated = root.is_hydrated
    root.reset()
    root.is_hydrated = hydrated


async def _admit(state: Any, permission: Permission, page: bool, silent: bool) -> tuple[LoginContext | None, Any]:  # noqa: ANN401
    """(context, None) to run the handler, or (None, the refusal to answer with)."""
    context = _current.get() or await resolve_login(state)
    if context is None:
        await _forget_tab(state)
        return None, leave_tab()
    if page:  # a page's load is its login check too: the shell shows who is here
        for name, value in shell_vars(context).items():
            if getattr(state, name) != value:  # an unchanged var stays out of the delta and Redis
                setattr(state, name, value)
    if not allowed(context.role, permission):
        if page:
            setattr(state, ACCESS_DENIED_VAR, True)
        if page or silent:
            return None, None
        return None, rx.toast.error(ACCESS_DENIED_MESSAGE)
    return context, None


def _reset(token: contextvars.Token) -> None:
    try:
        _current.reset(token)
    except ValueError:  # an abandoned generator closed later from another task: nothing to restore there
        pass


def requires(permission: Permission, *, page: bool = False, silent: bool = False) -> Callable[[Callable], Callable]:
    """Run the handler only for a live login whose role has ``permission`` (see the module doc)."""

    def decorate(fn: Callable) -> Callable:
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            async def guarded_gen(self, *args, **kwargs):  # noqa: ANN001, ANN202
                context, refusal = await _admit(self, permission, page, silent)
                if context is None:
                    yield refusal
                    return
                token = _current.set(context)
                try:
                    with timed_event(fn.__qualname__):
                        if inspect.isasyncgenfunction(fn):
                            async for event in fn(self, *args, **kwargs):
                                yield event
                        else:
                            for event in fn(self, *args, **kwargs):
                                yield event
                finally:
                    _reset(token)

            wrapper = guarded_gen
        else:

            @functools.wraps(fn)
            async def guarded(self, *args, **kwargs):  # noqa: ANN001, ANN202
                context, refusal = await _admit(self, permission, page, silent)
                if context is None:
                    return refusal
                token = _current.set(context)
                try:
                    with timed_event(fn.__qualname__):
                        result = fn(self, *args, **kwargs)
                        return await result if inspect.isawaitable(result) else result
                finally:
                    _reset(token)

            wrapper = guarded
        wrapper.loads_page = page  # its state must be an AuthState (it gets the shell's vars): test_state_tree
        return mark(wrapper, permission)

    return decorate
