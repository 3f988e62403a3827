"""Settings → Business: timezone and "Consent collected at sign-up"."""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.services import merchant_settings
from perkstar_ui.state.auth import LOGIN_ROUTE, AuthState


class MerchantSettingsState(AuthState):
    timezone: str = "UTC"
    consent_at_signup: bool = False
    form_error: str = ""
    saving: bool = False
    # Bumped on every load so the uncontrolled inputs show the stored values again.
    form_version: int = 0

    def _show(self, stored: merchant_settings.MerchantSettings) -> None:
        self.timezone, self.consent_at_signup = stored.timezone, stored.consent_at_signup
        self.form_version += 1

    @rx.event
    async def load(self):
        merchant_id = await self.merchant_id()
        if merchant_id is None:
            return rx.redirect(LOGIN_ROUTE, replace=True)
        self.form_error = ""
        self._show(await asyncio.to_thread(merchant_settings.get_settings, merchant_id))
        return None

    @rx.event
    async def save(self, form_data: dict):
        merchant_id = await self.merchant_id()
        if merchant_id is None:
            yield rx.redirect(LOGIN_ROUTE, replace=True)
            return
        timezone = str(form_data.get("timezone", ""))
        collects = bool(form_data.get("consent_at_signup"))  # an unticked checkbox is absent
        self.saving = True
        yield
        try:
            stored = await asyncio.to_thread(merchant_settings.save_settings, merchant_id, timezone, collects)
        except merchant_settings.SettingsError as refusal:
            self.form_error, self.saving = str(refusal), False
            return
        self.form_error, self.saving = "", False
        self._show(stored)
        yield rx.toast.success("Settings saved.")
