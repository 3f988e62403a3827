"""The public referral sign-up (``/r/[code]``, no login): who invites, and the form.

The referral code is read from the page URL in every handler and checked again by the
service; the state holds only what the page shows.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import referrals
from perkstar_ui.state.guard import public


class ReferralState(rx.State):
    loaded: bool = False
    found: bool = False
    business: str = ""
    card_name: str = ""
    type_label: str = ""
    referrer: str = ""
    form_error: str = ""
    busy: bool = False

    def _code(self) -> str:
        return str(self.router.page.params.get("code", ""))

    @rx.event
    @public
    async def load(self):
        invitation = await asyncio.to_thread(referrals.invitation, self._code())
        self.loaded, self.found, self.form_error, self.busy = True, invitation is not None, "", False
        if invitation is not None:
            self.business, self.card_name = invitation.business, invitation.card_name
            self.type_label, self.referrer = invitation.card_type_label, invitation.referrer_first_name

    @rx.event
    @public
    async def submit(self, form: dict):
        if self.busy:  # a second tap while the first sign-up runs
            return
        self.busy, self.form_error = True, ""
        yield
        try:
            token = await asyncio.to_thread(
                referrals.sign_up, self._code(), form.get("first_name", ""), form.get("last_name", ""),
                form.get("phone", ""), form.get("email", ""),
            )
        except Refused as refusal:
            self.form_error, self.busy = str(refusal), False
            return
        yield rx.redirect(f"/card/{token}")
