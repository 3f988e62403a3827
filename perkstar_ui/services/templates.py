"""Card templates: list, load, create, update (cards.md §0.2–0.3).

Every function takes the merchant id of the logged-in user and works in a
``tenant_session``, so another merchant's template id is simply not found. Settings are
validated with ``domain.card_types.validate_settings`` and stored as its JSON dump; an
edit of an activated template is checked against ``domain.template_rules`` here, not
only by the disabled inputs of the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType, default_settings, validate_settings
from perkstar_ui.domain.signup import JOIN_UTMS
from perkstar_ui.domain.template_form import (
    TemplateFormError,
    describe_validation_error,
    settings_from_form,
)
from perkstar_ui.domain.template_rules import LockedEditError, check_edit, locked_settings
from perkstar_ui.services import audit

NAME_MAX = 120


class TemplateError(ValueError):
    """A refusal with a message for the merchant; ``errors`` maps form fields to messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


@dataclass
class TemplateSummary:
    id: int
    name: str
    card_type: str
    type_label: str
    issued: int
    active: bool
    locked: bool


@dataclass
class TemplateDetail:
    id: int
    name: str
    card_type: str
    type_label: str
    settings: dict
    active: bool
    locked: bool
    issued: int
    # Settings keys that cannot change any more (empty while not activated).
    locked_fields: list[str] = field(default_factory=list)


def _issued_counts(session, template_ids: list[int] | None = None) -> dict[int, int]:  # noqa: ANN001
    statement = select(Card.template_id, sa.func.count(Card.id)).group_by(Card.template_id)
    if template_ids is not None:
        statement = statement.where(Card.template_id.in_(template_ids))
    return {template_id: count for template_id, count in session.exec(statement).all()}


def _is_locked(template: CardTemplate, issued: int) -> bool:
    """Activated by its first issued card (``activated_at``); a card issued without
    setting it still locks the template, since customers hold its promises."""
    return template.activated_at is not None or issued > 0


def _join_issued(session, template_id: int) -> bool:  # noqa: ANN001
    """Whether a card of the template came through the join page (its issuing form locks)."""
    return session.exec(select(Card.id).where(Card.template_id == template_id,
                                              Card.utm.in_(JOIN_UTMS)).limit(1)).first() is not None


def list_templates(merchant_id: int) -> list[TemplateSummary]:
    with tenant_session(merchant_id) as session:
        templates = session.exec(select(CardTemplate).order_by(CardTemplate.created_at, CardTemplate.id)).all()
        counts = _issued_counts(session)
        return [
            TemplateSummary(
                id=t.id, name=t.name, card_type=t.card_type, type_label=CARD_TYPE_LABELS[CardType(t.card_type)],
                issued=counts.get(t.id, 0), active=t.active, locked=_is_locked(t, counts.get(t.id, 0)),
            )
            for t in templates
        ]


def load_template(merchant_id: int, template_id: int) -> TemplateDetail | None:
    with tenant_session(merchant_id) as session:
        template = session.get(CardTemplate, template_id)
        if template is None:
            return None
        issued = _issued_counts(session, [template.id]).get(template.id, 0)
        locked = _is_locked(template, issued)
        card_type = CardType(template.card_type)
        return TemplateDetail(
            id=template.id, name=template.name, card_type=card_type.value, type_label=CARD_TYPE_LABELS[card_type],
            settings=validate_settings(card_type, template.settings).model_dump(mode="json"),
            active=template.active, locked=locked, issued=issued,
            locked_fields=list(locked_settings(card_type, form_locked=_join_issued(session, template.id)))
            if locked else [],
        )


def linkable_templates(merchant_id: int, exclude_id: int | None = None) -> list[tuple[int, str]]:
    """Templates a coupon may convert into: any loyalty card but a coupon (cards.md §6.1)."""
    with tenant_session(merchant_id) as session:
        rows = session.exec(
            select(CardTemplate.id, CardTemplate.name)
            .where(CardTemplate.card_type != CardType.COUPON.value)
            .order_by(CardTemplate.name, CardTemplate.id)
        ).all()
        return [(i, n) for i, n in rows if i != exclude_id]


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise TemplateError("The template needs a name.", {"name": "The template needs a name."})
    if len(name) > NAME_MAX:
        message = f"The template name is too long (at most {NAME_MAX} characters)."
        raise TemplateError(message, {"name": message})
    return name


def _card_type(card_type: str) -> CardType:
    try:
        return CardType(card_type)
    except ValueError:
        raise TemplateError(f"Unknown card type {card_type!r}.", {"card_type": "Choose a card type."}) from None


def _validated(session, card_type: CardType, raw: dict, template_id: int | None) -> dict:  # noqa: ANN001
    try:
        settings = validate_settings(card_type, raw).model_dump(mode="json")
    except ValidationError as error:
        raise TemplateError(describe_validation_error(error)) from None
    linked = settings.get("linked_template_id")
    if card_type == CardType.COUPON and linked is not None:
        target = session.get(CardTemplate, linked)  # tenant-scoped: another merchant's is None
        if target is None or target.id == template_id or target.card_type == CardType.COUPON.value:
            message = "The linked loyalty card must be one of your other templates, not a coupon."
            raise TemplateError(message, {"linked_template_id": message})
    return settings


def create_template(merchant_id: int, name: str, card_type: str, settings: dict | None = None, *,
                    staff_user_id: int | None = None) -> int:
    """A new, not yet activated template; the type's defaults when no settings are given.
    Audited as ``template-create``."""
    name = _clean_name(name)
    kind = _card_type(card_type)
    raw = default_settings(kind).model_dump(mode="json") if settings is None else settings
    with tenant_session(merchant_id) as session:
        stored = _validated(session, kind, raw, None)
        template = CardTemplate(merchant_id=merchant_id, name=name, card_type=kind.value, settings=stored,
                                active=True, activated_at=None)
        session.add(template)
        session.flush()
        audit.record(merchant_id, audit.Action.TEMPLATE_CREATE, staff_user_id=staff_user_id, session=session,
                     detail={"template": template.id, "name": name, "type": kind.value})
        session.commit()
        return template.id


def update_template(
    merchant_id: int,
    template_id: int,
    *,
    name: str,
    settings: dict,
    card_type: str | None = None,
    staff_user_id: int | None = None,
) -> None:
    """Rename and change settings; refuses locked changes of an activated template."""
    name = _clean_name(name)
    with tenant_session(merchant_id) as session:
        # Row lock (PostgreSQL): the check and the write see the same activation state.
        template = session.exec(
            select(CardTemplate).where(CardTemplate.id == template_id).with_for_update()
        ).first()
        if template is None:
            raise TemplateError("This template does not exist.")
        kind = _card_type(card_type or template.card_type)
        stored = _validated(session, kind, settings, template.id)
        issued = _issued_counts(session, [template.id]).get(template.id, 0)
        try:
            check_edit(
                activated=_is_locked(template, issued), old_type=template.card_type, new_type=kind,
                old_settings=template.settings, new_settings=stored, form_locked=_join_issued(session, template.id),
            )
        except LockedEditError as refusal:
            raise TemplateError(str(refusal), {key: "Locked" for key in refusal.fields}) from None
        template.name = name
        template.card_type = kind.value
        template.settings = stored
        session.add(template)
        audit.record(merchant_id, audit.Action.TEMPLATE_UPDATE, staff_user_id=staff_user_id, session=session,
                     detail={"template": template.id, "name": name})
        session.commit()


def save_template_form(merchant_id: int, template_id: int, name: str, form: Mapping[str, object], *,
                       staff_user_id: int | None = None) -> None:
    """Apply the edit form: fields it did not submit (locked, hidden) keep their stored value."""
    detail = load_template(merchant_id, template_id)
    if detail is None:
        raise TemplateError("This template does not exist.")
    try:
        raw = settings_from_form(detail.card_type, detail.settings, form)
    except TemplateFormError as refusal:
        raise TemplateError(str(refusal), refusal.errors) from None
    update_template(merchant_id, template_id, name=name, settings=raw, staff_user_id=staff_user_id)
