"""Join links and posters of card templates (issue 14): every template has a public join
code; ``/cards`` shows its link and a printable poster with the link's QR code."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from perkstar_ui.db.models import CardTemplate, Merchant
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType
from perkstar_ui.domain.signup import CUSTOM_PREFIX, IDENTIFYING, STANDARD_LABELS, StandardField
from perkstar_ui.services.cards import settings_of
from perkstar_ui.services.custom_fields import list_custom_fields_in
from perkstar_ui.services.public_card import qr_data_uri

JOIN_PATH = "/join/"


@dataclass(frozen=True)
class Poster:
    business: str
    card_name: str
    type_label: str
    url: str
    qr_svg_data_uri: str


@dataclass(frozen=True)
class IssuingRow:
    key: str  # StandardField value or "cf:<custom key>"
    label: str
    mode: str  # off / optional / required (domain.template_form.ISSUING_MODES)
    unique: bool
    can_be_unique: bool  # phone and email only
    fixed: bool  # the names: always required


def issuing_rows(merchant_id: int, template_id: int) -> list[IssuingRow]:
    """The template's join form as editable rows: its fields in order, then every other
    standard and custom field (not asked)."""
    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.id == template_id,
                                                            CardTemplate.merchant_id == merchant_id)).first()
        if template is None:
            return []
        labels = {f.value: STANDARD_LABELS[f] for f in StandardField}
        labels |= {f"{CUSTOM_PREFIX}{d.key}": d.label for d in list_custom_fields_in(session)}
        form = settings_of(template.card_type, template.settings).issuing_form
    fixed = {StandardField.FIRST_NAME.value, StandardField.LAST_NAME.value}
    rows = [IssuingRow(f.key, labels[f.key], "required" if f.required else "optional", f.unique,
                       f.key in IDENTIFYING, f.key in fixed) for f in form.fields if f.key in labels]
    asked = {row.key for row in rows}
    rows += [IssuingRow(key, label, "off", False, key in IDENTIFYING, key in fixed)
             for key, label in labels.items() if key not in asked]
    return rows


def join_url(origin: str, join_code: str) -> str:
    return f"{(origin or '').rstrip('/')}{JOIN_PATH}{join_code}"


def join_links(merchant_id: int, origin: str) -> dict[str, str]:
    """Each template's join URL by template id (as text)."""
    with tenant_session(merchant_id) as session:
        rows = session.exec(select(CardTemplate.id, CardTemplate.join_code)).all()
    return {str(template_id): join_url(origin, code) for template_id, code in rows}


def poster(merchant_id: int, template_id: int, origin: str) -> Poster | None:
    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.id == template_id,
                                                            CardTemplate.merchant_id == merchant_id)).first()
        if template is None:
            return None
        business = session.get(Merchant, merchant_id).name
    url = join_url(origin, template.join_code)
    return Poster(business, template.name, CARD_TYPE_LABELS[CardType(template.card_type)], url, qr_data_uri(url))
