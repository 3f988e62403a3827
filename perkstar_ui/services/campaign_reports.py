"""What /campaigns and a campaign's page show (no Reflex): counts by status straight from
the outbox (one GROUP BY campaign, status), progress, and each recipient's status and reason."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from perkstar_ui.db.models import Campaign, Customer, Merchant, Message
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import campaigns as rules
from perkstar_ui.domain.campaigns import AUDIENCE_LABELS, Audience, CampaignStatus
from perkstar_ui.domain.contacts import full_name
from perkstar_ui.domain.messages import CHANNEL_LABELS, COUNTED_STATUSES, Channel, MessageStatus

RECIPIENTS_PAGE = 50
TEST_LABEL = "Test"


@dataclass(frozen=True)
class CampaignRow:
    id: int
    name: str  # the subject, or the message's first 40 characters
    channel: str  # label
    audience: str  # label
    status: str  # scheduled / queuing / sending / done / cancelled / failed
    created: str  # merchant's local time
    send_at: str  # local time when scheduled
    counts: dict[str, int]  # by COUNTED_STATUSES value
    total: int
    progress: int  # percent
    problem: str = ""  # why a due campaign could not be queued


@dataclass(frozen=True)
class RecipientRow:
    customer_id: int
    name: str
    recipient: str
    status: str
    reason: str


@dataclass(frozen=True)
class CampaignDetail:
    campaign: CampaignRow
    subject: str
    body: str
    recipients: list[RecipientRow]
    page: int
    pages: int


def _counts(session: Session, merchant_id: int, campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {i: {} for i in campaign_ids}
    if not campaign_ids:
        return counts
    rows = session.execute(
        select(Message.campaign_id, Message.status, sa.func.count())
        .where(Message.merchant_id == merchant_id, Message.campaign_id.in_(campaign_ids))
        .group_by(Message.campaign_id, Message.status)
    ).all()
    for campaign_id, status, number in rows:
        counts[campaign_id][status] = number
    return counts


def _row(campaign: Campaign, counts: dict[str, int], timezone: str) -> CampaignRow:
    total = sum(counts.values())
    waiting = counts.get(MessageStatus.QUEUED.value, 0)
    status = campaign.status
    if status == CampaignStatus.SENDING.value and waiting == 0:
        status = rules.DONE
    audience = TEST_LABEL if campaign.audience == Audience.TEST.value else AUDIENCE_LABELS.get(
        Audience(campaign.audience), campaign.audience)
    return CampaignRow(
        id=campaign.id, name=rules.campaign_name(campaign.subject, campaign.body),
        channel=CHANNEL_LABELS.get(Channel(campaign.channel), campaign.channel), audience=audience, status=status,
        created=rules.local_text(campaign.created_at, timezone), send_at=rules.local_text(campaign.send_at, timezone),
        counts={s.value: counts.get(s.value, 0) for s in COUNTED_STATUSES},
        total=total if total else campaign.recipients, progress=rules.progress(total - waiting, total) if total else 0,
        problem=campaign.problem or "",
    )


def _timezone(session: Session, merchant_id: int) -> str:
    merchant = session.get(Merchant, merchant_id)
    return merchant.timezone if merchant else "UTC"


def list_campaigns(merchant_id: int, limit: int = 50, *, include_tests: bool = False) -> list[CampaignRow]:
    """Newest first. Test sends are left out unless asked for: they are not campaigns
    the merchant ran, and their page is linked from the compose dialog."""
    with tenant_session(merchant_id) as session:
        statement = select(Campaign).where(Campaign.merchant_id == merchant_id)
        if not include_tests:
            statement = statement.where(Campaign.audience != Audience.TEST.value)
        campaigns = session.exec(statement.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(limit)).all()
        counts = _counts(session, merchant_id, [c.id for c in campaigns])
        timezone = _timezone(session, merchant_id)
    return [_row(c, counts[c.id], timezone) for c in campaigns]


def campaign_detail(merchant_id: int, campaign_id: int, page: int = 1,
                    page_size: int = RECIPIENTS_PAGE) -> CampaignDetail | None:
    """The campaign and one page of its recipients (by customer); None if it is not the
    merchant's."""
    with tenant_session(merchant_id) as session:
        campaign = session.exec(
            select(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == int(campaign_id))
        ).first()
        if campaign is None:
            return None
        counts = _counts(session, merchant_id, [campaign.id])[campaign.id]
        total = sum(counts.values())
        pages = max(1, -(-total // page_size))
        page = min(max(1, int(page)), pages)
        rows = session.execute(
            select(Message.customer_id, Customer.first_name, Customer.last_name, Message.recipient, Message.status,
                   Message.reason)
            .join(Customer, sa.and_(Customer.id == Message.customer_id, Customer.merchant_id == merchant_id))
            .where(Message.merchant_id == merchant_id, Message.campaign_id == campaign.id)
            .order_by(Message.customer_id, Message.id)
            .offset((page - 1) * page_size).limit(page_size)
        ).all()
        timezone = _timezone(session, merchant_id)
    recipients = [RecipientRow(r.customer_id, full_name(r.first_name, r.last_name), r.recipient or "", r.status,
                               r.reason or "") for r in rows]
    return CampaignDetail(_row(campaign, counts, timezone), campaign.subject or "", campaign.body, recipients, page,
                          pages)
