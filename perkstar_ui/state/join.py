"""The public sign-up pages (no login, phone-sized): ``/join/[code]`` (a template's join
link or poster) and ``/r/[code]`` (a holder's referral link), one state for both.

Every handler reads the code from the page URL and the client's address from the
websocket, and the services check everything again (limits, honeypot, neutral answers);
the state holds only what the page shows, plus, server-side, the contact a restore code
was asked for and the token of a card whose bonus waits for its code. ``load`` never
resets a sign-up that is running (a second tab's load, a reconnect).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum

import reflex as rx

from perkstar_ui.api.client_address import limit_key, router_ip
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import contact_codes, signup
from perkstar_ui.state.guard import local, public
from perkstar_ui.state.routing import route_param, route_path

REFERRAL_PREFIX = "/r/"


class Step(enum.StrEnum):
    FORM = "form"  # the issuing form (and "Lost your card?")
    DONE = "done"  # the neutral answer, then the code from a restore message
    VERIFY = "verify"  # the new card's bonus waits for the code sent at sign-up


@dataclasses.dataclass
class JoinField:
    key: str
    label: str
    kind: str
    required: bool
    choices: list[str]


class JoinState(rx.State):
    loaded: bool = False
    found: bool = False
    business: str = ""
    card_name: str = ""
    type_label: str = ""
    referrer: str = ""
    fields: list[JoinField] = []
    step: str = Step.FORM.value
    form_error: str = ""
    busy: bool = False
    restore_open: bool = False
    code_error: str = ""
    _contact: str = ""  # the phone or email a restore code was asked for
    _token: str = ""  # the new card whose bonus waits for its code

    def _codes(self) -> dict[str, str]:
        code = route_param(self, "code")
        referral = route_path(self).startswith(REFERRAL_PREFIX)
        return {"referral_code": code} if referral else {"join_code": code}

    def _client(self) -> str:
        """What the per-address limits count by (api.client_address: forwarded-for behind
        trusted proxies only; an IPv6 client's /56)."""
        return limit_key(router_ip(self.router))

    @rx.event
    @public
    async def load(self):
        """``on_load``: the page from its code. A sign-up in progress keeps its screen."""
        if self.busy:
            return
        page = await asyncio.to_thread(signup.join_page, **self._codes())
        if self.busy:  # a submit started while the page was read
            return
        self.loaded, self.found = True, page is not None
        self.step, self.form_error, self.code_error, self.restore_open = Step.FORM.value, "", "", False
        self._contact = self._token = ""
        if page is not None:
            self.business, self.card_name, self.type_label, self.referrer = (
                page.business, page.card_name, page.type_label, page.referrer)
            self.fields = [JoinField(f.key, f.label, f.kind, f.required, list(f.choices)) for f in page.fields]

    @rx.event
    @public
    async def submit(self, form: dict):
        if self.busy:  # a second tap while the first sign-up runs
            return
        self.busy, self.form_error = True, ""
        yield
        values = {str(k): str(v) for k, v in (form or {}).items() if isinstance(v, (str, int, float))}
        try:
            outcome = await asyncio.to_thread(
                signup.sign_up, values, **self._codes(), client=self._client(),
                sms_consent=bool(values.get("sms_consent")), email_consent=bool(values.get("email_consent")),
            )
        except Refused as refusal:
            self.form_error = str(refusal)
            return
        finally:  # also on an unexpected error: the page must not stay busy for ever
            self.busy = False
        if outcome.answer == signup.Answer.CARD:
            yield rx.redirect(f"/card/{outcome.token}")
        elif outcome.answer == signup.Answer.VERIFY:
            self.step, self._token, self.code_error = Step.VERIFY.value, outcome.token, ""
        else:
            # The contact the restore code went to (a known email beside a new phone
            # matches by the email): the code is confirmed against that one.
            self.step, self.code_error, self._contact = Step.DONE.value, "", outcome.contact

    @rx.event
    @local
    def toggle_restore(self):
        self.restore_open = not self.restore_open

    @rx.event
    @public
    async def request_restore(self, form: dict):
        """"Lost your card?": a code to the phone or email if it is a customer's; the same
        answer (``join-done``) for any contact."""
        if self.busy:
            return
        contact = str((form or {}).get("contact", "")).strip()[:254]
        if not contact:
            self.form_error = "Enter your phone number or email."
            return
        self.busy, self.form_error = True, ""
        yield
        try:
            found = await asyncio.to_thread(signup.template_of, **self._codes())
            await asyncio.to_thread(contact_codes.request_restore, found, contact, client=self._client())
        except Refused as refusal:
            self.form_error = str(refusal)
            return
        finally:
            self.busy = False
        self.step, self._contact, self.code_error = Step.DONE.value, contact, ""

    @rx.event
    @public
    async def confirm_code(self, form: dict):
        """The code from the message: opens the card (restore) or releases its bonus."""
        code = str((form or {}).get("code", "")).strip()[:12]
        if self.busy or self.step == Step.FORM.value:
            return
        if not code:
            self.code_error = "Enter the code from the message."
            return
        self.busy, self.code_error = True, ""
        yield
        try:
            if self.step == Step.VERIFY.value:
                await asyncio.to_thread(contact_codes.confirm_verify, self._token, code, client=self._client())
                token = self._token
            else:
                found = await asyncio.to_thread(signup.template_of, **self._codes())
                token = await asyncio.to_thread(contact_codes.confirm_restore, found, self._contact, code,
                                                client=self._client())
        except Refused as refusal:
            self.code_error = str(refusal)
            return
        finally:
            self.busy = False
        yield rx.redirect(f"/card/{token}")

    @rx.event
    @public
    def skip_verify(self):
        """Open the new card without its held bonus (the code can still come later)."""
        if self.step == Step.VERIFY.value and self._token:
            return rx.redirect(f"/card/{self._token}")
        return None

