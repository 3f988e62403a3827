"""Who is logged in, resolved on the server from the HttpOnly session cookie.

Every state that shows merchant data derives from ``AuthState``; each handler declares
its permission with ``state.guard.requires`` (or ``public`` / ``local``), which resolves
the login for every event (the merchant comes from the cookie sent with the websocket
handshake, checked against the session table, never from the browser's arguments, and
a logout in another tab takes effect at the next event) and hands it to the handler as
``current_login()``.

The role vars below only hide controls a role may not use (a courtesy: the guard
refuses them on the server anyway): ``manager_tools`` (export, import, delete, bulk
actions, campaigns, templates, segments' saving, ``/settings``) and ``owner_tools``
(staff, account settings, audit). ``access_denied`` makes the shell show
``access-denied`` instead of a page the role may not open.
"""

from __future__ import annotations

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services.accounts import LoginContext
from perkstar_ui.state.guard import (  # noqa: F401  LOGIN_ROUTE, session_token: re-exported
    LOGIN_ROUTE,
    current_login,
    leave_tab,
    public,
    requires,
    resolve_login,
    session_token,
)

HOME_ROUTE = "/customers"


class AuthState(rx.State):
    merchant_name: str = ""
    staff_email: str = ""
    staff_role: str = ""
    manager_tools: bool = False
    owner_tools: bool = False
    access_denied: bool = False

    async def _login(self) -> LoginContext | None:
        """The guard's context inside a guarded handler, else re-read from the cookie."""
        try:
            return current_login()
        except RuntimeError:
            return await resolve_login(self)

    async def _merchant_id(self) -> int | None:
        context = await self._login()
        return context.merchant_id if context else None

    @rx.event
    @public  # ends whatever session the cookie names, if any
    async def log_out(self):
        # Forget everything this tab's states hold on the server (grid rows, profiles…), then
        # end the session (the route clears the HttpOnly cookie) and drop the tab's client
        # token, so the next page starts a new, empty state: a reload sends nothing of this login.
        root = await self.get_state(rx.State)
        root.reset()
        return leave_tab(end_session=True)


class PageGateState(AuthState):
    """Home of ``require_login``, the ``on_load`` of a private page that loads nothing else
    (a page with its own load declares it ``@requires(..., page=True)``: the guard then sets
    the shell's vars for that page, one event fewer per navigation).

    A leaf on purpose: with Redis, Reflex loads an event's state with all its substates, so
    an event on ``AuthState`` itself would unpickle every page's state (26 of them) on each
    navigation; here it loads the root, ``AuthState`` and this. The login vars the guard sets
    are ``AuthState``'s (inherited vars write through to the parent).
    """

    @rx.event
    @requires(Permission.SIGNED_IN, page=True)  # the guard sets the shell's vars, as for any page load
    async def require_login(self):
        """``on_load`` of a page with no ``page=True`` load of its own: who is here, what they may see."""
