"""The delivery engine: workers drain the ``message`` outbox through the providers.

Whatever decides to send (a campaign, bulk issue, a single push) writes ``queued`` rows in
its own transaction; this module is the only reader. Across every merchant, in a
``system_session``:

1. **Claim** a batch with a lease: due ``queued`` rows whose lease is free or ran out get
   ``claimed_by`` = this worker, ``claimed_until`` = now + lease and one more attempt, in
   one short transaction. PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent
   workers take disjoint rows without waiting; SQLite: ``BEGIN IMMEDIATE`` (one writer).
2. **Send** through the channel's provider, a chunk at a time.
3. **Record** each chunk's results at once: ``sent`` only after the provider accepted;
   a failure goes back to ``queued`` with exponential back-off until the last attempt,
   then ``failed``; a permanent error (HTTP 400, SMTP 5xx) fails at once. Every update
   names this worker's claim, so a worker whose lease ran out cannot overwrite another's.

A channel without a configured provider is ``skipped`` with ``SkipReason.NO_PROVIDER``
(visible on the campaign, never silently dropped). A campaign message whose customer has
withdrawn consent since it was queued is ``skipped`` with ``SkipReason.NO_CONSENT``. A staff
invitation's link is minted in the claim (``staff_invites.links_for_messages``) and put only
into the email sent; one whose invitation closed meanwhile is ``skipped`` (``INVITE_CLOSED``).

Guarantee: at least once, and exactly once unless a worker dies. A worker killed
mid-batch loses nothing (its leases run out and another worker claims the rows again), but
the messages the provider accepted in the chunk it had not yet recorded are sent once
more: at most ``RECORD_EVERY`` messages per killed worker. Two live workers never claim
one row (the claim is a row lock / the single writer), and a batch renews the lease on
each chunk before sending it (sending only the rows still its own) and stops at half the
lease, so a slow provider cannot make two live workers send one message.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from perkstar_ui.config import Settings, settings
from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.models import Customer, Merchant, Message, utcnow
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain.messages import Channel, MessageStatus, SkipReason
from perkstar_ui.services import consent, staff_invites
from perkstar_ui.services.providers.base import Outbound, Provider, SendResult

# Results are committed after every this many messages: the most a killed worker can
# make us send twice (see the module docstring), against one commit per chunk.
RECORD_EVERY = 20
MAX_RETRY_DELAY = dt.timedelta(hours=6)

log = logging.getLogger(__name__)

_MESSAGE = Message.__table__
_MERCHANT = Merchant.__table__
_CUSTOMER = Customer.__table__
_QUEUED = MessageStatus.QUEUED.value
_CONSENT = {Channel.SMS.value: _CUSTOMER.c.sms_consent, Channel.EMAIL.value: _CUSTOMER.c.email_consent}


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: DeliveryReport) -> None:
        for name in ("claimed", "sent", "retrying", "failed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Claimed:
    outbound: Outbound
    attempts: int  # including this one


def _claimable(now: dt.datetime) -> sa.ColumnElement[bool]:
    """Due and not held by a live lease. A range on ``(status, next_attempt_at)``, so the
    index skips every sent row however long the outbox's history grows."""
    return sa.and_(
        _MESSAGE.c.status == _QUEUED,
        _MESSAGE.c.next_attempt_at <= now,
        sa.or_(_MESSAGE.c.claimed_until.is_(None), _MESSAGE.c.claimed_until <= now),
    )


def _date_undated(connection: sa.Connection) -> None:
    """A row written without ``next_attempt_at`` (a bare Core insert) is due since it was
    written: give it that date, so the indexed ``<= now`` finds it instead of never."""
    connection.execute(
        _MESSAGE.update().where(_MESSAGE.c.status == _QUEUED, _MESSAGE.c.next_attempt_at.is_(None))
        .values(next_attempt_at=_MESSAGE.c.created_at)
    )


def _begin_write(session) -> sa.Connection:  # noqa: ANN001
    connection = session.connection()
    if is_sqlite(session.get_bind()):
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # the one writer from the first read on
    return connection


def skip_unconfigured(channels: Iterable[Channel], now: dt.datetime | None = None) -> int:
    """Due messages of channels nobody can send → ``skipped`` "not sent: no provider"."""
    names = [Channel(channel).value for channel in channels]
    if not names:
        return 0
    now = now or utcnow()
    with system_session() as session:
        connection = _begin_write(session)
        _date_undated(connection)
        result = connection.execute(
            _MESSAGE.update()
            .where(_claimable(now), _MESSAGE.c.channel.in_(names))
            .values(status=MessageStatus.SKIPPED.value, reason=SkipReason.NO_PROVIDER.value,
                    claimed_until=None, claimed_by=None)
        )
        session.commit()
        return result.rowcount or 0


def claim(worker_id: str, limit: int, lease: dt.timedelta, now: dt.datetime | None = None,
          channels: Iterable[Channel] = tuple(Channel)) -> list[Claimed]:
    """Lease up to ``limit`` due messages of ``channels`` to this worker (see module docstring)."""
    now = now or utcnow()
    names = [Channel(channel).value for channel in channels]
    with system_session() as session:
        connection = _begin_write(session)
        _date_undated(connection)
        pick = (sa.select(_MESSAGE.c.id).where(_claimable(now), _MESSAGE.c.channel.in_(names))
                .order_by(_MESSAGE.c.next_attempt_at).limit(limit))
        if not is_sqlite(session.get_bind()):
            pick = pick.with_for_update(skip_locked=True)
        ids = connection.execute(pick).scalars().all()
        if not ids:
            session.rollback()
            return []
        connection.execute(
            _MESSAGE.update().where(_MESSAGE.c.id.in_(ids))
            .values(claimed_by=worker_id, claimed_until=now + lease, attempts=_MESSAGE.c.attempts + 1)
        )
        rows = connection.execute(
            sa.select(_MESSAGE, _MERCHANT.c.name.label("merchant_name"),
                      _CUSTOMER.c.sms_consent, _CUSTOMER.c.email_consent)
            .join(_MERCHANT, _MERCHANT.c.id == _MESSAGE.c.merchant_id)
            .outerjoin(_CUSTOMER, sa.and_(_CUSTOMER.c.id == _MESSAGE.c.customer_id,
                                          _CUSTOMER.c.merchant_id == _MESSAGE.c.merchant_id))
            .where(_MESSAGE.c.id.in_(ids))
            .order_by(_MESSAGE.c.id)
        ).mappings().all()
        withdrawn = {row["id"] for row in rows if _consent_withdrawn(row)}
        invite_links, closed = staff_invites.links_for_messages(
            session, [row["id"] for row in rows if row["customer_id"] is None], settings().public_urls[0], now)
        for ids, reason in ((withdrawn, SkipReason.NO_CONSENT), (closed, SkipReason.INVITE_CLOSED)):
            if ids:
                connection.execute(
                    _MESSAGE.update().where(_MESSAGE.c.id.in_(ids))
                    .values(status=MessageStatus.SKIPPED.value, reason=reason.value, claimed_until=None,
                            claimed_by=None)
                )
        sendable = [row for row in rows if row["id"] not in withdrawn | closed]
        links = _unsubscribe_links(session, sendable)
        session.commit()
    return [Claimed(_outbound(row, links.get((row["merchant_id"], row["customer_id"]), ""),
                              invite_links.get(row["id"])), row["attempts"])
            for row in sendable]


def _consent_withdrawn(row: Mapping) -> bool:
    """Campaigns need marketing consent at send time too (an unsubscribe after queueing
    counts); service messages such as an install link do not."""
    if row["campaign_id"] is None or row["customer_id"] is None:
        return False
    column = _CONSENT.get(row["channel"])
    return column is not None and row[column.key] is False


def _unsubscribe_links(session, rows: list[Mapping]) -> dict[tuple[int, int], str]:  # noqa: ANN001
    by_merchant: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        if row["channel"] == Channel.EMAIL.value and row["customer_id"] is not None:
            by_merchant[row["merchant_id"]].add(row["customer_id"])
    base_url = settings().public_urls[0]
    links = {}
    for merchant_id, customer_ids in by_merchant.items():
        for customer_id, url in consent.unsubscribe_urls(session, merchant_id, customer_ids, base_url).items():
            links[(merchant_id, customer_id)] = url
    return links


def _outbound(row: Mapping, unsubscribe_url: str, invite_link: str | None = None) -> Outbound:
    body = row["body"] if invite_link is None else row["body"].replace(staff_invites.LINK_SLOT, invite_link)
    return Outbound(
        id=row["id"], merchant_id=row["merchant_id"], merchant_name=row["merchant_name"],
        channel=Channel(row["channel"]), recipient=row["recipient"], subject=row["subject"], body=body,
        customer_id=row["customer_id"], card_id=row["card_id"], unsubscribe_url=unsubscribe_url,
    )


def retry_delay(attempts: int, config: Settings) -> dt.timedelta:
    """Exponential back-off: RETRY_SECONDS × 2^(attempts-1), at most six hours."""
    delay = dt.timedelta(seconds=config.outbox_retry_seconds * 2 ** max(attempts - 1, 0))
    return min(delay, MAX_RETRY_DELAY)


def record(results: list[SendResult], attempts: Mapping[int, int], worker_id: str,
           now: dt.datetime | None = None, config: Settings | None = None) -> DeliveryReport:
    """Write one chunk's outcomes in one transaction (only rows still claimed by us)."""
    now = now or utcnow()
    config = config or settings()
    report = DeliveryReport()
    sent, retry, failed = [], [], []
    for result in results:
        if result.accepted:
            sent.append({"message_id": result.id, "provider_id": (result.provider_message_id or "")[:120] or None})
        elif not result.permanent and attempts[result.id] < config.outbox_max_attempts:
            retry.append({"message_id": result.id, "error": result.error[:500],
                          "next_at": now + retry_delay(attempts[result.id], config)})
        else:
            failed.append({"message_id": result.id, "error": result.error[:500] or "failed"})
    ours = sa.and_(_MESSAGE.c.id == sa.bindparam("message_id"), _MESSAGE.c.claimed_by == worker_id,
                   _MESSAGE.c.status == _QUEUED)
    released = {"claimed_until": None}  # claimed_by stays: which worker sent it
    with system_session() as session:
        connection = _begin_write(session)
        if sent:
            connection.execute(_MESSAGE.update().where(ours).values(
                status=MessageStatus.SENT.value, sent_at=now, reason=None,
                provider_message_id=sa.bindparam("provider_id"), **released), sent)
        if retry:
            connection.execute(_MESSAGE.update().where(ours).values(
                reason=sa.bindparam("error"), next_attempt_at=sa.bindparam("next_at"), **released), retry)
        if failed:
            connection.execute(_MESSAGE.update().where(ours).values(
                status=MessageStatus.FAILED.value, reason=sa.bindparam("error"), **released), failed)
        session.commit()
    report.sent, report.retrying, report.failed = len(sent), len(retry), len(failed)
    return report


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def renew(ids: list[int], worker_id: str, until: dt.datetime) -> set[int]:
    """Extend this worker's lease on ``ids`` to ``until``; the ids it still holds (a row
    another worker claimed after our lease ran out, or that is no longer queued, is not ours)."""
    if not ids:
        return set()
    ours = sa.and_(_MESSAGE.c.id.in_(ids), _MESSAGE.c.claimed_by == worker_id, _MESSAGE.c.status == _QUEUED)
    with system_session() as session:
        connection = _begin_write(session)
        update = _MESSAGE.update().where(ours).values(claimed_until=until)
        if is_sqlite(session.get_bind()):
            connection.execute(update)  # one writer: nobody can change them before the SELECT
            held = set(connection.execute(sa.select(_MESSAGE.c.id).where(ours)).scalars())
        else:
            held = set(connection.execute(update.returning(_MESSAGE.c.id)).scalars())
        session.commit()
    return held


def release(ids: list[int], worker_id: str) -> None:
    """Give back rows claimed but not sent (the batch ran out of time): due again at once,
    and the attempt the claim counted is returned."""
    if not ids:
        return
    with system_session() as session:
        connection = _begin_write(session)
        connection.execute(
            _MESSAGE.update()
            .where(_MESSAGE.c.id.in_(ids), _MESSAGE.c.claimed_by == worker_id, _MESSAGE.c.status == _QUEUED)
            .values(claimed_until=None, attempts=_MESSAGE.c.attempts - 1)
        )
        session.commit()


def _send(provider: Provider, chunk: list[Outbound]) -> list[SendResult]:
    """The provider's results; a provider that raises fails the whole chunk, retryably (so
    the attempts grow with back-off up to ``failed`` instead of resending it every lease)."""
    try:
        return provider.send_batch(chunk)
    except Exception as error:  # noqa: BLE001 - a provider's bug must not block its chunk
        log.exception("provider %s failed on a chunk of %d", getattr(provider, "channel", "?"), len(chunk))
        reason = f"provider error: {error.__class__.__name__}: {error}"[:500]
        return [SendResult(message.id, False, error=reason) for message in chunk]


def deliver_once(providers: Mapping[Channel, Provider], worker_id: str, *, now: dt.datetime | None = None,
                 config: Settings | None = None,
                 on_chunk: Callable[[DeliveryReport], None] | None = None) -> DeliveryReport:
    """One round: skip what no provider can send, claim one batch, send it, record it.

    Before each chunk the lease on its rows is renewed and only the rows still ours are
    sent; the batch stops at half the lease (the rest is released for the next round), so
    a slow provider never lets another worker claim what this one is sending."""
    config = config or settings()
    now = now or utcnow()
    started = time.monotonic()
    lease = dt.timedelta(seconds=config.outbox_lease_seconds)
    deadline = started + config.outbox_lease_seconds / 2
    report = DeliveryReport()
    ready = {channel: provider for channel, provider in providers.items() if provider.configured()}
    report.skipped += skip_unconfigured([channel for channel in Channel if channel not in ready], now)
    claimed = claim(worker_id, config.outbox_batch_size, lease, now, channels=ready)
    report.claimed = len(claimed)
    by_channel: dict[Channel, list[Claimed]] = defaultdict(list)
    for item in claimed:
        by_channel[item.outbound.channel].append(item)
    chunks = [(channel, chunk) for channel, items in by_channel.items()
              for chunk in _chunks([item.outbound for item in items], RECORD_EVERY)]
    attempts = {item.outbound.id: item.attempts for item in claimed}
    for index, (channel, chunk) in enumerate(chunks):
        if time.monotonic() >= deadline:
            release([message.id for _, rest in chunks[index:] for message in rest], worker_id)
            break
        clock = now + dt.timedelta(seconds=time.monotonic() - started)
        held = renew([message.id for message in chunk], worker_id, clock + lease)
        chunk = [message for message in chunk if message.id in held]
        if not chunk:
            continue
        outcome = record(_send(ready[channel], chunk), attempts, worker_id, now=now, config=config)
        report.add(outcome)
        if on_chunk:
            on_chunk(outcome)
    return report


def close_providers(providers: Mapping[Channel, Provider]) -> None:
    """Hang up connections kept between batches (providers that keep none have no close)."""
    for provider in providers.values():
        close = getattr(provider, "close", None)
        if close is not None:
            close()


# --- delivery reports (SMS status callback) ------------------------------------------------

DELIVERED_STATUSES = {"delivered"}
FAILED_STATUSES = {"failed", "undelivered"}


def apply_delivery_report(provider_message_id: str, provider_status: str, error_code: str = "",
                          now: dt.datetime | None = None) -> bool:
    """The provider says a sent SMS arrived (``delivered``) or did not (``failed``, with its
    error code). Other statuses (queued, sending, sent) change nothing. True if applied."""
    provider_status = provider_status.strip().lower()
    if not provider_message_id or provider_status not in DELIVERED_STATUSES | FAILED_STATUSES:
        return False
    match = sa.and_(_MESSAGE.c.provider_message_id == provider_message_id, _MESSAGE.c.channel == Channel.SMS.value,
                    _MESSAGE.c.status == MessageStatus.SENT.value)
    if provider_status in DELIVERED_STATUSES:
        values = {"status": MessageStatus.DELIVERED.value, "delivered_at": now or utcnow()}
    else:
        code = f" (error {error_code})" if error_code else ""
        values = {"status": MessageStatus.FAILED.value, "reason": f"SMS provider: {provider_status}{code}"[:500]}
    with system_session() as session:  # the provider's id names the message across merchants
        result = session.connection().execute(_MESSAGE.update().where(match).values(**values))
        session.commit()
        return bool(result.rowcount)
