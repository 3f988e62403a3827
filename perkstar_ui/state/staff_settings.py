"""Settings → Staff: the merchant's logins, invitations (sent, pending, revoked), role
changes and deactivation. Owners only: every handler is guarded by ``Permission.MANAGE_STAFF``."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import reflex as rx

from perkstar_ui.domain.messages import MessageStatus
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import staff, staff_invites
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires

ROLE_CHOICES = [role.value for role in staff.StaffRole]


@dataclasses.dataclass
class StaffRowView:
    id: int
    email: str
    role: str
    active: bool


@dataclasses.dataclass
class InviteRowView:
    id: int
    email: str
    role: str
    sent: str  # "2026-11-30 09:15 UTC"
    expires: str
    email_status: str = ""  # queued / sent / delivered / failed / skipped ("" unknown)
    email_state: str = ""  # what the row says: "Sent", "Skipped: not sent: no provider"


def _when(moment) -> str:  # noqa: ANN001
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _email_state(invite: staff_invites.PendingInvite) -> str:
    if invite.email_status is None:
        return "Unknown"
    label = invite.email_status.value.capitalize()
    return f"{label}: {invite.email_reason}" if invite.email_reason and invite.email_status in (
        MessageStatus.FAILED, MessageStatus.SKIPPED) else label


class StaffSettingsState(AuthState):
    rows: list[StaffRowView] = []
    invites: list[InviteRowView] = []
    invite_error: str = ""
    invite_role: str = staff.StaffRole.STAFF.value
    form_version: int = 0

    async def _reload(self, merchant_id: int) -> None:
        found = await asyncio.to_thread(staff.list_staff, merchant_id)
        self.rows = [StaffRowView(id=r.id, email=r.email, role=r.role, active=r.active) for r in found]
        pending = await asyncio.to_thread(staff_invites.pending, merchant_id)
        self.invites = [InviteRowView(id=p.id, email=p.email, role=p.role, sent=_when(p.sent_at),
                                      expires=_when(p.expires_at),
                                      email_status=p.email_status.value if p.email_status else "",
                                      email_state=_email_state(p)) for p in pending]

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
        try:
            await asyncio.to_thread(staff_invites.invite, context.merchant_id, email, role,
                                    staff_user_id=context.staff_user_id)
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

    @rx.event
    @requires(Permission.MANAGE_STAFF)
    async def revoke_invite(self, invite_id: int):
        if not str(invite_id).isdigit():
            return
        context = current_login()
        try:
            email = await asyncio.to_thread(staff_invites.revoke, context.merchant_id, int(invite_id),
                                            staff_user_id=context.staff_user_id)
        except staff.StaffError as refusal:
            yield rx.toast.error(str(refusal))
        else:
            yield rx.toast.success(f"Invitation to {email} revoked; its link no longer works.")
        await self._reload(context.merchant_id)
