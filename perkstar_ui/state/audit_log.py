"""``/settings/audit``: one page of the audit trail, newest first, with its filters.
Owners only: every handler is guarded by ``Permission.VIEW_AUDIT`` (the page's load shows
``access-denied`` to other roles)."""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import urlencode

import reflex as rx

from perkstar_ui.db.models import as_utc
from perkstar_ui.domain.account_formats import format_date
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import audit, merchant_settings
from perkstar_ui.services.accounts import LoginContext
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, requires

CSV_ROUTE = "/api/audit.csv"
ACTION_CHOICES = [a.value for a in audit.Action]
ANY = audit.ANY


@dataclasses.dataclass
class AuditRowView:
    id: int
    when: str
    action: str
    actor: str
    ip: str
    detail: str


class AuditLogState(AuthState):
    rows: list[AuditRowView] = []
    actors: list[str] = []
    total: int = 0
    page: int = 1
    actor: str = ANY
    action: str = ANY
    date_from: str = ""
    date_to: str = ""

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.total // audit.PAGE_SIZE))

    @rx.var
    def csv_url(self) -> str:
        query = {k: v for k, v in (("actor", self.actor), ("action", self.action), ("from", self.date_from),
                                   ("to", self.date_to)) if v and v != ANY}
        return CSV_ROUTE + ("?" + urlencode(query) if query else "")

    async def _fetch(self, context: LoginContext) -> None:
        flt = audit.filter_from_text(self.actor, self.action, self.date_from, self.date_to)
        found, total = await asyncio.to_thread(audit.list_entries, context.merchant_id, flt, self.page)
        stored = await asyncio.to_thread(merchant_settings.get_settings, context.merchant_id)
        self.actors = await asyncio.to_thread(audit.actors, context.merchant_id)
        self.total = total
        self.rows = [AuditRowView(
            id=r.id, when=f"{format_date(as_utc(r.created_at).date(), stored.date_format)} "
                          f"{as_utc(r.created_at):%H:%M:%S} UTC",
            action=r.action, actor=r.actor, ip=r.ip, detail=audit.csv_row(r)[4]) for r in found]

    @rx.event
    @requires(Permission.VIEW_AUDIT, page=True)
    async def load(self):
        self.page = 1
        await self._fetch(current_login())

    @rx.event
    @requires(Permission.VIEW_AUDIT)
    async def apply_filters(self, form_data: dict):
        self.actor = str(form_data.get("actor", ANY))
        self.action = str(form_data.get("action", ANY))
        self.date_from = str(form_data.get("date_from", ""))
        self.date_to = str(form_data.get("date_to", ""))
        self.page = 1
        await self._fetch(current_login())

    @rx.event
    @requires(Permission.VIEW_AUDIT)
    async def go_to_page(self, page: int):
        self.page = min(max(1, int(page)), self.pages)
        await self._fetch(current_login())
