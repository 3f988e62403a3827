"""Settings → Business: name, country, timezone, currency, date format and "Consent
collected at sign-up". Owners only: every handler is guarded by ``Permission.ACCOUNT_SETTINGS``."""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import merchant_settings
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, requires


class MerchantSettingsState(AuthState):
    business_name: str = ""
    country: str = "GB"
    timezone: str = "UTC"
    currency: str = "GBP"
    date_format: str = "YYYY-MM-DD"
    consent_at_signup: bool = False
    form_error: str = ""
    saving: bool = False
    # Bumped on every load so the uncontrolled inputs show the stored values again.
    form_version: int = 0

    def _show(self, stored: merchant_settings.MerchantSettings) -> None:
        self.timezone, self.consent_at_signup = stored.timezone, stored.consent_at_signup
        self.business_name, self.country = stored.name, stored.country
        self.currency, self.date_format = stored.currency, stored.date_format
        self.form_version += 1

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS)
    async def load(self):
        self.form_error = ""
        self._show(await asyncio.to_thread(merchant_settings.get_settings, current_login().merchant_id))

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS)
    async def save(self, form_data: dict):
        context = current_login()
        wanted = merchant_settings.MerchantSettings(
            timezone=str(form_data.get("timezone", "")),
            consent_at_signup=bool(form_data.get("consent_at_signup")),  # an unticked checkbox is absent
            name=str(form_data.get("business_name", "")),
            country=str(form_data.get("country", "")),
            currency=str(form_data.get("currency", "")),
            date_format=str(form_data.get("date_format", "")),
        )
        self.saving = True
        yield
        try:
            stored = await asyncio.to_thread(merchant_settings.save_account, context.merchant_id, wanted,
                                             staff_user_id=context.staff_user_id)
        except merchant_settings.SettingsError as refusal:
            self.form_error, self.saving = str(refusal), False
            return
        self.form_error, self.saving = "", False
        self._show(stored)
        self.merchant_name = stored.name
        yield rx.toast.success("Settings saved.")
