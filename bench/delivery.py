"""Delivery throughput: the outbox worker draining N emails to a local aiosmtpd server and
N SMS to a local Twilio-style HTTP server, beside a bare baseline on the same servers
(raw smtplib sends on one connection; raw httpx posts on one pooled client).

    python -m bench.delivery [--messages 3000] [--backend sqlite|postgresql|both]

The worker's figure includes everything it does per message: the claim (lease) in the
database, building the email (headers, unsubscribe link), the send, and recording the
result every ``outbox.RECORD_EVERY`` messages.
"""

from __future__ import annotations

import argparse
import smtplib
import time
from email.message import EmailMessage

import httpx
import sqlalchemy as sa

from bench.common import bench_database
from perkstar_ui.config import Settings
from perkstar_ui.db.engine import get_engine
from perkstar_ui.db.models import Message, utcnow
from perkstar_ui.domain.messages import Channel, MessageStatus
from perkstar_ui.services import accounts
from perkstar_ui.services.worker import Worker
from tests.messaging_servers import SmsApi, SmtpInbox

_MESSAGE = Message.__table__


def _queue(merchant_id: int, channel: Channel, count: int) -> None:
    now = utcnow()
    recipient = "reader-{i}@example.com" if channel == Channel.EMAIL else "+4477009{i:05d}"
    rows = [{"merchant_id": merchant_id, "channel": channel.value, "recipient": recipient.format(i=i),
             "subject": f"October treat {i}" if channel == Channel.EMAIL else None,
             "body": f"Hi reader {i}, you have {i % 10} stamps. Come by for a coffee!",
             "status": MessageStatus.QUEUED.value, "attempts": 0, "next_attempt_at": now, "created_at": now}
            for i in range(count)]
    with get_engine().begin() as connection:
        connection.execute(_MESSAGE.insert(), rows)


def _sent(merchant_id: int) -> int:
    with get_engine().connect() as connection:
        return connection.execute(sa.select(sa.func.count()).where(
            _MESSAGE.c.merchant_id == merchant_id, _MESSAGE.c.status == MessageStatus.SENT.value)).scalar_one()


def _worker_rate(config: Settings, count: int, merchant_id: int, channel: Channel) -> float:
    _queue(merchant_id, channel, count)
    before = _sent(merchant_id)
    worker = Worker(config)
    started = time.perf_counter()
    worker.drain()
    elapsed = time.perf_counter() - started
    worker_sent = _sent(merchant_id) - before
    assert worker_sent == count, f"{worker_sent} of {count} sent"
    return count / elapsed


def _bare_smtp_rate(inbox: SmtpInbox, count: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP(inbox.host, inbox.port) as connection:
        for i in range(count):
            email = EmailMessage()
            email["From"], email["To"], email["Subject"] = "news@perkstar.test", f"reader-{i}@example.com", "Treat"
            email.set_content(f"Hi reader {i}")
            connection.send_message(email)
    return count / (time.perf_counter() - started)


def _bare_sms_rate(api: SmsApi, count: int) -> float:
    path = f"/2010-04-01/Accounts/{api.account_sid}/Messages.json"
    started = time.perf_counter()
    with httpx.Client(base_url=api.base_url, auth=(api.account_sid, api.auth_token)) as client:
        for i in range(count):
            client.post(path, data={"To": f"+4477009{i:05d}", "From": "+447700900000", "Body": f"Hi reader {i}"})
    return count / (time.perf_counter() - started)


def measure(backend: str, count: int) -> None:
    inbox, api = SmtpInbox().start(), SmsApi().start()
    try:
        config = Settings(SMTP_HOST=inbox.host, SMTP_PORT=inbox.port, SMTP_TLS="none", SMTP_FROM="news@perkstar.test",
                          SMS_API_BASE=api.base_url, SMS_ACCOUNT_SID=api.account_sid, SMS_AUTH_TOKEN=api.auth_token,
                          SMS_FROM="+447700900000")
        merchant_id = accounts.create_merchant("Bench Café", "bench-delivery@perkstar.test", "bench-password")
        email_rate = _worker_rate(config, count, merchant_id, Channel.EMAIL)
        bare_email = _bare_smtp_rate(inbox, count)
        sms_rate = _worker_rate(config, count, merchant_id, Channel.SMS)
        bare_sms = _bare_sms_rate(api, count)
    finally:
        inbox.stop()
        api.stop()
    print(f"\n[{backend}] delivery of {count} messages per channel")
    print(f"  email: worker {email_rate:7.0f}/s   bare smtplib {bare_email:7.0f}/s   ratio {bare_email / email_rate:.2f}")
    print(f"  SMS:   worker {sms_rate:7.0f}/s   bare httpx   {bare_sms:7.0f}/s   ratio {bare_sms / sms_rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        with bench_database(backend):
            measure(backend, args.messages)


if __name__ == "__main__":
    main()
