"""Settings → Staff: the merchant's logins, invitations, role changes and deactivation.
Owners only: every handler is guarded by ``Permission.MANAGE_STAFF``."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.config import settings
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import staff
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires

ROLE_CHOICES = [role.value for role in staff.StaffRole]


@dataclasses.dataclass
class StaffRowView:
    id: int
    email: str
    role: str
    active: bool


class StaffSettingsState(AuthState):
    rows: list[StaffRowView] = []
    invite_error: str = ""
    invite_role: str = staff.StaffRole.STAFF.value
    form_version: int = 0

    async def _reload(self, merchant_id: int) -> None:
        found = await asyncio.to_thread(staff.list_staff, merchant_id)
        self.rows = [StaffRowView(id=r.id, email=r.email, role=r.role, active=r.active) for r in found]

    @rx.event
    @requires(Permission.MANAGE_STAFF)
    async def load(self):
        self.invite_error = ""
        await self._reload(current_login().merchant_id)

    @rx.event
    @local
    def set_invite_role(self, value: str):
        self.invite_role = value

    @rx.event
    @requires(Permission.MANAGE_STAFF)
    async def invite(self, form_data: dict):
        context = current_login()
        email, role = str(form_data.get("email", "")), str(form_data.get("role", self.invite_role))
        origin = settings().public_urls[0].rstrip("/")
        try:
            await asyncio.to_thread(staff.invite, context.merchant_id, email, role,
                                    staff_user_id=context.staff_user_id, origin=origin)
        except staff.StaffError as refusal:
            self.invite_error = str(refusal)
            return
        self.invite_error = ""
        self.form_version += 1
        await self._reload(context.merchant_id)
        yield rx.toast.success(f"Invitation sent to {email.strip().lower()}.")

    @rx.event
    @requires(Permission.MANAGE_STAFF)
    async def change_role(self, user_id: int, role: str):
        context = current_login()
        try:
            await asyncio.to_thread(staff.change_role, context.merchant_id, int(user_id), role,
                                    staff_user_id=context.staff_user_id)
        except staff.StaffError as refusal:
            yield rx.toast.error(str(refusal))
        else:
            yield rx.toast.success("Role changed.")
        await self._reload(context.merchant_id)

    @rx.event
    @requires(Permission.MANAGE_STAFF)
    async def deactivate(self, user_id: int):
        context = current_login()
        try:
            await asyncio.to_thread(staff.deactivate, context.merchant_id, int(user_id),
                                    staff_user_id=context.staff_user_id)
        except staff.StaffError as refusal:
            yield rx.toast.error(str(refusal))
        else:
            yield rx.toast.success("The user was deactivated; their sessions ended.")
        await self._reload(context.merchant_id)
