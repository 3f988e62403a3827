"""The worker loop: deliver the outbox and run the recurring jobs.

The same loop runs inside the app (``make run``: a thread started by the app's lifespan,
``PERKSTAR_EMBEDDED_WORKER``) and as ``python -m perkstar_ui.cli worker`` processes on
any number of machines. Nothing here assumes it is alone: messages are claimed with leases
(``services.outbox``) and each recurring job runs once per period across all workers,
because only the worker whose ``job_run`` row insert wins the unique (job, period) runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from perkstar_ui.config import Settings, settings
from perkstar_ui.db.models import JobRun, as_utc, utcnow
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services import campaigns, cards, login_throttle, outbox, referrals, rfm, stripe_webhook
from perkstar_ui.services.outbox import DeliveryReport
from perkstar_ui.services.providers.base import Provider
from perkstar_ui.services.providers.sms import SmsProvider
from perkstar_ui.services.providers.smtp import SmtpProvider
from perkstar_ui.services.providers.webpush import WebPushProvider

log = logging.getLogger(__name__)

JOIN_TIMEOUT_SECONDS = 30


def worker_name() -> str:
    """Host, process and a random suffix: unique per worker, readable in ``claimed_by``."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(3)}"


def default_providers(config: Settings | None = None) -> dict[Channel, Provider]:
    config = config or settings()
    return {Channel.EMAIL: SmtpProvider(config), Channel.SMS: SmsProvider(config), Channel.PUSH: WebPushProvider(config)}


# --- recurring jobs ------------------------------------------------------------------------


def daily(now: dt.datetime) -> str:
    return now.strftime("%Y-%m-%d")  # UTC days: the first tick after midnight UTC runs it


def every_minute(now: dt.datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Job:
    name: str
    period: Callable[[dt.datetime], str]
    run: Callable[[dt.datetime], object]


JOB_RUNS_KEPT = dt.timedelta(days=14)  # runs older than this are history nobody reads


def purge_job_runs(now: dt.datetime) -> int:
    """Forget old runs: a minute job alone leaves 1,440 rows a day. A past period is never
    claimed again (periods come from the clock), so deleting its row cannot rerun it."""
    table = JobRun.__table__
    with system_session() as session:
        deleted = session.connection().execute(table.delete().where(table.c.started_at < now - JOB_RUNS_KEPT))
        session.commit()
        return deleted.rowcount


JOBS: tuple[Job, ...] = (
    Job("settle-cards", daily, cards.settle_all),  # expiries and membership refills (Q23)
    Job("rfm", daily, rfm.recompute_all),
    Job("campaigns", every_minute, campaigns.queue_due),  # scheduled campaigns that are due
    Job("stripe-events", every_minute, stripe_webhook.retry_due),  # webhook events that failed to apply
    Job("referral-rewards", every_minute, referrals.pay_all_due),  # first-visit rewards a caller missed
    Job("purge-job-runs", daily, purge_job_runs),
    Job("purge-logins", daily, login_throttle.purge),  # expired sessions, login attempts past a day
)


STALE_RUN = dt.timedelta(hours=2)  # a run unfinished this long died with its worker


# (worker, job) → (the period seen claimed by someone, when it is worth looking again): every
# worker ticks every few seconds and each tick asks about every job, so without this each
# tick was a failed INSERT + rollback + UPDATE per job (a fifth of a loaded worker's samples).
_claimed: dict[tuple[str, str], tuple[str, dt.datetime]] = {}
_claimed_lock = threading.Lock()


def claim_run(job: str, period: str, worker_id: str) -> int | None:
    """Insert this period's run of ``job``; its id if we won, None if another worker did.
    A run left unfinished for ``STALE_RUN`` (its worker died mid-run) is taken over: one
    conditional UPDATE, so of several workers only one wins it. A period this worker saw
    claimed is not asked about again until that run could be stale."""
    now = utcnow()  # the wall clock: how long a run has really been going
    with _claimed_lock:
        seen = _claimed.get((worker_id, job))
    if seen is not None and seen[0] == period and now < seen[1]:
        return None
    with system_session() as session:
        run = JobRun(job=job, period=period, worker=worker_id, started_at=now)
        session.add(run)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        else:
            return run.id
        table = JobRun.__table__
        stale = sa.and_(table.c.job == job, table.c.period == period, table.c.finished_at.is_(None),
                        table.c.started_at < now - STALE_RUN)
        taken = session.connection().execute(
            table.update().where(stale).values(worker=worker_id, started_at=now, result=None)
        )
        if taken.rowcount != 1:
            claimed = session.connection().execute(
                sa.select(table.c.started_at, table.c.finished_at).where(table.c.job == job, table.c.period == period)
            ).first()
            session.rollback()
            if claimed is not None:
                look_again = dt.datetime.max.replace(tzinfo=dt.timezone.utc) if claimed.finished_at is not None \
                    else as_utc(claimed.started_at) + STALE_RUN
                with _claimed_lock:
                    _claimed[(worker_id, job)] = (period, look_again)
            return None
        run_id = session.connection().execute(
            sa.select(table.c.id).where(table.c.job == job, table.c.period == period)
        ).scalar_one()
        session.commit()
        log.warning("job %s %s: took over the run %s left unfinished", job, period, run_id)
        return run_id


def _finish_run(run_id: int, result: str) -> None:
    table = JobRun.__table__
    with system_session() as session:
        session.connection().execute(
            table.update().where(table.c.id == run_id).values(finished_at=utcnow(), result=result[:500])
        )
        session.commit()


def run_due_jobs(worker_id: str, now: dt.datetime | None = None, jobs: tuple[Job, ...] = JOBS) -> list[str]:
    """Run every job whose current period nobody has claimed yet; the names run here.
    A failing job is logged and recorded; it is not retried within its period. A run whose
    worker died mid-run is taken over once it is ``STALE_RUN`` old (see ``claim_run``)."""
    now = now or utcnow()
    ran = []
    for job in jobs:
        run_id = claim_run(job.name, job.period(now), worker_id)
        if run_id is None:
            continue
        try:
            outcome = job.run(now)
        except Exception as error:  # noqa: BLE001 - one job's failure must not stop delivery
            log.exception("job %s failed", job.name)
            _finish_run(run_id, f"error: {error.__class__.__name__}: {error}")
        else:
            _finish_run(run_id, f"ok: {_summary(outcome)}")
        ran.append(job.name)
    return ran


def _summary(outcome: object) -> str:
    return str(len(outcome)) if isinstance(outcome, (list, tuple)) else str(outcome)


# --- the loop ------------------------------------------------------------------------------


class Worker:
    def __init__(self, config: Settings | None = None, providers: Mapping[Channel, Provider] | None = None,
                 jobs: tuple[Job, ...] = JOBS) -> None:
        self.config = config or settings()
        self.id = worker_name()
        self.providers = dict(providers) if providers is not None else default_providers(self.config)
        self.jobs = jobs

    def drain(self, stop: threading.Event | None = None) -> DeliveryReport:
        """Deliver batches until no message is due (or ``stop`` is set)."""
        total = DeliveryReport()
        while stop is None or not stop.is_set():
            report = outbox.deliver_once(self.providers, self.id, config=self.config)
            total.add(report)
            if report.claimed < self.config.outbox_batch_size:
                break
        return total

    def tick(self, stop: threading.Event | None = None) -> DeliveryReport:
        run_due_jobs(self.id, jobs=self.jobs)
        return self.drain(stop)

    def run(self, stop: threading.Event, *, once: bool = False) -> None:
        """Tick until ``stop`` is set (``once``: a single tick). An error (the database
        restarting, a provider's bug) is logged and the loop carries on after a pause."""
        log.info("worker %s started", self.id)
        try:
            while not stop.is_set():
                try:
                    report = self.tick(stop)
                except Exception:  # noqa: BLE001 - the loop outlives any one failure
                    if once:
                        raise
                    log.exception("worker %s: tick failed; retrying", self.id)
                    report = DeliveryReport()
                if report.claimed or report.skipped:
                    log.info("worker %s: %s", self.id, report)
                if once:
                    break
                if not report.claimed:
                    outbox.close_providers(self.providers)  # idle: hang up until there is work
                    stop.wait(self.config.worker_poll_seconds)
        finally:
            outbox.close_providers(self.providers)
            log.info("worker %s stopped", self.id)


@contextlib.asynccontextmanager
async def embedded_worker() -> AsyncIterator[None]:
    """The app's lifespan task (``make run``): the loop in a thread for as long as the
    backend runs, unless ``PERKSTAR_EMBEDDED_WORKER`` is off (production runs ``cli worker``)."""
    if not settings().embedded_worker:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=Worker().run, args=(stop,), name="perkstar-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, JOIN_TIMEOUT_SECONDS)
