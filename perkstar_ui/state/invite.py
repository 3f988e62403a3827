"""The public invitation page (``/invite/[token]``, no login): set a password, then log in.

The token is read from the page URL in every handler and checked again by the service
(unknown, used or older than 48 hours: the same "not valid" answer)."""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.services import staff
from perkstar_ui.state.guard import public
from perkstar_ui.state.routing import route_param

LOGIN_ROUTE = "/login"


class InviteState(rx.State):
    loaded: bool = False
    found: bool = False
    business: str = ""
    email: str = ""
    form_error: str = ""
    busy: bool = False

    def _token(self) -> str:
        return route_param(self, "token")

    @rx.event
    @public
    async def load(self):
        view = await asyncio.to_thread(staff.invite_view, self._token())
        self.loaded, self.found, self.form_error, self.busy = True, view is not None, "", False
        self.business, self.email = (view.merchant_name, view.email) if view is not None else ("", "")

    @rx.event
    @public
    async def accept(self, form: dict):
        if self.busy:
            return
        self.busy, self.form_error = True, ""
        yield
        try:
            await asyncio.to_thread(staff.accept_invite, self._token(), str(form.get("password", "")),
                                    str(form.get("repeat_password", "")))
        except staff.StaffError as refusal:
            self.form_error, self.busy = str(refusal), False
            return
        self.busy = False
        yield rx.toast.success("Your password is set. Log in with your email.")
        yield rx.redirect(LOGIN_ROUTE)
