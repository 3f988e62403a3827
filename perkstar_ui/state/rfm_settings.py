"""Settings → RFM: the analysis window and the "new customer" days of the merchant."""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import rfm
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, requires
from perkstar_ui.state.rfm import RfmState

# The form shows the bounds the service enforces.
WINDOW_DAYS_RANGE = rfm.WINDOW_DAYS_RANGE
NEW_CUSTOMER_DAYS_RANGE = rfm.NEW_CUSTOMER_DAYS_RANGE


class RfmSettingsState(AuthState):
    window_days: str = ""
    new_customer_days: str = ""
    form_error: str = ""
    # Bumped on every load so the uncontrolled inputs show the stored values again.
    form_version: int = 0

    def _show(self, settings: rfm.RfmSettings) -> None:
        self.window_days, self.new_customer_days = str(settings.window_days), str(settings.new_customer_days)
        self.form_version += 1

    @rx.event
    @requires(Permission.OPEN_SETTINGS, silent=True)
    async def load(self):
        merchant_id = current_login().merchant_id
        self.form_error = ""
        self._show(await asyncio.to_thread(rfm.get_settings, merchant_id))
        return None

    @rx.event
    @requires(Permission.OPEN_SETTINGS)
    async def save(self, form_data: dict):
        merchant_id = current_login().merchant_id
        window, new_days = str(form_data.get("window_days", "")), str(form_data.get("new_customer_days", ""))
        try:
            settings = await asyncio.to_thread(rfm.save_settings, merchant_id, window, new_days,
                                               staff_user_id=current_login().staff_user_id)
        except rfm.SettingsError as refusal:
            self.form_error = str(refusal)
            return None
        self.form_error = ""
        self._show(settings)
        # New settings mean new segments: rebuild them now rather than at the nightly run.
        return [rx.toast.success("RFM settings saved; segments are being recalculated."), RfmState.recalculate]
