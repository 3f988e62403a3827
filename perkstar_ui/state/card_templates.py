"""``/cards``: the merchant's card templates, the create dialog and the edit dialog.

The edit form is uncontrolled (one submit, like the customer form); only the selects
that show or hide other inputs are bound to ``values``. Row lists (milestones, tiers,
levels) carry a stable ``key`` so adding or removing a row keeps what was typed in the
others. The service re-checks the lock rule: disabled inputs are a courtesy only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools

import reflex as rx
from reflex_base.utils.form import FormData

from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, BalanceUnit, CardType
from perkstar_ui.domain.template_form import LIST_FIELDS, form_rows, form_values, referral_unit
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import templates as svc
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires

MAX_DISCOUNT_TIERS = 6
MAX_CASHBACK_TIERS = 10
_ROW_KEYS = itertools.count(1)  # unique per process: React keys of the form's rows

REWARD_UNIT_HINTS = {
    BalanceUnit.COUNT: "whole number",
    BalanceUnit.CENTS: "amount, e.g. 5.00",
    BalanceUnit.CENTIPOINTS: "points, e.g. 10",
    BalanceUnit.NONE: "whole number",
}


def _key() -> str:
    return f"r{next(_ROW_KEYS)}"


@dataclasses.dataclass
class TemplateRow:
    id: int
    name: str
    card_type: str
    type_label: str
    issued: int
    status: str  # Locked / Active / Inactive


@dataclasses.dataclass
class MilestoneRow:
    key: str
    value: str = ""


@dataclasses.dataclass
class TierRow:
    """A spend tier (cashback, discount) or a membership tier."""

    key: str
    name: str = ""
    threshold: str = ""
    percent: str = ""
    price: str = ""
    limit: str = ""


@dataclasses.dataclass
class LevelRow:
    key: str
    name: str = ""
    points: str = ""
    kind: str = "gift"
    usage: str = "none"


@dataclasses.dataclass
class LinkOption:
    id: str
    name: str


class CardTemplatesState(AuthState):
    templates: list[TemplateRow] = []

    # Create dialog.
    create_open: bool = False
    create_type: str = CardType.STAMP.value
    create_error: str = ""

    # Edit dialog.
    edit_open: bool = False
    editing_id: int = 0
    edit_name: str = ""
    edit_type: str = ""
    edit_type_label: str = ""
    locked: bool = False
    locked_fields: list[str] = []
    values: dict[str, str] = {}
    milestones: list[MilestoneRow] = []
    tiers: list[TierRow] = []
    levels: list[LevelRow] = []
    link_options: list[LinkOption] = []
    reward_hint: str = ""
    form_error: str = ""
    saving: bool = False

    @rx.var
    def max_tiers(self) -> int:
        return MAX_DISCOUNT_TIERS if self.edit_type == CardType.DISCOUNT.value else MAX_CASHBACK_TIERS

    async def _reload(self, merchant_id: int) -> None:
        rows = await asyncio.to_thread(svc.list_templates, merchant_id)
        self.templates = [
            TemplateRow(r.id, r.name, r.card_type, r.type_label, r.issued,
                        "Locked" if r.locked else ("Active" if r.active else "Inactive"))
            for r in rows
        ]

    @rx.event
    @requires(Permission.MANAGE_TEMPLATES, page=True)
    async def load(self):
        merchant_id = current_login().merchant_id
        self.create_open = self.edit_open = False
        await self._reload(merchant_id)
        return None

    # --- create -------------------------------------------------------------------

    @rx.event
    @local
    def open_create(self):
        self.create_type = CardType.STAMP.value
        self.create_error = ""
        self.create_open = True

    @rx.event
    @local
    def set_create_open(self, value: bool):
        self.create_open = value

    @rx.event
    @local
    def set_create_type(self, value: str):
        self.create_type = value

    @rx.event
    @requires(Permission.MANAGE_TEMPLATES)
    async def create(self, form_data: dict):
        merchant_id = current_login().merchant_id
        try:
            template_id = await asyncio.to_thread(
                svc.create_template, merchant_id, str(form_data.get("name", "")), self.create_type,
                staff_user_id=current_login().staff_user_id,
            )
        except svc.TemplateError as refusal:
            self.create_error = str(refusal)
            return None
        self.create_open = False
        await self._reload(merchant_id)
        await self._open_editor(merchant_id, template_id)  # the editor opening is the confirmation
        return None

    # --- edit ---------------------------------------------------------------------

    async def _open_editor(self, merchant_id: int, template_id: int) -> bool:
        detail = await asyncio.to_thread(svc.load_template, merchant_id, template_id)
        if detail is None:
            return False
        links = []
        if detail.card_type == CardType.COUPON.value:
            options = await asyncio.to_thread(svc.linkable_templates, merchant_id, detail.id)
            links = [LinkOption(str(i), name) for i, name in options]
        rows = form_rows(detail.card_type, detail.settings)
        self.editing_id = detail.id
        self.edit_name = detail.name
        self.edit_type = detail.card_type
        self.edit_type_label = detail.type_label
        self.locked = detail.locked
        self.locked_fields = detail.locked_fields
        self.values = form_values(detail.card_type, detail.settings)
        self.milestones = [MilestoneRow(_key(), r["value"]) for r in rows.get("milestones", [])]
        self.tiers = [TierRow(_key(), **r) for r in rows.get("tiers", [])]
        self.levels = [LevelRow(_key(), **r) for r in rows.get("levels", [])]
        self.link_options = links
        self.reward_hint = REWARD_UNIT_HINTS[referral_unit(detail.card_type)]
        self.form_error = ""
        self.saving = False
        self.edit_open = True
        return True

    @rx.event
    @requires(Permission.MANAGE_TEMPLATES)
    async def open_edit(self, template_id: int):
        merchant_id = current_login().merchant_id
        if not await self._open_editor(merchant_id, template_id):
            await self._reload(merchant_id)
            return rx.toast.error("This template no longer exists.", position="top-center")
        return None

    @rx.event
    @local
    def set_edit_open(self, value: bool):
        self.edit_open = value

    @rx.event
    @local
    def set_value(self, key: str, value: str):
        """The selects that show or hide other inputs."""
        if key in ("expiration_mode", "stamp_life", "mechanic", "membership_mode"):
            self.values = self.values | {key: str(value)}

    @rx.event
    @local
    def add_milestone(self):
        self.milestones = self.milestones + [MilestoneRow(_key())]

    @rx.event
    @local
    def remove_milestone(self, key: str):
        self.milestones = [r for r in self.milestones if r.key != key]

    @rx.event
    @local
    def add_tier(self):
        if len(self.tiers) < self.max_tiers:
            self.tiers = self.tiers + [TierRow(_key())]

    @rx.event
    @local
    def remove_tier(self, key: str):
        self.tiers = [r for r in self.tiers if r.key != key]

    @rx.event
    @local
    def add_level(self):
        self.levels = self.levels + [LevelRow(_key())]

    @rx.event
    @local
    def remove_level(self, key: str):
        self.levels = [r for r in self.levels if r.key != key]

    @rx.event
    @requires(Permission.MANAGE_TEMPLATES)
    async def save(self, form_data: FormData):
        merchant_id = current_login().merchant_id
        form = {key: (form_data.getlist(key) if key in LIST_FIELDS else form_data[key]) for key in form_data}
        name = str(form.pop("name", ""))
        self.edit_name = name
        self.saving = True
        yield
        try:
            await asyncio.to_thread(svc.save_template_form, merchant_id, self.editing_id, name, form,
                                    staff_user_id=current_login().staff_user_id)
        except svc.TemplateError as refusal:
            self.form_error = str(refusal)
            self.saving = False
            return
        self.saving = False
        self.edit_open = False
        await self._reload(merchant_id)
        yield rx.toast.success("Template saved.", position="top-center")


TYPE_OPTIONS = [(t.value, CARD_TYPE_LABELS[t]) for t in CardType]
