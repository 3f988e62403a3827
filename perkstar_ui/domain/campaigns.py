"""Campaign rules (issue 11), pure: placeholders and rendering, SMS segments, message and
schedule checks. No database and no Reflex; ``services.campaigns`` applies them."""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from perkstar_ui.domain.messages import Channel


class Placeholder(str, enum.Enum):
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    BALANCE = "balance"
    INSTALL_LINK = "install_link"
    REFERRAL_LINK = "referral_link"
    CARD_NAME = "card_name"


PLACEHOLDERS = tuple(p.value for p in Placeholder)
# Placeholders filled from the recipient's card: empty for a customer without one.
CARD_PLACEHOLDERS = frozenset({Placeholder.BALANCE, Placeholder.INSTALL_LINK, Placeholder.REFERRAL_LINK,
                               Placeholder.CARD_NAME})


class Audience(str, enum.Enum):
    SELECTED = "selected"  # the grid's ticked rows, or every match of its filter
    FILTER = "filter"  # the grid's current filter and search
    SEGMENT = "segment"  # a saved segment, evaluated when the campaign is queued
    TEMPLATE = "template"  # every holder of a live card of one template
    TEST = "test"  # a few customers the merchant named


AUDIENCE_LABELS = {Audience.SELECTED: "Selected customers", Audience.FILTER: "Current filter",
                   Audience.SEGMENT: "Segment", Audience.TEMPLATE: "Card holders"}


class CampaignStatus(str, enum.Enum):
    SCHEDULED = "scheduled"  # waiting for send_at; no messages yet
    QUEUING = "queuing"  # a worker claimed it and is writing its messages
    SENDING = "sending"  # messages written; the outbox delivers them
    CANCELLED = "cancelled"  # cancelled while scheduled: nothing was queued
    FAILED = "failed"  # its audience could not be resolved when due (e.g. segment deleted)


# What the lists show: "sending" turns "done" once no message is waiting.
DONE = "done"

MAX_SMS_SEGMENTS = 10
MAX_SUBJECT = 200
MAX_BODY = {Channel.SMS: 1_600, Channel.EMAIL: 1_500, Channel.PUSH: 500}
MAX_RENDERED = 2_000  # the outbox column; a filled-in message longer than this is refused
MAX_TEST_RECIPIENTS = 5

_TOKEN = re.compile(r"\{([^{}]*)\}")

# GSM 03.38: the basic set (one septet) and the extension table (escape + septet = two).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


class CampaignError(ValueError):
    """A refusal for the compose form; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# --- placeholders -------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A message split once into literal text and placeholders, so filling it for 100k
    recipients is a join per row, not a regex per row."""

    parts: tuple[tuple[bool, str], ...]  # (is_placeholder, literal text or placeholder name)

    @property
    def used(self) -> frozenset[str]:
        return frozenset(text for is_placeholder, text in self.parts if is_placeholder)

    def render(self, values: Mapping[str, str]) -> str:
        return "".join(values.get(text, "") if is_placeholder else text for is_placeholder, text in self.parts)


def parse(template: str) -> Template:
    """``CampaignError`` naming the first unknown placeholder."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _TOKEN.finditer(template):
        name = match.group(1).strip()
        if name not in PLACEHOLDERS:
            known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise CampaignError(f"Unknown placeholder {{{match.group(1)}}}: use {known}.", "message")
        if match.start() > position:
            parts.append((False, template[position:match.start()]))
        parts.append((True, name))
        position = match.end()
    if position < len(template):
        parts.append((False, template[position:]))
    return Template(tuple(parts))


def render(template: str, values: Mapping[str, str]) -> str:
    return parse(template).render(values)


# --- SMS segments -------------------------------------------------------------------------


def is_gsm7(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def _pack(units: list[int], single: int, per_part: int) -> int:
    """Segments for characters of the given widths: one part holds ``single`` units; a
    longer message is split into parts of ``per_part`` (the rest is the concatenation
    header), never splitting one character's units across two parts."""
    total = sum(units)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for width in units:
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts


def sms_encoding(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def sms_segments(text: str) -> int:
    """GSM-7: 160 septets, 153 a part, extension characters count two; any other
    character makes the whole message UCS-2: 70 UTF-16 units, 67 a part."""
    if is_gsm7(text):
        return _pack([2 if ch in GSM_EXTENSION else 1 for ch in text], 160, 153)
    return _pack([2 if ord(ch) > 0xFFFF else 1 for ch in text], 70, 67)


def sms_segments_hint(text: str) -> str:
    segments = sms_segments(text)
    return f"{segments} SMS segment{'s' if segments != 1 else ''} ({sms_encoding(text)})" if text else ""


# --- the message --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedMessage:
    subject: str | None  # email only
    body: str
    subject_template: Template | None
    body_template: Template


def check_message(channel: Channel, subject: str, body: str) -> CheckedMessage:
    """The cleaned subject (email only; placeholders allowed there too) and body."""
    body = (body or "").strip()
    if not body:
        raise CampaignError("Write the message.", "message")
    limit = MAX_BODY[channel]
    if len(body) > limit:
        raise CampaignError(f"A {channel.value} message can be at most {limit} characters.", "message")
    body_template = parse(body)
    if channel != Channel.EMAIL:
        return CheckedMessage(None, body, None, body_template)
    cleaned_subject = " ".join((subject or "").split())
    if not cleaned_subject:
        raise CampaignError("An email needs a subject.", "subject")
    if len(cleaned_subject) > MAX_SUBJECT:
        raise CampaignError(f"A subject can be at most {MAX_SUBJECT} characters.", "subject")
    try:
        subject_template = parse(cleaned_subject)
    except CampaignError as error:
        raise CampaignError(str(error), "subject") from None
    return CheckedMessage(cleaned_subject, body, subject_template, body_template)


def check_sms_length(rendered: str) -> None:
    segments = sms_segments(rendered)
    if segments > MAX_SMS_SEGMENTS:
        raise CampaignError(
            f"This SMS would take {segments} segments ({sms_encoding(rendered)}); the maximum is {MAX_SMS_SEGMENTS}.",
            "message")


# --- when ---------------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_send_at(text: str, timezone: str, now: dt.datetime) -> dt.datetime | None:
    """``Send at`` as typed (``YYYY-MM-DDTHH:MM``, the merchant's local time) → UTC;
    empty → None (now). A moment not after ``now`` is refused."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        local = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise CampaignError("Send at: give a date and time, e.g. 2026-12-24T09:00.", "send_at") from error
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone(timezone))
    moment = local.astimezone(dt.timezone.utc)
    if moment <= now:
        raise CampaignError("Send at is in the past: leave it empty to send now, or pick a later time.", "send_at")
    if moment > now + dt.timedelta(days=366):
        raise CampaignError("Send at can be at most a year ahead.", "send_at")
    return moment


def local_text(moment: dt.datetime | None, timezone: str) -> str:
    """A UTC moment as the merchant reads it: ``2026-12-24 09:00``."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M")


def campaign_name(subject: str | None, body: str) -> str:
    """The contract's ``data-campaign-name``: the subject, or the message's first 40 characters."""
    return subject if subject else body[:40]


def progress(done: int, total: int) -> int:
    """Percent of messages no longer waiting, rounded down (100 only when all are done)."""
    return 100 if total == 0 else math.floor(100 * done / total)
