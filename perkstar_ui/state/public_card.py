"""The public card page (no login): one card as its holder sees it, installing it on
the home screen, and a review.

The only secret is the install token in the page URL; each handler reads it from the
page the event comes from and asks the service again, so the state never holds a
merchant or card id the browser could swap, and an expired state simply reloads.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.services import public_card as cards

# Captured as early as the page script runs; prompting needs the user's tap.
PROMPT_SCRIPT = (
    "var p = window.__perkstarInstallPrompt;"
    " if (p) { window.__perkstarInstallPrompt = null; p.prompt(); }"
)


class PublicCardState(rx.State):
    loaded: bool = False
    found: bool = False
    deleted: bool = False
    business: str = ""
    holder: str = ""
    card_type: str = ""
    type_label: str = ""
    template_name: str = ""
    serial: str = ""
    status: str = ""
    installed: bool = False
    device: str = ""
    balance: str = ""
    balance_label: str = ""
    has_tier: bool = False
    tier: str = ""
    tier_label: str = ""
    rewards: list[str] = []
    rewards_available: str = ""
    expiration: str = ""
    qr: str = ""
    manifest_href: str = ""
    install_busy: bool = False
    install_error: str = ""
    review_busy: bool = False
    review_error: str = ""
    review_sent: bool = False

    def _card_token(self) -> str:
        return str(self.router.page.params.get("token", ""))

    async def _refresh(self) -> None:
        token = self._card_token()
        card = await asyncio.to_thread(cards.load_public_card, token)
        self.loaded, self.found = True, card is not None
        if card is None:
            self.deleted, self.business, self.holder, self.serial, self.qr = False, "", "", "", ""
            self.rewards, self.manifest_href = [], ""
            return
        self.deleted, self.installed = card.deleted, card.installed
        self.business, self.holder = card.business, card.holder
        self.card_type, self.type_label, self.template_name = card.card_type, card.type_label, card.template_name
        self.serial, self.status, self.device = card.serial, card.status, card.device
        self.balance, self.balance_label = card.balance, card.balance_label
        self.has_tier, self.tier, self.tier_label = card.has_tier, card.tier, card.tier_label
        self.rewards, self.rewards_available = list(card.rewards), card.rewards_available
        self.expiration, self.qr = card.expiration, card.qr_svg_data_uri
        self.manifest_href = f"/api/cards/public/{token}/manifest.webmanifest"

    @rx.event
    async def load(self):
        """``on_load``: the whole view from the token (also after the state expired)."""
        self.install_error = self.review_error = ""
        self.install_busy = self.review_busy = self.review_sent = False
        await self._refresh()

    @rx.event
    async def install(self):
        """"Add to home screen": the card becomes Installed on a PWA (the browser's own
        install prompt, where it offers one, is opened by the button's script)."""
        if self.install_busy:
            return
        self.install_busy, self.install_error = True, ""
        yield
        try:
            await asyncio.to_thread(cards.install_card, self._card_token(), "pwa")
        except cards.CardRefused as refusal:
            self.install_error = str(refusal)
        finally:
            self.install_busy = False
        await self._refresh()

    @rx.event
    async def submit_review(self, form_data: dict):
        if self.review_busy:
            return
        self.review_busy, self.review_error = True, ""
        yield
        try:
            await asyncio.to_thread(
                cards.submit_review,
                self._card_token(),
                str(form_data.get("rating", "")),
                str(form_data.get("review", "")),
            )
        except cards.CardRefused as refusal:
            self.review_error = str(refusal)
        else:
            self.review_sent = True
        finally:
            self.review_busy = False

    @rx.event
    def write_another(self):
        self.review_sent, self.review_error = False, ""
