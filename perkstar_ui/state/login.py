"""The login form."""

from __future__ import annotations

import asyncio
import json

import reflex as rx

from perkstar_ui.services import accounts
from perkstar_ui.state.auth import HOME_ROUTE, AuthState


class LoginState(AuthState):
    form_error: str = ""
    busy: bool = False

    @rx.event
    async def redirect_if_logged_in(self):
        self.form_error = ""
        if await self.login() is not None:
            return rx.redirect(HOME_ROUTE, replace=True)

    @rx.event
    async def log_in(self, form_data: dict):
        email = str(form_data.get("email", "")).strip()
        password = str(form_data.get("password", ""))
        if not email or not password:
            self.form_error = "Enter your email and password."
            return
        self.busy = True
        yield
        try:
            ticket = await asyncio.to_thread(accounts.log_in, email, password)
        except accounts.AccountError as refusal:
            self.form_error = str(refusal)
            self.busy = False
            return
        self.form_error = ""
        # The ticket is single-use and lives a minute; /api/session sets the cookie.
        yield rx.call_script(f"window.location.assign('/api/session?ticket=' + {json.dumps(ticket)})")
