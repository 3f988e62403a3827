"""Join links on ``/cards`` and the printable poster (``/cards/poster/[template_id]``)."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import join_links
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, requires
from perkstar_ui.state.routing import route_param


class JoinLinksState(rx.State):
    links: dict[str, str] = {}  # template id → its public join URL

    @rx.event
    @requires(Permission.MANAGE_TEMPLATES, silent=True)
    async def load(self):
        origin = self.router.headers.origin or ""
        self.links = await asyncio.to_thread(join_links.join_links, current_login().merchant_id, origin)


class PosterState(AuthState):  # a page: the guard fills the shell's vars and access_denied
    loaded: bool = False
    found: bool = False
    business: str = ""
    card_name: str = ""
    type_label: str = ""
    url: str = ""
    qr: str = ""

    @rx.event
    @requires(Permission.MANAGE_TEMPLATES, page=True)
    async def load(self):
        raw = route_param(self, "template_id")
        origin = self.router.headers.origin or ""
        found = None
        if raw.isdigit() and len(raw) < 12:
            found = await asyncio.to_thread(join_links.poster, current_login().merchant_id, int(raw), origin)
        self.loaded, self.found = True, found is not None
        if found is not None:
            self.business, self.card_name, self.type_label = found.business, found.card_name, found.type_label
            self.url, self.qr = found.url, found.qr_svg_data_uri


@dataclasses.dataclass
class IssuingRowView:
    key: str
    label: str
    mode: str
    unique: bool
    can_be_unique: bool
    fixed: bool


class IssuingFormState(rx.State):
    """The template edit dialog's "Issuing form" section: which fields the join page asks."""

    rows: list[IssuingRowView] = []
    version: int = 0  # remounts the uncontrolled selects with the stored values

    @rx.event
    @requires(Permission.MANAGE_TEMPLATES, silent=True)
    async def load(self, template_id: int):
        rows = await asyncio.to_thread(join_links.issuing_rows, current_login().merchant_id, int(template_id or 0))
        self.rows = [IssuingRowView(r.key, r.label, r.mode, r.unique, r.can_be_unique, r.fixed) for r in rows]
        self.version += 1
