"""Names for messages (issue 11): channels, outbox statuses, why a message was skipped.
No database and no Reflex; the campaign rules (placeholders, SMS segments) live beside."""

from __future__ import annotations

import enum


class Channel(str, enum.Enum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


CHANNEL_LABELS = {Channel.SMS: "SMS", Channel.EMAIL: "Email", Channel.PUSH: "Push"}


class MessageStatus(str, enum.Enum):
    QUEUED = "queued"  # waiting for a worker (also between retries)
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider says it arrived (SMS status callback)
    FAILED = "failed"  # gave up: permanent error or too many attempts; ``reason`` says why
    SKIPPED = "skipped"  # never sendable; ``reason`` says why
    CANCELLED = "cancelled"  # its scheduled campaign was cancelled


# The counts a campaign shows, in this order (contract: campaign-count-<status>).
COUNTED_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED,
                    MessageStatus.SKIPPED)


class SkipReason(str, enum.Enum):
    NO_CONSENT = "no consent"
    NO_PHONE = "no phone number"
    NO_EMAIL = "no email address"
    NOT_INSTALLED = "card not installed"
    NO_PROVIDER = "not sent: no provider"
    INVITE_CLOSED = "invitation no longer valid"  # revoked, replaced, accepted or expired before sending
