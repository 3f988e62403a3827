"""Who is logged in, resolved on the server from the HttpOnly session cookie.

Every state that shows merchant data derives from ``AuthState`` and calls
``self.login()`` in each handler: the merchant comes from the cookie sent with the
websocket handshake, checked against the session table, never from the browser's
arguments, and a logout in another tab takes effect at the next event.
"""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie

import reflex as rx

from perkstar_ui.api.routes import SESSION_COOKIE
from perkstar_ui.services.accounts import LoginContext, resolve_session

LOGIN_ROUTE = "/login"
HOME_ROUTE = "/customers"


def session_token(cookie_header: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(cookie_header or "")
    except Exception:  # noqa: BLE001  a malformed header is the same as no cookie
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel else None


class AuthState(rx.State):
    merchant_name: str = ""
    staff_email: str = ""

    async def login(self) -> LoginContext | None:
        token = session_token(self.router.headers.cookie)
        return await asyncio.to_thread(resolve_session, token)

    async def merchant_id(self) -> int | None:
        context = await self.login()
        return context.merchant_id if context else None

    @rx.event
    async def require_login(self):
        """``on_load`` of every private page: bounce to the login page without a session."""
        context = await self.login()
        if context is None:
            return rx.redirect(LOGIN_ROUTE, replace=True)
        self.merchant_name = context.merchant_name
        self.staff_email = context.staff_email

    @rx.event
    def log_out(self):
        # A real navigation: the logout route clears the HttpOnly cookie.
        return rx.call_script(
            "fetch('/api/logout', {method: 'POST', credentials: 'same-origin'})"
            ".finally(() => window.location.assign('/login'))"
        )
