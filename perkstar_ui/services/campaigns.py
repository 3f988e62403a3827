"""Campaigns (issue 11, customers.md §14): check, count, preview, queue now or schedule,
queue due scheduled ones, cancel, test sends. No Reflex.

Queueing writes the campaign and one outbox ``message`` per recipient in ONE transaction
(bulk: ``COPY`` on PostgreSQL, ``executemany`` on SQLite), so a failure queues nothing.
Every recipient gets a row: those who cannot receive it are ``skipped`` with the reason
(no consent, no phone/email, card not installed), never silently left out. A scheduled
campaign stores its audience and is resolved again when due: ``queue_due`` (called by
the worker every minute) claims it with a conditional UPDATE scheduled → queuing, so
with several workers exactly one queues it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from perkstar_ui.config import settings
from perkstar_ui.db.bulk import bulk_insert
from perkstar_ui.db.models import (
    Campaign,
    CardTemplate,
    Customer,
    Merchant,
    Message,
    Segment,
    utcnow,
)
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import campaigns as rules
from perkstar_ui.domain import contacts
from perkstar_ui.domain.campaigns import (
    Audience,
    CampaignError,
    CampaignStatus,
    CheckedMessage,
)
from perkstar_ui.domain.filters import FilterError
from perkstar_ui.domain.messages import Channel, MessageStatus, SkipReason
from perkstar_ui.services import audit, campaign_audience
from perkstar_ui.services.campaign_audience import INSTALLED, Recipient, Target

_MESSAGE = Message.__table__
_MESSAGE_COLUMNS = ["merchant_id", "customer_id", "card_id", "campaign_id", "channel", "recipient", "subject", "body",
                    "status", "reason", "attempts", "next_attempt_at", "created_at"]
NOT_FOUND = "This campaign no longer exists."


@dataclass(frozen=True)
class Draft:
    """What the compose form says; ``send_at`` is the merchant's local time as typed."""

    channel: Channel
    target: Target
    subject: str = ""
    body: str = ""
    send_at: str = ""


@dataclass(frozen=True)
class Queued:
    campaign_id: int
    recipients: int
    queued: int
    skipped: int
    send_at: str = ""  # local time when scheduled, "" when queued now


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    card_note: str  # which card filled the card placeholders, or that none did
    segments: str  # SMS: "2 SMS segments (GSM-7)"


def base_url() -> str:
    """Links in messages point at the first public URL (the one customers can reach)."""
    return settings().public_urls[0].rstrip("/")


def _channel(value: Channel | str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        raise CampaignError("Choose SMS, Email or Push.", "channel") from None


def _timezone(session: Session, merchant_id: int) -> str:
    merchant = session.get(Merchant, merchant_id)
    return merchant.timezone if merchant else "UTC"


def _card_name(session: Session, merchant_id: int, template_id: int | None) -> str:
    if template_id is None:
        return ""
    return session.exec(select(CardTemplate.name).where(CardTemplate.merchant_id == merchant_id,
                                                        CardTemplate.id == int(template_id))).first() or ""


def _check(session: Session, merchant_id: int, draft: Draft, now: dt.datetime) -> tuple[CheckedMessage, dt.datetime | None]:
    """Every refusal before anything is written: message, SMS length, time, audience."""
    channel = _channel(draft.channel)
    checked = rules.check_message(channel, draft.subject, draft.body)
    if channel == Channel.SMS:
        longest = campaign_audience.longest_values(base_url(), _card_name(session, merchant_id, draft.target.template_id))
        rules.check_sms_length(checked.body_template.render(longest))
    send_at = rules.parse_send_at(draft.send_at, _timezone(session, merchant_id), now)
    campaign_audience.audience_ids(session, merchant_id, draft.target)  # a segment gone, no template: refused now
    return checked, send_at


# --- before sending: count and preview ----------------------------------------------------------


def count_recipients(merchant_id: int, target: Target) -> int:
    """Everyone the campaign will list (those who cannot receive it included, as skipped)."""
    with tenant_session(merchant_id) as session:
        return campaign_audience.count(session, merchant_id, target)


def preview_choices(merchant_id: int, target: Target, limit: int = 25) -> list[tuple[int, str]]:
    """The first audience customers, to pick whose preview to show."""
    with tenant_session(merchant_id) as session:
        ids = campaign_audience.audience_ids(session, merchant_id, target)
        rows = session.execute(
            select(Customer.id, Customer.first_name, Customer.last_name)
            .where(Customer.merchant_id == merchant_id, Customer.id.in_(ids)).order_by(Customer.id).limit(limit)
        ).all()
    return [(row.id, contacts.full_name(row.first_name, row.last_name)) for row in rows]


@dataclass(frozen=True)
class PreviewRecipient:
    """What one recipient's message is filled with; kept by the compose form so the
    preview follows typing without a query per keystroke."""

    values: dict[str, str]
    card_note: str  # which card fills the card placeholders, or that none does


def preview_recipient(merchant_id: int, target: Target, channel: Channel | str,
                      customer_id: int) -> PreviewRecipient | None:
    """None when the customer is not in the audience (or not the merchant's)."""
    with tenant_session(merchant_id) as session:
        found = list(campaign_audience.recipients(session, merchant_id, target, _channel(channel),
                                                  only=[int(customer_id)], limit=1))
    if not found:
        return None
    recipient = found[0]
    if recipient.card_id is None:
        note = "No card: card placeholders stay empty."
    else:
        note = f"Card placeholders from {recipient.card_name} ({recipient.serial})."
    return PreviewRecipient(campaign_audience.placeholder_values(recipient, base_url()), note)


def render_preview(channel: Channel | str, subject: str, body: str, recipient: PreviewRecipient) -> Preview:
    """Pure: ``CampaignError`` for a bad message (e.g. an unknown placeholder)."""
    channel = _channel(channel)
    checked = rules.check_message(channel, subject, body)
    filled = checked.body_template.render(recipient.values)
    filled_subject = checked.subject_template.render(recipient.values) if checked.subject_template else ""
    return Preview(filled_subject, filled, recipient.card_note,
                   rules.sms_segments_hint(filled) if channel == Channel.SMS else "")


def preview(merchant_id: int, draft: Draft, customer_id: int) -> Preview | None:
    """The message as ``customer_id`` would get it; None when they are not in the audience."""
    recipient = preview_recipient(merchant_id, draft.target, draft.channel, customer_id)
    return None if recipient is None else render_preview(draft.channel, draft.subject, draft.body, recipient)


# --- queueing -------------------------------------------------------------------------------------


def _deliverability(channel: Channel, recipient: Recipient) -> tuple[str, str | None, str]:
    """(status, skip reason, address) for one recipient."""
    if channel == Channel.PUSH:
        if recipient.card_id is None or recipient.card_status != INSTALLED:
            return MessageStatus.SKIPPED.value, SkipReason.NOT_INSTALLED.value, recipient.serial or ""
        return MessageStatus.QUEUED.value, None, recipient.serial or ""
    if channel == Channel.SMS:
        consent, address, missing = recipient.sms_consent, recipient.phone, SkipReason.NO_PHONE
    else:
        consent, address, missing = recipient.email_consent, recipient.email, SkipReason.NO_EMAIL
    if not consent:
        return MessageStatus.SKIPPED.value, SkipReason.NO_CONSENT.value, address or ""
    if not address:
        return MessageStatus.SKIPPED.value, missing.value, ""
    return MessageStatus.QUEUED.value, None, address


def _queue_messages(session: Session, merchant_id: int, campaign_id: int, channel: Channel, target: Target,
                    checked: CheckedMessage, now: dt.datetime) -> tuple[int, int]:
    """One outbox row per audience customer, inserted in bulk in the session's
    transaction; (queued, skipped). Refuses (before writing) a message too long once filled."""
    base = base_url()
    body_template, subject_template = checked.body_template, checked.subject_template
    rows: list[tuple] = []
    queued = 0
    for recipient in campaign_audience.recipients(session, merchant_id, target, channel):
        values = campaign_audience.placeholder_values(recipient, base)
        body = body_template.render(values)
        subject = subject_template.render(values) if subject_template else None
        if len(body) > rules.MAX_RENDERED or (subject and len(subject) > rules.MAX_SUBJECT):
            name = contacts.full_name(recipient.first_name, recipient.last_name)
            raise CampaignError(f"Filled in for {name}, the message is too long: shorten it.", "message")
        status, reason, address = _deliverability(channel, recipient)
        queued += status == MessageStatus.QUEUED.value
        rows.append((merchant_id, recipient.customer_id, recipient.card_id, campaign_id, channel.value, address,
                     subject, body, status, reason, 0, now, now))
    bulk_insert(session, _MESSAGE, _MESSAGE_COLUMNS, rows)
    return queued, len(rows) - queued


def send(merchant_id: int, draft: Draft, *, staff_user_id: int | None = None, now: dt.datetime | None = None) -> Queued:
    """Queue now (empty ``send_at``) or schedule. All or nothing."""
    now = now or utcnow()
    with tenant_session(merchant_id) as session:
        checked, send_at = _check(session, merchant_id, draft, now)
        channel = _channel(draft.channel)
        campaign = Campaign(
            merchant_id=merchant_id, channel=channel.value, audience=draft.target.audience.value,
            audience_detail=draft.target.detail(), subject=checked.subject, body=checked.body,
            status=(CampaignStatus.SCHEDULED if send_at else CampaignStatus.SENDING).value, send_at=send_at,
            staff_user_id=staff_user_id, created_at=now, queued_at=None if send_at else now,
        )
        session.add(campaign)
        session.flush()
        if send_at:
            recipients = campaign_audience.count(session, merchant_id, draft.target)
            queued = skipped = 0
        else:
            queued, skipped = _queue_messages(session, merchant_id, campaign.id, channel, draft.target, checked, now)
            recipients = queued + skipped
        campaign.recipients = recipients
        session.add(campaign)
        audit.record(merchant_id, audit.Action.CAMPAIGN_SEND, staff_user_id=staff_user_id, session=session, detail={
            "campaign": campaign.id, "channel": channel.value, "recipients": recipients, "queued": queued,
            "scheduled": bool(send_at)})
        session.commit()
        local = rules.local_text(send_at, _timezone(session, merchant_id)) if send_at else ""
        return Queued(campaign.id, recipients, queued, skipped, local)


def _claim(session: Session, merchant_id: int, campaign_id: int, before: CampaignStatus, after: CampaignStatus) -> bool:
    """A conditional UPDATE: true for exactly one caller however many try at once."""
    result = session.execute(
        sa.update(Campaign)
        .where(Campaign.merchant_id == merchant_id, Campaign.id == campaign_id, Campaign.status == before.value)
        .values(status=after.value)
    )
    return result.rowcount == 1


def _queue_scheduled(merchant_id: int, campaign_id: int, now: dt.datetime) -> bool:
    with tenant_session(merchant_id) as session:
        if not _claim(session, merchant_id, campaign_id, CampaignStatus.SCHEDULED, CampaignStatus.QUEUING):
            session.rollback()
            return False  # another worker has it, or it was cancelled
        campaign = session.get(Campaign, campaign_id)
        try:
            channel = _channel(campaign.channel)
            checked = rules.check_message(channel, campaign.subject or "", campaign.body)
            target = Target.from_detail(campaign.audience, campaign.audience_detail or {})
            queued, skipped = _queue_messages(session, merchant_id, campaign_id, channel, target, checked, now)
        except (CampaignError, FilterError) as refusal:
            # Nothing was written but the claim: keep the campaign, say why it did not go.
            campaign.status = CampaignStatus.FAILED.value
            campaign.problem = str(refusal)[:500]
            campaign.recipients = 0
        else:
            campaign.status, campaign.recipients = CampaignStatus.SENDING.value, queued + skipped
        campaign.queued_at = now
        session.add(campaign)
        session.commit()
        return campaign.status == CampaignStatus.SENDING.value


def queue_due(now: dt.datetime | None = None) -> int:
    """Queue every scheduled campaign whose time has come; how many this call queued.
    Safe to call from several workers at once: each campaign is queued exactly once."""
    now = now or utcnow()
    with system_session() as session:
        due = session.execute(
            select(Campaign.id, Campaign.merchant_id)
            .where(Campaign.status == CampaignStatus.SCHEDULED.value, Campaign.send_at <= now)
            .order_by(Campaign.send_at, Campaign.id)
        ).all()
    return sum(_queue_scheduled(merchant_id, campaign_id, now) for campaign_id, merchant_id in due)


def cancel(merchant_id: int, campaign_id: int) -> None:
    """A scheduled campaign → cancelled (nothing was queued for it)."""
    with tenant_session(merchant_id) as session:
        cancelled = _claim(session, merchant_id, int(campaign_id), CampaignStatus.SCHEDULED, CampaignStatus.CANCELLED)
        session.commit()
        if cancelled:
            return
        exists = session.exec(select(Campaign.id).where(Campaign.merchant_id == merchant_id,
                                                        Campaign.id == int(campaign_id))).first()
    raise CampaignError("Only a scheduled campaign can be cancelled; this one is already being sent."
                        if exists else NOT_FOUND)


# --- test sends -------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[,;\n]+")


def test_recipient_ids(merchant_id: int, text: str) -> list[int]:
    """``Test recipients``: emails or phone numbers of existing customers (usually the
    merchant's own staff entered as customers), comma-separated; each must be known."""
    wanted = [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]
    if not wanted:
        raise CampaignError("Name at least one test recipient (their email or phone).", "test")
    if len(wanted) > rules.MAX_TEST_RECIPIENTS:
        raise CampaignError(f"A test goes to at most {rules.MAX_TEST_RECIPIENTS} customers.", "test")
    ids: list[int] = []
    with tenant_session(merchant_id) as session:
        region = session.get(Merchant, merchant_id).default_country
        for contact in wanted:
            if "@" in contact:
                condition = Customer.email == contact.lower()
            else:
                phone = contacts.phone_search_key(contact, lambda: region)
                condition = Customer.phone == phone if phone else sa.false()
            found = session.exec(select(Customer.id).where(Customer.merchant_id == merchant_id, condition)
                                 .order_by(Customer.id)).first()
            if found is None:
                raise CampaignError(f"No customer has the email or phone {contact}.", "test")
            ids.append(found)
    return ids


def test_send(merchant_id: int, draft: Draft, recipients_text: str, *, staff_user_id: int | None = None,
              now: dt.datetime | None = None) -> Queued:
    """The draft, now, to a few named customers (a campaign of audience ``test``).

    Consent still applies: a test is a real message to a real person, and marketing
    rules have no exception for tests; a test recipient without consent is listed as
    skipped with that reason, so the merchant sees why it did not arrive."""
    ids = test_recipient_ids(merchant_id, recipients_text)
    target = Target(Audience.TEST, ids=tuple(ids), template_id=draft.target.template_id)
    return send(merchant_id, Draft(draft.channel, target, draft.subject, draft.body, ""),
                staff_user_id=staff_user_id, now=now)


# --- the compose form's choices -----------------------------------------------------------------------


@dataclass(frozen=True)
class ComposeOptions:
    segments: list[tuple[int, str]]
    templates: list[tuple[int, str]]
    timezone: str


def compose_options(merchant_id: int) -> ComposeOptions:
    """Segments and card templates by name (no counts: the form counts its one audience)."""
    with tenant_session(merchant_id) as session:
        segment_rows = session.execute(select(Segment.id, Segment.name).where(Segment.merchant_id == merchant_id)
                                       .order_by(Segment.name)).all()
        template_rows = session.execute(select(CardTemplate.id, CardTemplate.name)
                                        .where(CardTemplate.merchant_id == merchant_id)
                                        .order_by(CardTemplate.name, CardTemplate.id)).all()
        timezone = _timezone(session, merchant_id)
    return ComposeOptions([tuple(r) for r in segment_rows], [tuple(r) for r in template_rows], timezone)
