"""Settings → custom fields: add, rename, reorder, remove."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import custom_fields, refusals
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires


@dataclasses.dataclass
class FieldRow:
    id: int
    key: str
    label: str
    field_type: str
    choices: str


class CustomFieldsState(AuthState):
    fields: list[FieldRow] = []
    form_error: str = ""
    new_type: str = "text"

    async def _reload(self, merchant_id: int) -> None:
        fields = await asyncio.to_thread(custom_fields.list_custom_fields, merchant_id)
        self.fields = [FieldRow(f.id, f.key, f.label, f.field_type, ", ".join(f.choices)) for f in fields]

    async def _run(self, action, *args):  # noqa: ANN001
        """Run a change for the logged-in merchant, then show the fresh list or the refusal."""
        merchant_id = current_login().merchant_id
        try:
            await asyncio.to_thread(action, merchant_id, *args, staff_user_id=current_login().staff_user_id)
            self.form_error = ""
        except refusals.RecordError as refusal:
            self.form_error = str(refusal)
        await self._reload(merchant_id)
        return None

    @rx.event
    @requires(Permission.OPEN_SETTINGS, page=True)
    async def load(self):
        merchant_id = current_login().merchant_id
        self.form_error = ""
        await self._reload(merchant_id)
        return None

    @rx.event
    @local
    def set_new_type(self, value: str):
        self.new_type = value

    @rx.event
    @requires(Permission.OPEN_SETTINGS)
    async def add(self, form_data: dict):
        choices = [c for c in str(form_data.get("choices", "")).split(",")]
        result = await self._run(custom_fields.add_custom_field, str(form_data.get("label", "")), self.new_type, choices)
        return result or (rx.toast.success("Field added.") if not self.form_error else None)

    @rx.event
    @requires(Permission.OPEN_SETTINGS)
    async def rename(self, form_data: dict):
        field_id = str(form_data.get("field_id", ""))
        if not field_id.isdigit():
            return None
        return await self._run(custom_fields.rename_custom_field, int(field_id), str(form_data.get("label", "")))

    @rx.event
    @requires(Permission.OPEN_SETTINGS)
    async def move(self, field_id: int, offset: int):
        return await self._run(custom_fields.move_custom_field, field_id, offset)

    @rx.event
    @requires(Permission.OPEN_SETTINGS)
    async def remove(self, field_id: int):
        return await self._run(custom_fields.remove_custom_field, field_id)
