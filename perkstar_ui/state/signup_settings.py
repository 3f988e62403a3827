"""Settings → Sign-ups (issue 14): rate limits and "verify contact for bonus". Owners only."""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import signup_settings
from perkstar_ui.state.guard import current_login, requires


class SignupSettingsState(rx.State):
    per_ip_hour: str = ""
    per_code_day: str = ""
    per_template_day: str = ""
    verify_contact_for_bonus: bool = False
    form_error: str = ""
    saving: bool = False
    form_version: int = 0  # bumped on every load: the uncontrolled inputs show stored values

    def _show(self, stored: signup_settings.SignupSettings) -> None:
        self.per_ip_hour, self.per_code_day = str(stored.per_ip_hour), str(stored.per_code_day)
        self.per_template_day = str(stored.per_template_day)
        self.verify_contact_for_bonus = stored.verify_contact_for_bonus
        self.form_version += 1

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS, silent=True)
    async def load(self):
        self.form_error = ""
        self._show(await asyncio.to_thread(signup_settings.get, current_login().merchant_id))

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS)
    async def save(self, form_data: dict):
        context = current_login()
        self.saving = True
        yield
        try:
            stored = await asyncio.to_thread(signup_settings.save, context.merchant_id, dict(form_data or {}),
                                             staff_user_id=context.staff_user_id)
        except signup_settings.SignupSettingsError as refusal:
            self.form_error, self.saving = str(refusal), False
            return
        self.form_error, self.saving = "", False
        self._show(stored)
        yield rx.toast.success("Sign-up settings saved.")
