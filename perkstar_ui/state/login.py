"""The login form: email and password, then an authentication code when the user has
two-factor sign-in. The ticket it gets is bound to this browser's pre-login cookie (sent
with the websocket handshake) and redeemed by ``/api/session`` in this browser only."""

from __future__ import annotations

import asyncio
import functools
import json

import reflex as rx

from perkstar_ui.api.client_address import router_ip
from perkstar_ui.api.login_cookies import BROWSER_COOKIE, DEVICE_COOKIE, cookie_from_header
from perkstar_ui.services import accounts
from perkstar_ui.state.auth import HOME_ROUTE, AuthState
from perkstar_ui.state.guard import public

NO_BROWSER_COOKIE = "Your browser did not send the sign-in cookie: reload the page and try again."


class LoginState(AuthState):
    form_error: str = ""
    busy: bool = False
    needs_code: bool = False  # shows the Authentication code field

    @rx.event
    @public
    async def redirect_if_logged_in(self):
        self.form_error = ""
        self.needs_code = False
        if await self._login() is not None:
            return rx.redirect(HOME_ROUTE, replace=True)

    @rx.event
    @public  # the password (and code) are the credentials; throttled per email and IP
    async def log_in(self, form_data: dict):
        email = str(form_data.get("email", "")).strip()
        password = str(form_data.get("password", ""))
        code = str(form_data.get("code") or "").strip()[:32]  # an unrendered field comes as None
        if not email or not password:
            self.form_error = "Enter your email and password."
            return
        cookies = self.router.headers.cookie
        browser = cookie_from_header(cookies, BROWSER_COOKIE)
        if not browser:
            self.form_error = NO_BROWSER_COOKIE
            return
        self.busy = True
        yield
        attempt = functools.partial(
            accounts.log_in, email, password, code=code, browser=browser,
            ip=router_ip(self.router) or None, device=cookie_from_header(cookies, DEVICE_COOKIE),
        )
        try:
            ticket = await asyncio.to_thread(attempt)
        except accounts.CodeRequired as refusal:
            self.needs_code = True
            self.form_error = str(refusal) if code else ""
            self.busy = False
            return
        except accounts.AccountError as refusal:
            self.form_error = str(refusal)
            self.busy = False
            return
        self.form_error = ""
        # The ticket is single-use, lives a minute and works only with this browser's cookie.
        yield rx.call_script(f"window.location.assign('/api/session?ticket=' + {json.dumps(ticket)})")
