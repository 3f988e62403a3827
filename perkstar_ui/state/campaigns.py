"""The compose dialog (issue 11): channel, audience, message with a live preview for one
recipient, the recipient count, a test send, send now or schedule.

The audience is taken from the grid on the server when the dialog opens (its ticked
rows, "all N matching", or its filter and search), never from the browser. The preview
recipient's placeholder values are read once and kept here, so the preview follows
typing without a query per keystroke. Sending is a background event: queueing 100k
rows takes seconds and the tab stays responsive."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.domain import campaigns as rules
from perkstar_ui.domain.campaigns import AUDIENCE_LABELS, Audience, CampaignError
from perkstar_ui.domain.filters import FilterError
from perkstar_ui.domain.messages import CHANNEL_LABELS, Channel
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import campaigns
from perkstar_ui.services.campaign_audience import Target
from perkstar_ui.services.refusals import RecordError
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires
from perkstar_ui.state.campaign_list import CampaignListState
from perkstar_ui.state.customer_grid import GridState

REFUSALS = (CampaignError, FilterError, RecordError)
CHANNELS = [(c.value, CHANNEL_LABELS[c]) for c in Channel]
AUDIENCES = [(a.value, label) for a, label in AUDIENCE_LABELS.items()]


@dataclasses.dataclass
class Option:
    value: str
    label: str


class CampaignComposeState(AuthState):
    open: bool = False
    channel: str = Channel.EMAIL.value
    audience: str = Audience.FILTER.value
    segment_id: str = ""
    template_id: str = ""
    subject: str = ""
    body: str = ""
    send_at: str = ""
    test_recipients: str = ""
    segments: list[Option] = []
    templates: list[Option] = []
    timezone: str = "UTC"
    selected_count: int = 0
    recipients: int = 0
    counting: bool = False  # the audience is being counted
    audience_error: str = ""
    preview_choices: list[Option] = []
    preview_customer: str = ""
    preview_subject: str = ""
    preview_body: str = ""
    preview_note: str = ""
    preview_segments: str = ""
    form_error: str = ""
    sending: bool = False
    test_summary: str = ""
    test_campaign_id: int = 0
    # The grid's audience when the dialog opened (server only).
    _ids: tuple[int, ...] = ()
    _every_match: bool = False
    _filter_json: str = ""
    _search: str = ""
    _preview_values: dict[str, str] = {}

    # --- the audience -----------------------------------------------------------------

    def _target(self) -> Target:
        template_id = int(self.template_id) if self.template_id.isdigit() else None
        audience = Audience(self.audience) if self.audience in {a.value for a in Audience} else Audience.FILTER
        if audience == Audience.SELECTED:
            return Target(audience, ids=self._ids, every_match=self._every_match, filter_json=self._filter_json,
                          search=self._search, template_id=template_id)
        if audience == Audience.FILTER:
            return Target(audience, filter_json=self._filter_json, search=self._search, template_id=template_id)
        if audience == Audience.SEGMENT:
            segment_id = int(self.segment_id) if self.segment_id.isdigit() else None
            return Target(audience, segment_id=segment_id, template_id=template_id)
        return Target(audience, template_id=template_id)

    def _draft(self) -> campaigns.Draft:
        return campaigns.Draft(self.channel, self._target(), self.subject, self.body, self.send_at)

    def _render_preview(self) -> None:
        self.preview_subject = self.preview_body = self.preview_segments = ""
        if not self.preview_customer or not self.body.strip():
            return
        recipient = campaigns.PreviewRecipient(self._preview_values, self.preview_note)
        try:
            shown = campaigns.render_preview(self.channel, self.subject if self.subject.strip() else "-", self.body,
                                             recipient)
        except CampaignError as refusal:
            self.preview_body = str(refusal)
            return
        self.preview_subject = shown.subject if self.subject.strip() else ""
        self.preview_body, self.preview_segments = shown.body, shown.segments

    async def _load_preview(self, merchant_id: int) -> None:
        self._preview_values, self.preview_note = {}, ""
        if self.preview_customer.isdigit():
            found = await asyncio.to_thread(campaigns.preview_recipient, merchant_id, self._target(), self.channel,
                                            int(self.preview_customer))
            if found is not None:
                self._preview_values, self.preview_note = found.values, found.card_note
        self._render_preview()

    async def _refresh_audience(self):
        """Count the audience and pick the first recipient for the preview; the count
        shows a spinner first (the browser sees state only at a yield)."""
        merchant_id = current_login().merchant_id
        self.audience_error, self.counting = "", True
        yield
        target = self._target()
        try:
            self.recipients = await asyncio.to_thread(campaigns.count_recipients, merchant_id, target)
            choices = await asyncio.to_thread(campaigns.preview_choices, merchant_id, target)
        except REFUSALS as refusal:
            self.recipients, self.preview_choices, self.preview_customer = 0, [], ""
            self.audience_error, self.counting = str(refusal), False
            self._render_preview()
            return
        self.counting = False
        self.preview_choices = [Option(str(i), name) for i, name in choices]
        if not any(c.value == self.preview_customer for c in self.preview_choices):
            self.preview_customer = self.preview_choices[0].value if self.preview_choices else ""
        await self._load_preview(merchant_id)

    # --- opening ------------------------------------------------------------------------

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def open_dialog(self):
        """From the grid's actions menu (its selection) or the Communication tab (its filter)."""
        context = current_login()
        grid = await self.get_state(GridState)
        selection = grid._selection()
        self._ids, self._every_match = selection.ids, selection.every_match
        self._filter_json, self._search = grid.filter_json, grid.search
        self.selected_count = grid.selected_count
        options = await asyncio.to_thread(campaigns.compose_options, context.merchant_id)
        self.segments = [Option(str(i), name) for i, name in options.segments]
        self.templates = [Option(str(i), name) for i, name in options.templates]
        self.timezone = options.timezone
        self.audience = Audience.SELECTED.value if self.selected_count else Audience.FILTER.value
        self.channel, self.segment_id, self.template_id = Channel.EMAIL.value, "", ""
        self.subject = self.body = self.send_at = self.test_recipients = ""
        self.form_error = self.test_summary = ""
        self.test_campaign_id = 0
        self.open = True
        async for update in self._refresh_audience():
            yield update

    @rx.event
    @local
    def set_open(self, value: bool):
        if not self.sending:
            self.open = value

    # --- the form -------------------------------------------------------------------------

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def set_channel(self, value: str):
        self.channel = value if value in {c.value for c in Channel} else Channel.EMAIL.value
        async for update in self._refresh_audience():  # push picks an installed card first
            yield update

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def set_audience(self, value: str):
        self.audience = value if value in {a.value for a, _ in AUDIENCE_LABELS.items()} else Audience.FILTER.value
        async for update in self._refresh_audience():
            yield update

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def set_segment(self, value: str):
        self.segment_id = value if any(s.value == value for s in self.segments) else ""
        async for update in self._refresh_audience():
            yield update

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def set_template(self, value: str):
        self.template_id = value if any(t.value == value for t in self.templates) else ""
        async for update in self._refresh_audience():
            yield update

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def set_preview_customer(self, value: str):
        merchant_id = current_login().merchant_id
        if any(c.value == value for c in self.preview_choices):
            self.preview_customer = value
            await self._load_preview(merchant_id)
        return None

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    def set_subject(self, value: str):
        self.subject = str(value)[: rules.MAX_SUBJECT + 50]
        self._render_preview()

    @rx.event
    @requires(Permission.MANAGE_CAMPAIGNS)
    def set_body(self, value: str):
        self.body = str(value)[:2_000]
        self._render_preview()

    @rx.event
    @local
    def set_send_at(self, value: str):
        self.send_at = str(value)[:20]

    @rx.event
    @local
    def set_test_recipients(self, value: str):
        self.test_recipients = str(value)[:500]

    # --- sending --------------------------------------------------------------------------

    @rx.event(background=True)
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def send(self):
        async with self:
            context = current_login()
        async with self:
            if self.sending:
                return  # a double click: the first one is under way
            draft, timezone = self._draft(), self.timezone
            self.sending, self.form_error = True, ""
        try:
            result = await asyncio.to_thread(campaigns.send, context.merchant_id, draft,
                                             staff_user_id=context.staff_user_id)
        except REFUSALS as refusal:
            async with self:
                self.sending, self.form_error = False, f"Nothing was sent: {refusal}"
            return
        except Exception:  # noqa: BLE001  the queueing transaction rolled back
            async with self:
                self.sending, self.form_error = False, "Sending failed: nothing was queued. Try again."
            raise
        async with self:
            self.sending, self.open = False, False
        if result.send_at:
            yield rx.toast.success(f"Scheduled for {result.send_at} ({timezone}): {result.recipients} recipients.")
        else:
            yield rx.toast.success(f"Campaign queued: {result.queued} to send, {result.skipped} skipped.")
        yield CampaignListState.load_recent

    @rx.event(background=True)
    @requires(Permission.MANAGE_CAMPAIGNS)
    async def send_test(self):
        async with self:
            context = current_login()
        async with self:
            if self.sending:
                return
            draft, named = self._draft(), self.test_recipients
            self.sending, self.form_error, self.test_summary = True, "", ""
        try:
            result = await asyncio.to_thread(campaigns.test_send, context.merchant_id, draft, named,
                                             staff_user_id=context.staff_user_id)
        except REFUSALS as refusal:
            async with self:
                self.sending, self.form_error = False, f"No test was sent: {refusal}"
            return
        async with self:
            self.sending, self.test_campaign_id = False, result.campaign_id
            self.test_summary = f"Test: {result.queued} to send, {result.skipped} skipped."
