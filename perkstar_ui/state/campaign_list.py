"""``/campaigns``, the Communication tab's recent campaigns, and one campaign's page.

While any shown campaign still has messages waiting, a background event re-reads the
counts every few seconds (outside the state lock), so progress moves without a reload
and the tab stays responsive."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import reflex as rx

from perkstar_ui.domain.campaigns import CampaignError, CampaignStatus
from perkstar_ui.domain.messages import COUNTED_STATUSES
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import campaign_reports, campaigns
from perkstar_ui.state.auth import LOGIN_ROUTE, AuthState
from perkstar_ui.state.guard import current_login, requires
from perkstar_ui.state.routing import route_param

RECENT = 5
FOLLOW_SECONDS = 2
FOLLOW_ROUNDS = 300  # ten minutes, then the Refresh button
ACTIVE = frozenset({CampaignStatus.SCHEDULED.value, CampaignStatus.QUEUING.value, CampaignStatus.SENDING.value})


@dataclasses.dataclass
class CampaignView:
    id: int
    name: str
    channel: str
    audience: str
    status: str
    when: str  # scheduled time, or when it was created
    queued: int
    sent: int
    delivered: int
    failed: int
    skipped: int
    total: int
    progress: int
    problem: str


@dataclasses.dataclass
class RecipientView:
    customer_id: int
    name: str
    recipient: str
    status: str
    reason: str


def view(row: campaign_reports.CampaignRow) -> CampaignView:
    counts = row.counts
    return CampaignView(row.id, row.name, row.channel, row.audience, row.status, row.send_at or row.created,
                        *(counts[s.value] for s in COUNTED_STATUSES), row.total, row.progress, row.problem)


def _moving(rows: list[CampaignView]) -> bool:
    """Worth following: something is waiting to be queued or sent."""
    return any(r.status in (CampaignStatus.QUEUING.value, CampaignStatus.SENDING.value) for r in rows)


async def follow_while(state: "CampaignListState | CampaignDetailState", step: Callable[[], Awaitable[bool]]) -> None:
    """Runs ``step`` every few seconds (at most FOLLOW_ROUNDS times) until it answers that
    nothing moves any more; one follower per tab and state (``_following``)."""
    async with state:
        if state._following:
            return
        state._following = True
    try:
        for _ in range(FOLLOW_ROUNDS):
            await asyncio.sleep(FOLLOW_SECONDS)
            if not await step():
                return
    finally:
        async with state:
            state._following = False


class CampaignListState(AuthState):
    rows: list[CampaignView] = []
    recent: list[CampaignView] = []
    loading: bool = False
    _following: bool = False

    async def _fetch(self, limit: int) -> list[CampaignView] | None:
        merchant_id = await self._merchant_id()
        if merchant_id is None:
            return None
        return [view(r) for r in await asyncio.to_thread(campaign_reports.list_campaigns, merchant_id, limit)]

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS, page=True)
    async def load(self):
        self.loading = True
        yield
        rows = await self._fetch(50)
        if rows is None:
            yield rx.redirect(LOGIN_ROUTE, replace=True)
            return
        self.rows, self.loading = rows, False
        if _moving(rows):
            yield CampaignListState.follow

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS, silent=True)
    async def load_recent(self):
        rows = await self._fetch(RECENT)
        if rows is None:
            return rx.redirect(LOGIN_ROUTE, replace=True)
        self.recent = rows
        return CampaignListState.follow if _moving(rows) else None

    @rx.event(background=True)
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def follow(self):
        await follow_while(self, self._follow_step)

    async def _follow_step(self) -> bool:
        async with self:
            shown_rows, shown_recent = bool(self.rows), bool(self.recent)
        rows = await self._fetch(50) if shown_rows else []
        recent = await self._fetch(RECENT) if shown_recent else []
        if rows is None or recent is None:
            return False
        async with self:
            if shown_rows:
                self.rows = rows
            if shown_recent:
                self.recent = recent
        return _moving(rows) or _moving(recent)


class CampaignDetailState(AuthState):
    loaded: bool = False
    found: bool = False
    campaign: CampaignView = CampaignView(0, "", "", "", "", "", 0, 0, 0, 0, 0, 0, 0, "")
    subject: str = ""
    body: str = ""
    recipients: list[RecipientView] = []
    page: int = 1
    pages: int = 1
    _following: bool = False

    @rx.var
    def can_cancel(self) -> bool:
        return self.campaign.status == CampaignStatus.SCHEDULED.value

    @rx.var
    def in_progress(self) -> bool:
        return self.campaign.status in ACTIVE

    def _campaign_id(self) -> int:
        raw = route_param(self, "campaign_id")
        return int(raw) if raw.isdigit() else 0

    async def _read(self) -> bool:
        """False without a login."""
        merchant_id = await self._merchant_id()
        if merchant_id is None:
            return False
        campaign_id = self._campaign_id()
        detail = None
        if campaign_id:
            detail = await asyncio.to_thread(campaign_reports.campaign_detail, merchant_id, campaign_id, self.page)
        self.loaded, self.found = True, detail is not None
        if detail is None:
            self.recipients = []
            return True
        self.campaign, self.subject, self.body = view(detail.campaign), detail.subject, detail.body
        self.recipients = [RecipientView(r.customer_id, r.name, r.recipient, r.status, r.reason)
                           for r in detail.recipients]
        self.page, self.pages = detail.page, detail.pages
        return True

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS, page=True)
    async def load(self):
        self.loaded, self.page = False, 1
        if not await self._read():
            return rx.redirect(LOGIN_ROUTE, replace=True)
        return CampaignDetailState.follow if _moving([self.campaign]) else None

    @rx.event(background=True)
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def follow(self):
        """Re-read the counts and this page of recipients while the campaign sends (a
        page of 50 rows: read under the lock, a few milliseconds)."""
        await follow_while(self, self._follow_step)

    async def _follow_step(self) -> bool:
        async with self:
            return await self._read() and _moving([self.campaign])

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def refresh(self):
        if not await self._read():
            return rx.redirect(LOGIN_ROUTE, replace=True)
        return None

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def next_page(self):
        if self.page < self.pages:
            self.page += 1
            if not await self._read():
                return rx.redirect(LOGIN_ROUTE, replace=True)
        return None

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def previous_page(self):
        if self.page > 1:
            self.page -= 1
            if not await self._read():
                return rx.redirect(LOGIN_ROUTE, replace=True)
        return None

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def cancel(self):
        merchant_id = current_login().merchant_id
        try:
            await asyncio.to_thread(campaigns.cancel, merchant_id, self._campaign_id())
        except CampaignError as refusal:
            await self._read()
            return rx.toast.error(str(refusal))
        await self._read()
        return rx.toast.success("Campaign cancelled: nothing was sent.")

