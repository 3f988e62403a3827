"""What the outbox worker hands a provider and gets back (no Reflex, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from perkstar_ui.domain.messages import Channel


@dataclass(frozen=True)
class Outbound:
    """One claimed outbox row, ready to send."""

    id: int
    merchant_id: int
    merchant_name: str
    channel: Channel
    recipient: str  # E.164 phone, email address, or (push) the card's serial
    subject: str | None
    body: str
    customer_id: int | None = None
    card_id: int | None = None
    unsubscribe_url: str = ""  # email: the one-click link (RFC 8058) and the footer link


@dataclass(frozen=True)
class SendResult:
    id: int
    accepted: bool
    provider_message_id: str | None = None
    error: str = ""  # why not accepted, for the merchant
    permanent: bool = False  # True: retrying cannot help (e.g. HTTP 400), fail at once


class Provider(Protocol):
    channel: Channel

    def configured(self) -> bool:
        """False when the environment names no server: messages are skipped with
        ``SkipReason.NO_PROVIDER``, never silently dropped."""

    def send_batch(self, messages: list[Outbound]) -> list[SendResult]:
        """Send each message (one connection reused across the batch); one result each,
        in order. Never raises for a single message's failure."""
