"""Add / edit customer dialog. Values arrive as one form submit; nothing is saved on error."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import (
    consent,
    custom_fields,
    customer_profile,
    customer_records,
    refusals,
)
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires
from perkstar_ui.state.customer_grid import GridState
from perkstar_ui.state.tiles import TilesState


@dataclasses.dataclass
class FieldInput:
    key: str
    label: str
    field_type: str
    choices: list[str]
    value: str
    error: str


class CustomerFormState(AuthState):
    open: bool = False
    editing_id: int = 0  # 0: a new customer
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    birthdate: str = ""
    sms_consent: bool = False
    email_consent: bool = False
    # The merchant's "Consent collected at sign-up": without it a new customer starts
    # without consent and the boxes are recorded later, by editing.
    consent_at_signup: bool = False
    custom_fields: list[FieldInput] = []
    errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False

    @rx.var
    def title(self) -> str:
        return "Edit customer" if self.editing_id else "Add customer"

    async def _open(self, customer_id: int):
        merchant_id = current_login().merchant_id
        fields = await asyncio.to_thread(custom_fields.list_custom_fields, merchant_id)
        values: dict[str, str] = {}
        self.first_name = self.last_name = self.phone = self.email = self.birthdate = ""
        self.sms_consent = self.email_consent = False
        self.consent_at_signup = await asyncio.to_thread(consent.merchant_collects_consent, merchant_id)
        if customer_id:
            profile = await asyncio.to_thread(customer_profile.load_profile, merchant_id, customer_id)
            if profile is None:
                return rx.toast.error("This customer no longer exists.")
            self.first_name, self.last_name = profile.first_name, profile.last_name
            self.phone, self.email, self.birthdate = profile.phone, profile.email, profile.birthdate
            self.sms_consent, self.email_consent = profile.sms_consent, profile.email_consent
            values = {c.key: c.value for c in profile.custom}
        self.custom_fields = [FieldInput(f.key, f.label, f.field_type, f.choices, values.get(f.key, ""), "") for f in fields]
        self.editing_id = customer_id
        self.errors, self.form_error = {}, ""
        self.open = True
        return None

    @rx.event
    @requires(Permission.EDIT_CUSTOMERS)
    async def open_new(self):
        return await self._open(0)

    @rx.event
    @requires(Permission.EDIT_CUSTOMERS)
    async def open_edit(self, customer_id: int):
        return await self._open(customer_id)

    @rx.event
    @local
    def set_open(self, value: bool):
        self.open = value

    @rx.event
    @requires(Permission.EDIT_CUSTOMERS)
    async def save(self, form_data: dict):
        merchant_id = current_login().merchant_id
        data = customer_records.CustomerInput(
            first_name=str(form_data.get("first_name", "")),
            last_name=str(form_data.get("last_name", "")),
            phone=str(form_data.get("phone", "")),
            email=str(form_data.get("email", "")),
            birthdate=str(form_data.get("birthdate", "")),
            custom={f.key: str(form_data.get(f"cf_{f.key}", "")) for f in self.custom_fields},
            # An unticked checkbox is absent from the form data.
            sms_consent=bool(form_data.get("sms_consent")),
            email_consent=bool(form_data.get("email_consent")),
        )
        # Keep what was typed, so a refused form loses nothing.
        self.first_name, self.last_name, self.phone = data.first_name, data.last_name, data.phone
        self.email, self.birthdate = data.email, data.birthdate
        self.sms_consent, self.email_consent = bool(data.sms_consent), bool(data.email_consent)
        self.saving = True
        yield
        try:
            await asyncio.to_thread(customer_records.save_customer, merchant_id, data, self.editing_id or None,
                                    staff_user_id=current_login().staff_user_id)
        except refusals.RecordError as refusal:
            self.errors = refusal.errors
            self.form_error = str(refusal)
            self.custom_fields = [
                dataclasses.replace(f, value=data.custom.get(f.key, ""), error=refusal.errors.get(f"cf:{f.key}", ""))
                for f in self.custom_fields
            ]
            self.saving = False
            return
        self.saving = False
        self.open = False
        from perkstar_ui.state.profile import (
            ProfileState,  # the profile imports this state
        )

        yield rx.toast.success("Customer saved.")
        if self.editing_id:
            yield ProfileState.load
        else:
            yield GridState.load  # the new row appears in the grid
        yield TilesState.refresh
