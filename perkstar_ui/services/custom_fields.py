"""The merchant's custom customer fields: list, add, rename, reorder, remove. Every change
is audited as ``custom-field-update`` (detail ``change``: added, renamed, moved, removed)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import (
    CustomFieldDefinition,
    CustomFieldValue,
)
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.services import audit
from perkstar_ui.services.refusals import RecordError


@dataclass
class CustomFieldView:
    id: int
    key: str
    label: str
    field_type: str
    choices: list[str]
    position: int


def list_custom_fields_in(session) -> list[CustomFieldView]:  # noqa: ANN001
    return [
        CustomFieldView(d.id, d.key, d.label, d.field_type, list(d.choices or []), d.position)
        for d in session.exec(
            select(CustomFieldDefinition).order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
        ).all()
    ]


def list_custom_fields(merchant_id: int) -> list[CustomFieldView]:
    with tenant_session(merchant_id) as session:
        return list_custom_fields_in(session)


def _audit(session, merchant_id: int, staff_user_id: int | None, change: str, key: str, **detail) -> None:  # noqa: ANN001, ANN003
    audit.record(merchant_id, audit.Action.CUSTOM_FIELD_UPDATE, staff_user_id=staff_user_id, session=session,
                 detail={"change": change, "field": key, **detail})


def add_custom_field(merchant_id: int, label: str, field_type: str, choices: list[str] | None = None, *,
                     staff_user_id: int | None = None) -> int:
    label = " ".join(label.split())
    if not label:
        raise RecordError("The field needs a name.")
    if field_type not in contacts.FIELD_TYPES:
        raise RecordError(f"Unknown field type {field_type!r}.")
    choices = [c.strip() for c in (choices or []) if c.strip()]
    if field_type == "choice" and not choices:
        raise RecordError("A choice field needs at least one choice.")
    try:
        key = contacts.field_key(label)
    except ValueError as error:
        raise RecordError(str(error)) from None
    with tenant_session(merchant_id) as session:
        existing = list_custom_fields_in(session)
        if any(f.key == key or f.label.lower() == label.lower() for f in existing):
            raise RecordError(f"A field named “{label}” already exists.")
        definition = CustomFieldDefinition(
            key=key, label=label, field_type=field_type, choices=choices if field_type == "choice" else [],
            position=max((f.position for f in existing), default=-1) + 1,
        )
        session.add(definition)
        _audit(session, merchant_id, staff_user_id, "added", key, label=label, type=field_type)
        session.commit()
        return definition.id


def rename_custom_field(merchant_id: int, field_id: int, label: str, *, staff_user_id: int | None = None) -> None:
    """Only the display name changes; the key (test ids, CSV column) stays stable."""
    label = " ".join(label.split())
    if not label:
        raise RecordError("The field needs a name.")
    with tenant_session(merchant_id) as session:
        definition = session.get(CustomFieldDefinition, field_id)
        if definition is None:
            raise RecordError("That field no longer exists.")
        clash = session.exec(
            select(CustomFieldDefinition.id).where(
                sa.func.lower(CustomFieldDefinition.label) == label.lower(), CustomFieldDefinition.id != field_id
            )
        ).first()
        if clash:
            raise RecordError(f"A field named “{label}” already exists.")
        before, definition.label = definition.label, label
        session.add(definition)
        if before != label:
            _audit(session, merchant_id, staff_user_id, "renamed", definition.key, **{"from": before, "to": label})
        session.commit()


def move_custom_field(merchant_id: int, field_id: int, offset: int, *, staff_user_id: int | None = None) -> None:
    with tenant_session(merchant_id) as session:
        definitions = session.exec(
            select(CustomFieldDefinition).order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
        ).all()
        index = next((i for i, d in enumerate(definitions) if d.id == field_id), None)
        if index is None:
            raise RecordError("That field no longer exists.")
        target = min(max(index + offset, 0), len(definitions) - 1)
        moved = definitions.pop(index)
        definitions.insert(target, moved)
        for position, definition in enumerate(definitions):
            definition.position = position
            session.add(definition)
        if target != index:
            _audit(session, merchant_id, staff_user_id, "moved", moved.key, position=target + 1)
        session.commit()


def remove_custom_field(merchant_id: int, field_id: int, *, staff_user_id: int | None = None) -> None:
    with tenant_session(merchant_id) as session:
        definition = session.get(CustomFieldDefinition, field_id)
        if definition is None:
            return
        key, label = definition.key, definition.label
        session.execute(sa.delete(CustomFieldValue).where(CustomFieldValue.field_id == field_id))
        session.execute(sa.delete(CustomFieldDefinition).where(CustomFieldDefinition.id == field_id))
        _audit(session, merchant_id, staff_user_id, "removed", key, label=label)
        session.commit()
