"""``/account``: the signed-in user's own two-factor sign-in (any role), and for owners
whether managers must use it. Every handler is guarded; the user is always the one the
session cookie names, never one the browser sends."""

from __future__ import annotations

import asyncio
import functools

import reflex as rx

from perkstar_ui.api.client_address import router_ip
from perkstar_ui.api.login_cookies import DEVICE_COOKIE, cookie_from_header
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import two_factor
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires


class TwoFactorState(AuthState):
    enabled: bool = False
    recovery_left: int = 0
    setting_up: bool = False
    qr_data_uri: str = ""
    secret: str = ""
    recovery_codes: list[str] = []  # shown once, right after turning it on
    require_for_managers: bool = False
    error: str = ""

    async def _refresh(self) -> None:
        login = current_login()
        status = await asyncio.to_thread(two_factor.status, login.merchant_id, login.staff_user_id)
        self.enabled, self.recovery_left = status.enabled, status.recovery_codes_left
        self.require_for_managers = await asyncio.to_thread(two_factor.required_for_managers, login.merchant_id)

    def _device(self) -> str | None:
        """The browser's known-device cookie (as the login form reads it): the throttle does
        not slow this browser for other people's failures on the user's email."""
        return cookie_from_header(self.router.headers.cookie, DEVICE_COOKIE)

    @rx.event
    @requires(Permission.SIGNED_IN, page=True)
    async def load(self):
        self.error, self.setting_up, self.qr_data_uri, self.secret, self.recovery_codes = "", False, "", "", []
        await self._refresh()

    @rx.event
    @requires(Permission.SIGNED_IN)
    async def start(self):
        login = current_login()
        try:
            setup = await asyncio.to_thread(two_factor.begin_setup, login.merchant_id, login.staff_user_id)
        except two_factor.TwoFactorError as refusal:
            self.error = str(refusal)
            return
        self.error, self.setting_up, self.qr_data_uri, self.secret = "", True, setup.qr_data_uri, setup.secret

    @rx.event
    @requires(Permission.SIGNED_IN)
    async def confirm(self, form_data: dict):
        login = current_login()
        code = str(form_data.get("code") or "")[:32]
        try:
            codes = await asyncio.to_thread(two_factor.confirm_setup, login.merchant_id, login.staff_user_id, code)
        except two_factor.TwoFactorError as refusal:
            self.error = str(refusal)
            return
        self.error, self.setting_up, self.qr_data_uri, self.secret = "", False, "", ""
        self.recovery_codes = codes
        await self._refresh()

    @rx.event
    @requires(Permission.SIGNED_IN)
    async def turn_off(self, form_data: dict):
        """The current password and a code, checked and throttled like a login."""
        login = current_login()
        password = str(form_data.get("password") or "")[:200]
        code = str(form_data.get("code") or "")[:32]
        turn_off = functools.partial(two_factor.disable, login.merchant_id, login.staff_user_id, password, code,
                                     ip=router_ip(self.router) or None, device=self._device())
        try:
            await asyncio.to_thread(turn_off)
        except two_factor.TwoFactorError as refusal:
            self.error = str(refusal)
            return
        self.error, self.recovery_codes = "", []
        await self._refresh()

    @rx.event
    @requires(Permission.SIGNED_IN)
    async def new_recovery_codes(self, form_data: dict):
        """Ten new recovery codes for a code (throttled like a login); the old ones end."""
        login = current_login()
        code = str(form_data.get("code") or "")[:32]
        renew = functools.partial(two_factor.regenerate_recovery_codes, login.merchant_id, login.staff_user_id, code,
                                  ip=router_ip(self.router) or None, device=self._device())
        try:
            codes = await asyncio.to_thread(renew)
        except two_factor.TwoFactorError as refusal:
            self.error = str(refusal)
            return
        self.error, self.recovery_codes = "", codes
        await self._refresh()

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS)
    async def set_require_for_managers(self, on: bool):
        login = current_login()
        try:
            await asyncio.to_thread(two_factor.set_required_for_managers, login.merchant_id, login.staff_user_id,
                                    bool(on))
        except two_factor.TwoFactorError as refusal:
            self.error = str(refusal)
            return
        await self._refresh()

    @rx.event
    @local
    def hide_recovery_codes(self):
        self.recovery_codes = []
