"""Operations from the command line (contract: docs/testing.md).

    python -m perkstar_ui.cli migrate
    python -m perkstar_ui.cli create-merchant --name NAME --email EMAIL --password PW
    python -m perkstar_ui.cli create-staff --merchant-email OWNER_EMAIL --email EMAIL --password PW --role staff|manager
    python -m perkstar_ui.cli seed-demo [--customers N]
    python -m perkstar_ui.cli settle-cards    (the expiry job: run it nightly)
    python -m perkstar_ui.cli rfm             (RFM segments of every merchant: run it daily)
    python -m perkstar_ui.cli worker [--once] (deliver the outbox, run the recurring jobs)
    python -m perkstar_ui.cli backup FILE     (SQLite online backup / pg_dump of DATABASE_URL)
    python -m perkstar_ui.cli restore FILE    (stop the app first)
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from perkstar_ui import config, logs
from perkstar_ui.db import migrate as migrations
from perkstar_ui.services import staff
from perkstar_ui.services import accounts, backup, cards, rfm, seed, worker


def _migrate(_args: argparse.Namespace) -> int:
    migrations.upgrade()
    print("Database is up to date.")
    return 0


def _create_merchant(args: argparse.Namespace) -> int:
    migrations.upgrade()
    try:
        merchant_id = accounts.create_merchant(args.name, args.email, args.password)
    except (accounts.AccountError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Created merchant {merchant_id} with owner {accounts.normalise_email(args.email)}.")
    return 0


def _create_staff(args: argparse.Namespace) -> int:
    migrations.upgrade()
    try:
        staff.create_staff(args.merchant_email, args.email, args.password, args.role)
    except staff.StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Created {args.role} {args.email.strip().lower()} for the merchant of {args.merchant_email}.")
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    migrations.upgrade()
    started = time.perf_counter()
    result = seed.seed_demo(args.customers)
    print(
        f"Demo merchant {result.merchant_id}: {result.created_customers} customers added, "
        f"{result.total_customers} in all ({time.perf_counter() - started:.1f} s). "
        f"Log in as {config.DEMO_EMAIL} / {config.DEMO_PASSWORD}."
    )
    return 0


def _settle_cards(_args: argparse.Namespace) -> int:
    migrations.upgrade()
    started = time.perf_counter()
    settled = cards.settle_all()
    print(f"Expired points, stamps and visits and refilled membership limits on {settled} cards "
          f"({time.perf_counter() - started:.1f} s).")
    return 0


def _rfm(_args: argparse.Namespace) -> int:
    migrations.upgrade()
    for run in rfm.recompute_all():
        counts = ", ".join(f"{name} {count}" for name, count in run.counts.items())
        print(f"RFM merchant {run.merchant_id}: {run.customers} customers; {counts} ({run.duration_s:.1f} s).")
    return 0


def _worker(args: argparse.Namespace) -> int:
    logs.configure()
    migrations.upgrade()
    stop = threading.Event()
    # systemd / docker stop: finish the chunk in hand, record it, then exit.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.Worker().run(stop, once=args.once)
    return 0


def _backup(args: argparse.Namespace) -> int:
    try:
        target = backup.backup(config.database_url(), Path(args.file))
    except backup.BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Backup written to {target} ({target.stat().st_size} bytes).")
    return 0


def _restore(args: argparse.Namespace) -> int:
    try:
        backup.restore(config.database_url(), Path(args.file))
    except backup.BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Restored from {args.file}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perkstar_ui.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)
    create = commands.add_parser("create-merchant", help="create a merchant and its owner login")
    create.add_argument("--name", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.set_defaults(run=_create_merchant)
    member = commands.add_parser("create-staff", help="add a staff or manager login to the merchant of an owner")
    member.add_argument("--merchant-email", required=True, help="the email of one of the merchant's owners")
    member.add_argument("--email", required=True)
    member.add_argument("--password", required=True)
    member.add_argument("--role", required=True, choices=[staff.StaffRole.STAFF.value, staff.StaffRole.MANAGER.value])
    member.set_defaults(run=_create_staff)
    demo = commands.add_parser("seed-demo", help="fill the demo merchant with demo data")
    demo.add_argument("--customers", type=int, default=seed.DEFAULT_CUSTOMERS)
    demo.set_defaults(run=_seed_demo)
    commands.add_parser(
        "settle-cards", help="write due expiries and membership refills on every card (run nightly)"
    ).set_defaults(run=_settle_cards)
    commands.add_parser(
        "rfm", help="recompute the RFM segments of every merchant (idempotent; run daily)"
    ).set_defaults(run=_rfm)
    work = commands.add_parser(
        "worker", help="deliver queued SMS/email/push and run the recurring jobs (any number of processes)"
    )
    work.add_argument("--once", action="store_true", help="one round: due jobs, then deliver until nothing is due")
    work.set_defaults(run=_worker)
    save = commands.add_parser("backup", help="back up the database to FILE (safe while the app runs)")
    save.add_argument("file")
    save.set_defaults(run=_backup)
    load = commands.add_parser("restore", help="replace the database with the backup FILE (stop the app first)")
    load.add_argument("file")
    load.set_defaults(run=_restore)
    args = parser.parse_args(argv)
    config.settings_or_exit()  # a bad variable: one clear line, exit 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
