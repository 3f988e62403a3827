"""The delivery engine on the database (SQLite and PostgreSQL) against real local servers:
claims and leases, sent only after the provider accepted, retries with back-off, permanent
failures, no provider, consent at send time, the SMS status callback, recurring jobs once
per period, and worker processes (two at once; one killed mid-batch)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from perkstar_ui.api.routes import api
from perkstar_ui.config import Settings, settings
from perkstar_ui.db.engine import get_engine
from perkstar_ui.db.models import Campaign, Customer, JobRun, Message, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.messages import Channel, MessageStatus, SkipReason
from perkstar_ui.services import consent, outbox, worker
from perkstar_ui.services.providers.base import SendResult
from perkstar_ui.services.providers.sms import SmsProvider
from perkstar_ui.services.providers.smtp import SmtpProvider
from tests.helpers import add_customer, recorded_statements
from tests.messaging_servers import SmsApi, SmtpInbox, twilio_signature, wait_until

ROOT = Path(__file__).resolve().parents[2]
_MESSAGE = Message.__table__


@pytest.fixture
def config(inbox: SmtpInbox, sms_api: SmsApi, monkeypatch) -> Settings:  # noqa: ANN001
    """Both providers pointed at the local servers, through the environment (the status
    route and the workers read ``settings()``)."""
    env = {"SMTP_HOST": inbox.host, "SMTP_PORT": str(inbox.port), "SMTP_TLS": "none", "SMTP_FROM": "news@perkstar.test",
           "SMS_API_BASE": sms_api.base_url, "SMS_ACCOUNT_SID": sms_api.account_sid, "SMS_AUTH_TOKEN": sms_api.auth_token,
           "SMS_FROM": "+447700900000", "PERKSTAR_PUBLIC_URL": "https://shop.example",
           "PERKSTAR_OUTBOX_RETRY_SECONDS": "60", "PERKSTAR_OUTBOX_MAX_ATTEMPTS": "3"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()
    yield settings()
    settings.cache_clear()


def _providers(config: Settings) -> dict:
    return {Channel.EMAIL: SmtpProvider(config), Channel.SMS: SmsProvider(config)}


def _queue(merchant_id: int, channel: Channel, recipient: str, body: str, *, customer_id: int | None = None,
           campaign_id: int | None = None, subject: str | None = None) -> int:
    with tenant_session(merchant_id) as session:
        message = Message(merchant_id=merchant_id, customer_id=customer_id, campaign_id=campaign_id,
                          channel=channel.value, recipient=recipient, subject=subject, body=body)
        session.add(message)
        session.commit()
        return message.id


def _row(message_id: int) -> dict:
    with get_engine().connect() as connection:
        return dict(connection.execute(sa.select(_MESSAGE).where(_MESSAGE.c.id == message_id)).mappings().one())


def _deliver_all(config: Settings, now: dt.datetime | None = None) -> outbox.DeliveryReport:
    providers = _providers(config)
    try:
        total = outbox.DeliveryReport()
        while True:
            report = outbox.deliver_once(providers, "test-worker", now=now, config=config)
            total.add(report)
            if report.claimed == 0:
                return total
    finally:
        outbox.close_providers(providers)


def _campaign(merchant_id: int, channel: Channel) -> int:
    with tenant_session(merchant_id) as session:
        campaign = Campaign(merchant_id=merchant_id, channel=channel.value, audience="selected", body="x", status="sending")
        session.add(campaign)
        session.commit()
        return campaign.id


# --- one worker in this process ---------------------------------------------------------------


def test_email_is_sent_with_the_customers_own_unsubscribe_link(merchant, config, inbox, unique) -> None:  # noqa: ANN001
    customer = add_customer(merchant, "Ada", "Lovelace", email=f"ada-{unique}@example.com")
    consent.set_consent(merchant, customer, sms=False, email=True)
    message_id = _queue(merchant, Channel.EMAIL, f"ada-{unique}@example.com", "Hi Ada, your balance is 7 stamps.",
                        customer_id=customer, campaign_id=_campaign(merchant, Channel.EMAIL), subject="October treat")

    _deliver_all(config)

    [received] = inbox.with_ids({message_id})
    with tenant_session(merchant) as session:
        token = session.get(Customer, customer).unsubscribe_token
    assert token, "the token was made when the email was sent"
    link = f"https://shop.example/unsubscribe/{token}"
    assert received.message["Subject"] == "October treat"
    assert received.message["List-Unsubscribe"] == f"<{link}>"
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hi Ada, your balance is 7 stamps." in received.text and link in received.text
    row = _row(message_id)
    assert (row["status"], row["attempts"], row["reason"], row["claimed_until"]) == ("sent", 1, None, None)
    assert row["sent_at"] is not None and row["provider_message_id"] == received.message["Message-ID"]


def test_sms_500_is_retried_after_back_off_then_sent(merchant, config, sms_api) -> None:  # noqa: ANN001
    sms_api.script = {"+447700900500": [500]}
    message_id = _queue(merchant, Channel.SMS, "+447700900500", "Your card is ready")
    start = utcnow()

    _deliver_all(config, now=start)
    row = _row(message_id)
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert "500" in row["reason"]
    assert row["next_attempt_at"].replace(tzinfo=dt.timezone.utc) >= start + dt.timedelta(seconds=59)
    _deliver_all(config, now=start + dt.timedelta(seconds=30))  # not due yet: untouched
    assert len(sms_api.attempts("+447700900500")) == 1

    _deliver_all(config, now=start + dt.timedelta(seconds=61))
    row = _row(message_id)
    assert (row["status"], row["attempts"], row["reason"]) == ("sent", 2, None)
    assert [r.status for r in sms_api.attempts("+447700900500")] == [500, 201]
    assert row["provider_message_id"] == sms_api.sent("+447700900500")[0].sid


def test_sms_400_fails_at_once_with_the_providers_reason(merchant, config, sms_api) -> None:  # noqa: ANN001
    sms_api.script = {"+447700900400": [400]}
    message_id = _queue(merchant, Channel.SMS, "+447700900400", "Your card is ready")
    _deliver_all(config)
    row = _row(message_id)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "is not a valid phone number" in row["reason"]
    assert len(sms_api.attempts("+447700900400")) == 1


def test_retries_stop_at_the_maximum_with_the_last_error(merchant, config, sms_api) -> None:  # noqa: ANN001
    sms_api.script = {"+447700900503": [503, 503, 503, 503]}
    message_id = _queue(merchant, Channel.SMS, "+447700900503", "Hello")
    now = utcnow()
    delays = []
    for _ in range(config.outbox_max_attempts):
        _deliver_all(config, now=now)
        row = _row(message_id)
        if row["status"] == "queued":
            next_at = row["next_attempt_at"].replace(tzinfo=dt.timezone.utc)
            delays.append(round((next_at - now).total_seconds()))
            now = next_at
    assert delays == [60, 120]  # exponential back-off
    row = _row(message_id)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert "503" in row["reason"]


def test_a_channel_without_provider_is_skipped_and_says_why(merchant, config, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SMS_API_BASE", "")
    settings.cache_clear()
    message_id = _queue(merchant, Channel.SMS, "+447700900001", "Hello")
    report = _deliver_all(settings())
    row = _row(message_id)
    assert (row["status"], row["reason"], row["attempts"]) == ("skipped", SkipReason.NO_PROVIDER.value, 0)
    assert report.skipped >= 1


def test_a_campaign_email_to_a_customer_who_withdrew_consent_is_skipped(merchant, config, inbox, unique) -> None:  # noqa: ANN001
    customer = add_customer(merchant, "Bo", "Peep", email=f"bo-{unique}@example.com")
    consent.set_consent(merchant, customer, sms=True, email=True)
    campaign = _campaign(merchant, Channel.EMAIL)
    campaign_email = _queue(merchant, Channel.EMAIL, f"bo-{unique}@example.com", "Promo", customer_id=customer,
                            campaign_id=campaign, subject="Promo")
    install_link = _queue(merchant, Channel.EMAIL, f"bo-{unique}@example.com", "Your card: https://x/card/1",
                          customer_id=customer, subject="Your card")  # a service message, not marketing
    consent.set_consent(merchant, customer, sms=True, email=False)  # unsubscribed after it was queued

    _deliver_all(config)

    assert (_row(campaign_email)["status"], _row(campaign_email)["reason"]) == ("skipped", SkipReason.NO_CONSENT.value)
    assert _row(install_link)["status"] == "sent"
    assert [r.perkstar_id for r in inbox.with_ids({campaign_email, install_link})] == [install_link]


def test_a_lease_keeps_other_workers_off_until_it_runs_out(merchant, config) -> None:  # noqa: ANN001
    message_id = _queue(merchant, Channel.EMAIL, "lease@example.com", "Hello", subject="Hi")
    now = utcnow()
    lease = dt.timedelta(seconds=120)
    first = outbox.claim("worker-a", 1000, lease, now)
    assert message_id in [c.outbound.id for c in first]
    assert message_id not in [c.outbound.id for c in outbox.claim("worker-b", 1000, lease, now + dt.timedelta(seconds=60))]
    # worker-a died: its lease runs out and worker-b takes the message over.
    again = outbox.claim("worker-b", 1000, lease, now + dt.timedelta(seconds=121))
    assert message_id in [c.outbound.id for c in again]
    outbox.record([SendResult(message_id, True)], {message_id: 1}, "worker-a", config=config)  # too late
    assert (_row(message_id)["status"], _row(message_id)["claimed_by"]) == ("queued", "worker-b")
    assert _row(message_id)["attempts"] == 2
    outbox.record([SendResult(message_id, True, "id-1")], {message_id: 2}, "worker-b", config=config)
    assert (_row(message_id)["status"], _row(message_id)["provider_message_id"]) == ("sent", "id-1")


def test_claims_from_concurrent_threads_never_overlap(merchant, config) -> None:  # noqa: ANN001
    ids = {_queue(merchant, Channel.EMAIL, f"c{i}@example.com", "Hello", subject="Hi") for i in range(60)}
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def grab(name: str) -> None:
        start.wait()
        got = []
        while batch := outbox.claim(name, 5, dt.timedelta(minutes=5)):
            got += [c.outbound.id for c in batch]
        claimed[name] = got

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for got in claimed.values() for i in got if i in ids]
    assert sorted(everything) == sorted(ids), "every message claimed exactly once"


# --- the SMS status callback ---------------------------------------------------------------


def _sent_sms(merchant: int, config: Settings, sms_api: SmsApi, to: str) -> tuple[int, object]:
    message_id = _queue(merchant, Channel.SMS, to, "Hello")
    _deliver_all(config)
    return message_id, sms_api.sent(to)[0]


def test_status_callback_marks_delivered_or_failed_only_when_signed(merchant, config, sms_api) -> None:  # noqa: ANN001
    client = TestClient(api, base_url="https://shop.example")
    delivered_id, request = _sent_sms(merchant, config, sms_api, "+447700900201")
    url, form, headers = sms_api.status_report(request, "delivered")
    assert client.post(url, data=form, headers={"X-Twilio-Signature": "forged"}).status_code == 403
    assert _row(delivered_id)["status"] == "sent"
    assert client.post(url, data={**form, "MessageStatus": "failed"}, headers=headers).status_code == 403
    response = client.post(url, data=form, headers=headers)
    assert response.status_code == 204
    row = _row(delivered_id)
    assert row["status"] == "delivered" and row["delivered_at"] is not None

    failed_id, request = _sent_sms(merchant, config, sms_api, "+447700900202")
    url, form, headers = sms_api.status_report(request, "undelivered", error_code="30003")
    assert client.post(url, data=form, headers=headers).status_code == 204
    assert (_row(failed_id)["status"], _row(failed_id)["reason"]) == ("failed", "SMS provider: undelivered (error 30003)")

    # An unknown message answers the same; a late "sent" report changes nothing.
    url, form, headers = sms_api.status_report(request, "sent")
    assert client.post(url, data=form, headers=headers).status_code == 204
    assert _row(failed_id)["status"] == "failed"
    unknown = {**form, "MessageSid": "SMunknown", "MessageStatus": "delivered"}
    assert client.post(url, data=unknown, headers={"X-Twilio-Signature": twilio_signature(sms_api.auth_token, url, unknown)}).status_code == 204


# --- recurring jobs ---------------------------------------------------------------------------


def test_a_recurring_job_runs_once_per_period_across_workers(unique) -> None:  # noqa: ANN001
    runs: list[dt.datetime] = []
    lock = threading.Lock()

    def job(now: dt.datetime) -> int:
        with lock:
            runs.append(now)
        return 1

    jobs = (worker.Job(f"test-{unique}", worker.daily, job),)
    day = dt.datetime(2026, 11, 30, 0, 0, 5, tzinfo=dt.timezone.utc)
    barrier = threading.Barrier(4)

    def tick(name: str) -> None:
        barrier.wait()
        worker.run_due_jobs(name, day, jobs)

    threads = [threading.Thread(target=tick, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 1
    assert worker.run_due_jobs("w9", day + dt.timedelta(hours=23), jobs) == []
    assert worker.run_due_jobs("w9", day + dt.timedelta(days=1), jobs) == [f"test-{unique}"]
    with get_engine().connect() as connection:
        table = JobRun.__table__
        rows = connection.execute(sa.select(table.c.period, table.c.result).where(table.c.job == f"test-{unique}")
                                  .order_by(table.c.period)).all()
    assert rows == [("2026-11-30", "ok: 1"), ("2026-12-01", "ok: 1")]


def test_a_failing_job_is_recorded_and_the_others_still_run(unique) -> None:  # noqa: ANN001
    def broken(now: dt.datetime) -> None:
        raise RuntimeError("disk full")

    ran = []
    jobs = (worker.Job(f"broken-{unique}", worker.every_minute, broken),
            worker.Job(f"fine-{unique}", worker.every_minute, lambda now: ran.append(now) or "done"))
    assert worker.run_due_jobs("w1", utcnow(), jobs) == [f"broken-{unique}", f"fine-{unique}"]
    assert len(ran) == 1
    with get_engine().connect() as connection:
        table = JobRun.__table__
        result = connection.execute(sa.select(table.c.result).where(table.c.job == f"broken-{unique}")).scalar_one()
    assert result == "error: RuntimeError: disk full"


def test_the_worker_schedules_settle_cards_and_rfm_daily_and_due_campaigns_every_minute() -> None:
    assert {(job.name, job.period) for job in worker.JOBS} >= {
        ("settle-cards", worker.daily), ("rfm", worker.daily), ("campaigns", worker.every_minute),
        ("stripe-events", worker.every_minute)}  # issue 12: failed webhook events retried


def test_old_job_runs_are_purged_daily_and_recent_ones_kept(unique) -> None:  # noqa: ANN001
    now = utcnow()
    table = JobRun.__table__
    with get_engine().begin() as connection:
        connection.execute(table.insert(), [
            {"job": f"old-{unique}", "period": "p1", "worker": "w", "started_at": now - dt.timedelta(days=15)},
            {"job": f"recent-{unique}", "period": "p1", "worker": "w", "started_at": now - dt.timedelta(days=13)},
        ])
    assert ("purge-job-runs", worker.daily) in {(job.name, job.period) for job in worker.JOBS}
    assert worker.purge_job_runs(now) >= 1
    with get_engine().connect() as connection:
        left = set(connection.execute(sa.select(table.c.job).where(table.c.job.like(f"%-{unique}"))).scalars())
    assert left == {f"recent-{unique}"}


# --- worker processes -------------------------------------------------------------------------


def _bulk_queue(merchant_id: int, count: int, tag: str) -> set[int]:
    now = utcnow()
    rows = [{"merchant_id": merchant_id, "channel": Channel.EMAIL.value, "recipient": f"{tag}-{i}@example.com",
             "subject": f"{tag} {i}", "body": f"Message {i}", "status": MessageStatus.QUEUED.value, "attempts": 0,
             "next_attempt_at": now, "created_at": now} for i in range(count)]
    with get_engine().begin() as connection:
        connection.execute(_MESSAGE.insert(), rows)
        ids = connection.execute(sa.select(_MESSAGE.c.id).where(_MESSAGE.c.merchant_id == merchant_id,
                                                                _MESSAGE.c.recipient.like(f"{tag}-%"))).scalars().all()
    assert len(ids) == count
    return set(ids)


def _statuses(ids: set[int]) -> dict[str, int]:
    with get_engine().connect() as connection:
        rows = connection.execute(sa.select(_MESSAGE.c.status, sa.func.count()).where(_MESSAGE.c.id.in_(ids))
                                  .group_by(_MESSAGE.c.status)).all()
    return dict(rows)


def _worker_process(inbox: SmtpInbox, *args: str, **env: str) -> subprocess.Popen:
    environment = dict(os.environ, SMTP_HOST=inbox.host, SMTP_PORT=str(inbox.port), SMTP_TLS="none",
                       SMTP_FROM="news@perkstar.test", SMS_API_BASE="", PERKSTAR_WORKER_POLL_SECONDS="0.2", **env)
    return subprocess.Popen([sys.executable, "-m", "perkstar_ui.cli", "worker", *args], cwd=ROOT, env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.timeout(240)
def test_two_worker_processes_send_each_of_5000_messages_exactly_once(merchant, inbox, unique) -> None:  # noqa: ANN001
    ids = _bulk_queue(merchant, 5000, f"pair-{unique}")
    workers = [_worker_process(inbox, "--once", PERKSTAR_OUTBOX_BATCH="100") for _ in range(2)]
    for process in workers:
        _, errors = process.communicate(timeout=200)
        assert process.returncode == 0, errors.decode()[-3000:]

    received = [r.perkstar_id for r in inbox.with_ids(ids)]
    assert len(received) == 5000 and set(received) == ids, "each message exactly once"
    assert _statuses(ids) == {"sent": 5000}
    with get_engine().connect() as connection:
        senders = connection.execute(sa.select(_MESSAGE.c.claimed_by).distinct().where(_MESSAGE.c.id.in_(ids))).scalars().all()
    assert len(senders) == 2, "both workers took part"


@pytest.mark.timeout(240)
def test_a_worker_killed_mid_batch_loses_nothing(merchant, inbox, unique) -> None:  # noqa: ANN001
    ids = _bulk_queue(merchant, 1500, f"kill-{unique}")
    inbox.delay = 0.003  # slow enough to kill the first worker mid-batch
    lease = {"PERKSTAR_OUTBOX_LEASE_SECONDS": "3", "PERKSTAR_OUTBOX_BATCH": "200"}
    first = _worker_process(inbox, **lease)
    assert wait_until(lambda: len(inbox.with_ids(ids)) >= 300, timeout=120), "the first worker started sending"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    sent_before = _statuses(ids).get("sent", 0)
    assert 0 < sent_before < 1500, "killed mid-way"

    second = _worker_process(inbox, **lease)
    try:
        assert wait_until(lambda: _statuses(ids) == {"sent": 1500}, timeout=150), _statuses(ids)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    received = [r.perkstar_id for r in inbox.with_ids(ids)]
    assert set(received) == ids, "nothing lost"
    # At least once: only the chunk the killed worker had sent but not yet recorded goes twice.
    assert len(received) - len(ids) <= outbox.RECORD_EVERY


def test_a_message_written_without_next_attempt_at_is_still_sent(merchant, config, inbox) -> None:  # noqa: ANN001
    with get_engine().begin() as connection:
        message_id = connection.execute(_MESSAGE.insert().values(
            merchant_id=merchant, channel=Channel.EMAIL.value, recipient="undated@example.com", subject="Hi",
            body="Hello", status=MessageStatus.QUEUED.value, attempts=0, created_at=utcnow())).inserted_primary_key[0]
    assert _row(message_id)["next_attempt_at"] is None
    _deliver_all(config)
    assert _row(message_id)["status"] == "sent"
    assert [r.perkstar_id for r in inbox.with_ids({message_id})] == [message_id]


# --- a slow or broken provider, a job whose worker died -------------------------------------


class _SlowEmail:
    """The provider boundary: takes ``seconds`` per chunk and counts what it was given."""

    channel = Channel.EMAIL

    def __init__(self, seconds: float, counts: dict[int, int], lock: threading.Lock) -> None:
        self.seconds, self.counts, self.lock = seconds, counts, lock

    def configured(self) -> bool:
        return True

    def send_batch(self, messages: list) -> list[SendResult]:
        time.sleep(self.seconds)
        with self.lock:
            for message in messages:
                self.counts[message.id] = self.counts.get(message.id, 0) + 1
        return [SendResult(message.id, True) for message in messages]


def test_a_batch_slower_than_its_lease_is_never_sent_twice_by_two_workers(merchant, config, monkeypatch) -> None:  # noqa: ANN001
    ids = {_queue(merchant, Channel.EMAIL, f"slow{i}@example.com", "Hello", subject="Hi") for i in range(8)}
    monkeypatch.setattr(outbox, "RECORD_EVERY", 2)
    fast_lease = config.model_copy(update={"outbox_lease_seconds": 1.0, "outbox_batch_size": 100})
    counts: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def run(name: str, delay: float) -> None:
        time.sleep(delay)
        providers = {Channel.EMAIL: _SlowEmail(0.6, counts, lock)}  # 4 chunks × 0.6 s > the 1 s lease
        while not stop.is_set():
            if outbox.deliver_once(providers, name, config=fast_lease).claimed == 0:
                time.sleep(0.05)

    threads = [threading.Thread(target=run, args=("slow-a", 0)), threading.Thread(target=run, args=("slow-b", 0.1))]
    for thread in threads:
        thread.start()
    try:
        assert wait_until(lambda: all(_row(i)["status"] == "sent" for i in ids), timeout=20)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert {i: counts.get(i) for i in ids} == dict.fromkeys(ids, 1), "each message sent exactly once"


class _Broken:
    channel = Channel.EMAIL

    def configured(self) -> bool:
        return True

    def send_batch(self, messages: list) -> list[SendResult]:
        raise AttributeError("'list' object has no attribute 'get'")


def test_a_provider_that_raises_fails_its_chunk_with_back_off_until_failed(merchant, config) -> None:  # noqa: ANN001
    message_id = _queue(merchant, Channel.EMAIL, "broken@example.com", "Hello", subject="Hi")
    providers = {Channel.EMAIL: _Broken()}
    now = utcnow()
    report = outbox.deliver_once(providers, "broken-worker", now=now, config=config)
    assert report.retrying >= 1
    row = _row(message_id)
    assert (row["status"], row["attempts"], row["claimed_until"]) == ("queued", 1, None)
    assert "provider error: AttributeError" in row["reason"]
    outbox.deliver_once(providers, "broken-worker", now=now + dt.timedelta(seconds=30), config=config)
    assert _row(message_id)["attempts"] == 1, "not due before its back-off"
    outbox.deliver_once(providers, "broken-worker", now=now + dt.timedelta(minutes=2), config=config)
    assert (_row(message_id)["status"], _row(message_id)["attempts"]) == ("queued", 2)
    outbox.deliver_once(providers, "broken-worker", now=now + dt.timedelta(minutes=10), config=config)
    assert (_row(message_id)["status"], _row(message_id)["attempts"]) == ("failed", 3)


def test_a_job_whose_worker_died_mid_run_is_taken_over_once_stale(unique) -> None:  # noqa: ANN001
    runs: list[str] = []
    jobs = (worker.Job(f"died-{unique}", worker.daily, lambda now: runs.append("ran") or "done"),)
    now = utcnow()
    table = JobRun.__table__
    with get_engine().begin() as connection:  # a worker claimed today's run an hour ago and died
        connection.execute(table.insert().values(job=f"died-{unique}", period=worker.daily(now), worker="dead",
                                                 started_at=now - dt.timedelta(hours=1)))
    assert worker.run_due_jobs("w1", now, jobs) == [], "an hour: maybe still running"
    with get_engine().begin() as connection:
        connection.execute(table.update().where(table.c.job == f"died-{unique}")
                           .values(started_at=now - dt.timedelta(hours=3)))
    assert worker.run_due_jobs("w2", now, jobs) == [f"died-{unique}"]
    assert worker.run_due_jobs("w3", now, jobs) == [], "taken over once"
    assert runs == ["ran"]
    with get_engine().connect() as connection:
        row = connection.execute(sa.select(table.c.worker, table.c.result, table.c.finished_at)
                                 .where(table.c.job == f"died-{unique}")).one()
    assert (row.worker, row.result) == ("w2", "ok: done") and row.finished_at is not None


def test_a_worker_does_not_ask_again_about_a_period_it_saw_claimed(unique) -> None:  # noqa: ANN001
    """Each tick asks about every job: a period already claimed elsewhere costs no statement
    until its run could be stale (a finished one: never again)."""
    jobs = (worker.Job(f"seen-{unique}", worker.daily, lambda now: "done"),)
    now = utcnow()
    assert worker.run_due_jobs("w-first", now, jobs) == [f"seen-{unique}"]
    with recorded_statements() as sent:
        assert worker.run_due_jobs("w-other", now, jobs) == []
        first_look = sum("job_run" in statement for statement in sent)
        assert worker.run_due_jobs("w-other", now, jobs) == []
        assert worker.run_due_jobs("w-other", now + dt.timedelta(minutes=1), jobs) == []
    statements = [statement for statement in sent if "job_run" in statement]
    assert first_look > 0 and len(statements) == first_look
    assert worker.run_due_jobs("w-other", now + dt.timedelta(days=1), jobs) == [f"seen-{unique}"]
