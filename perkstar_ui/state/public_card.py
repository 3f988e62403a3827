"""The public card page (no login): one card as its holder sees it, installing it on
the home screen, and a review.

The only secret is the install token in the page URL; each handler reads it from the
page the event comes from and asks the service again, so the state never holds a
merchant or card id the browser could swap, and an expired state simply reloads.
"""

from __future__ import annotations

import asyncio
import json

import reflex as rx

from perkstar_ui.services import public_card as cards
from perkstar_ui.services import push_keys, referrals
from perkstar_ui.state.guard import public
from perkstar_ui.state.routing import route_param

# Captured as early as the page script runs; prompting needs the user's tap.
PROMPT_SCRIPT = (
    "var p = window.__perkstarInstallPrompt;"
    " if (p) { window.__perkstarInstallPrompt = null; p.prompt(); }"
)

# Registers the card's service worker (scope: this card's page only, so each card on a
# phone has its own push subscription) and lets a push reload the message list by
# clicking the hidden refresh button. Resolves to whether push is already on.
REGISTER_WORKER_SCRIPT = """(async () => {
  if (!('serviceWorker' in navigator)) return 'unsupported';
  const match = location.pathname.match(/^\\/card\\/([A-Za-z0-9_-]{1,43})/);
  if (!match) return '';
  if (!window.__perkstarPushListener) {
    window.__perkstarPushListener = true;
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data && event.data.type === 'perkstar-push') {
        const button = document.getElementById('card-messages-refresh');
        if (button) button.click();
      }
    });
    navigator.serviceWorker.startMessages();
  }
  try {
    const registration = await navigator.serviceWorker.register('/sw.js', {scope: '/card/' + match[1]});
    const subscription = registration.pushManager ? await registration.pushManager.getSubscription() : null;
    return subscription && Notification.permission === 'granted' ? 'subscribed' : '';
  } catch (error) {
    return '';
  }
})()"""

# Asks permission, subscribes with our VAPID key and hands the subscription to
# /api/push/subscribe with the card's token. Resolves to one of PUSH_STATUS's keys.
SUBSCRIBE_SCRIPT = """(async (token, key) => {
  try {
    if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
      return 'unsupported';
    }
    if (await Notification.requestPermission() !== 'granted') return 'denied';
    await navigator.serviceWorker.register('/sw.js', {scope: '/card/' + token});
    const registration = await navigator.serviceWorker.ready;
    const raw = atob(key.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - key.length % 4) % 4));
    const serverKey = Uint8Array.from(raw, (c) => c.charCodeAt(0));
    const subscription = (await registration.pushManager.getSubscription())
      || (await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: serverKey}));
    const response = await fetch('/api/push/subscribe', {
      method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({token: token, subscription: subscription.toJSON()}),
    });
    return response.ok ? 'subscribed' : 'failed';
  } catch (error) {
    return 'failed';
  }
})(__TOKEN__, __KEY__)"""

PUSH_STATUS = {
    "subscribed": "Notifications are on for this card.",
    "denied": "Notifications are blocked for this page. Allow them in the browser's site settings.",
    "unsupported": "This browser cannot show notifications. On iPhone, add the card to your home screen first.",
    "failed": "Could not turn on notifications. Try again later.",
}


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
    messages: list[dict[str, str]] = []  # push messages sent to this card: text, sent_at
    push_busy: bool = False
    push_on: bool = False
    push_status: str = ""

    def _card_token(self) -> str:
        return route_param(self, "token")

    async def _refresh(self) -> None:
        token = self._card_token()
        card = await asyncio.to_thread(cards.load_public_card, token)
        self.loaded, self.found = True, card is not None
        if card is None:
            self.deleted, self.business, self.holder, self.serial, self.qr = False, "", "", "", ""
            self.rewards, self.manifest_href, self.messages = [], "", []
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
        await self._refresh_messages(token)

    async def _refresh_messages(self, token: str) -> None:
        sent = await asyncio.to_thread(cards.card_messages, token)
        self.messages = [{"text": m.text, "sent_at": m.sent_at} for m in sent]

    @rx.event
    @public
    async def load(self):
        """``on_load``: the whole view from the token (also after the state expired)."""
        self.install_error = self.review_error = ""
        self.install_busy = self.review_busy = self.review_sent = False
        self.push_busy, self.push_status = False, ""
        await self._refresh()
        if self.found and not self.deleted:
            return rx.call_script(REGISTER_WORKER_SCRIPT, callback=PublicCardState.push_checked)
        return None

    @rx.event
    @public
    async def refresh_messages(self):
        """A push arrived while the page is open (the service worker says so)."""
        if self.found and not self.deleted:
            await self._refresh_messages(self._card_token())

    @rx.event
    @public
    async def subscribe_push(self):
        """"Get notifications": the browser asks permission and subscribes; the script
        sends the subscription to /api/push/subscribe with this page's token."""
        token = self._card_token()
        if self.push_busy or not cards.valid_token(token):
            return
        self.push_busy, self.push_status = True, ""
        yield
        key = await asyncio.to_thread(push_keys.public_key)
        script = SUBSCRIBE_SCRIPT.replace("__TOKEN__", json.dumps(token)).replace("__KEY__", json.dumps(key))
        yield rx.call_script(script, callback=PublicCardState.push_subscribed)

    @rx.event
    @public
    def push_checked(self, result: str):
        self.push_on = result == "subscribed"

    @rx.event
    @public
    def push_subscribed(self, result: str):
        self.push_busy = False
        self.push_on = result == "subscribed"
        self.push_status = PUSH_STATUS.get(str(result), PUSH_STATUS["failed"])

    @rx.event
    @public
    async def install(self):
        """"Add to home screen": the card becomes Installed on a PWA (the browser's own
        install prompt, where it offers one, is opened by the button's script)."""
        if self.install_busy:
            return
        self.install_busy, self.install_error = True, ""
        yield
        try:
            # The referral program's caller: a program that pays on installation pays now.
            await asyncio.to_thread(referrals.install_card, self._card_token(), "pwa")
        except cards.CardRefused as refusal:
            self.install_error = str(refusal)
        finally:
            self.install_busy = False
        await self._refresh()

    @rx.event
    @public
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
    @public
    def write_another(self):
        self.review_sent, self.review_error = False, ""
