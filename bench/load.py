"""Load test: N simulated counter tablets against the prod build (issue 15 item 3).

    .venv/bin/python -m bench.load --mode both --tablets 10,50,100,200

Per mode a throw-away database is seeded (``seed-demo``, 100k customers ≈ 1M ledger
rows), the app is started with Reflex's own flags (``reflex run --env prod --single-port
--backend-port P``) in a copy of the checkout (``--app-dir``, rsynced from this one; the
``.web`` build there is kept between runs), and for each N: N tablets log in (4 at a time:
the login throttle counts attempts in flight), then each repeats search a phone → open
the profile → add a stamp (open the dialog, apply it with a comment) → back to the grid,
with a think time between steps, for ``--duration`` seconds. Afterwards the ledger is
checked: exactly one ``stamps_added`` row per apply sent (each apply's comment names it).

Modes: ``sqlite`` (one worker: no Redis) and ``postgresql`` (PostgreSQL + Redis: Reflex's
default worker count, 2 × cores + 1). ``--py-spy N`` records the workers' stacks during
the run with N tablets (``py-spy`` in the venv) into ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import sqlalchemy as sa

from bench.common import seeded
from bench.load_tablet import Recorder, StepFailed, Tablet, Target
from perkstar_ui import config
from perkstar_ui.domain import ledger

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DEFAULT_APP_DIR = Path("/tmp/perkstar-load-app")
LOGIN_CONCURRENCY = 4  # the throttle counts attempts in flight as failures (5 free per email)
START_TIMEOUT = 900
REDIS_URL = "redis://127.0.0.1:6379/7"
STEPS = ("log in (ticket)", "log in (to grid)", "search phone", "open profile", "open add-stamps", "add stamp",
         "back to customers")


@dataclass
class RunResult:
    mode: str
    tablets: int
    seconds: float
    recorder: Recorder
    ledger_rows: int
    ledger_stamps: int
    duplicates: int
    load_before: str
    load_after: str
    client_cpu: float  # share of one core the load generator used

    @property
    def ledger_ok(self) -> bool:
        sent = self.recorder.stamps_sent
        return self.ledger_rows == sent and self.ledger_stamps == sent and self.duplicates == 0


def _uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pick_targets(merchant_id: int, limit: int) -> list[Target]:
    """Customers with a phone and exactly one card, a live stamp card: the profile opens on it."""
    from perkstar_ui.db.engine import get_engine

    sql = sa.text("""
        SELECT c.id, c.phone, MIN(k.id) AS card_id
        FROM customer c JOIN card k ON k.customer_id = c.id AND k.merchant_id = c.merchant_id
        WHERE c.merchant_id = :m AND c.phone IS NOT NULL
        GROUP BY c.id, c.phone
        HAVING COUNT(*) = 1 AND MIN(k.card_type) = 'stamp' AND MIN(k.status) <> 'deleted'
           AND (MIN(k.expires_on) IS NULL OR MIN(k.expires_on) > CURRENT_DATE)
        ORDER BY c.id LIMIT :limit
    """)
    with get_engine().connect() as connection:
        rows = connection.execute(sql, {"m": merchant_id, "limit": limit}).all()
    targets = [Target(row.id, row.phone, row.card_id) for row in rows]
    random.Random(15).shuffle(targets)
    return targets


def check_ledger(merchant_id: int, tag: str) -> tuple[int, int, int]:
    """(stamps_added rows, stamps they added, comments seen more than once) of this run."""
    from perkstar_ui.db.engine import get_engine

    sql = sa.text("""
        SELECT comment, COUNT(*) AS n, SUM(value_delta) AS stamps FROM card_transaction
        WHERE merchant_id = :m AND kind = :kind AND comment LIKE :tag GROUP BY comment
    """)
    with get_engine().connect() as connection:
        rows = connection.execute(sql, {"m": merchant_id, "kind": ledger.STAMPS_ADDED, "tag": f"{tag}-%"}).all()
    return sum(r.n for r in rows), sum(r.stamps for r in rows), sum(1 for r in rows if r.n > 1)


class Server:
    """``reflex run --env prod --single-port --backend-port P`` in the app copy, own process group."""

    def __init__(self, app_dir: Path, mode: str, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PERKSTAR_PORT=str(self.port), PYTHONDONTWRITEBYTECODE="1",
                   PATH=f"{app_dir / 'tools' / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}")
        env.pop("REDIS_URL", None)
        # As in production (docs/operations.md): delivery and the nightly jobs run in their own
        # `cli worker` process, not inside every backend worker; a freshly copied database
        # would otherwise settle all 100k cards in the middle of the measurement.
        env["PERKSTAR_EMBEDDED_WORKER"] = "false"
        if mode == "postgresql":
            env["REDIS_URL"] = REDIS_URL
        reflex = Path(sys.executable).with_name("reflex")
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [str(reflex), "run", "--env", "prod", "--single-port", "--backend-port", str(self.port)],
                cwd=app_dir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/ready", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(2)
        raise RuntimeError(f"app not ready in {START_TIMEOUT} s:\n{self.log.read_text()[-3000:]}")

    def pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(self.process.pid)], capture_output=True, text=True)
        return [int(line.split()[0]) for line in out.stdout.splitlines() if "python" in line or "granian" in line]

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


async def _tablet_loop(tablet: Tablet, targets: list[Target], recorder: Recorder, start: asyncio.Event,
                       deadline: list[float], think: float) -> None:
    rng = random.Random(tablet.token)

    async def pause() -> None:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)

    await start.wait()
    await asyncio.sleep(rng.uniform(0, 2 * think))  # tablets do not move in step
    number = 0
    for target in targets:
        if time.monotonic() >= deadline[0]:
            return
        steps = (("search phone", lambda: tablet.search(target)), ("open profile", lambda: tablet.open_profile(target)),
                 ("add stamp", lambda: tablet.add_stamp(target, number)), ("back to customers", tablet.back_to_customers))
        for name, step in steps:
            try:
                await step()
            except StepFailed as failure:
                recorder.fail(name, str(failure))
                try:  # back to a known screen, as a person would
                    await tablet.back_to_customers()
                except Exception:  # noqa: BLE001
                    return
                break
            except Exception as error:  # noqa: BLE001  a dropped socket etc.: counted, the tablet logs in again
                recorder.fail(name, f"{type(error).__name__}: {error}")
                return
            await pause()
        number += 1


async def run_load(url: str, tablets: int, targets: list[Target], duration: float, think: float,
                   tag: str) -> tuple[Recorder, float]:
    recorder = Recorder()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        fleet = [Tablet(url, http, recorder, f"{tag}-t{i}") for i in range(tablets)]
        gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

        async def log_in(tablet: Tablet) -> bool:
            async with gate:
                try:
                    await tablet.log_in(config.DEMO_EMAIL, config.DEMO_PASSWORD)
                    return True
                except Exception as error:  # noqa: BLE001
                    recorder.fail("log in", f"{type(error).__name__}: {error}")
                    return False

        logged = await asyncio.gather(*(log_in(t) for t in fleet))
        start, deadline = asyncio.Event(), [0.0]
        workers = [asyncio.create_task(_tablet_loop(t, targets[i::tablets], recorder, start, deadline, think))
                   for i, t in enumerate(fleet) if logged[i]]
        began = time.monotonic()
        deadline[0] = began + duration
        start.set()
        await asyncio.gather(*workers)
        elapsed = time.monotonic() - began
        await asyncio.gather(*(t.close() for t in fleet))
    return recorder, elapsed


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))] * 1000


def report(result: RunResult) -> str:
    rec = result.recorder
    lines = [f"\n[{result.mode}] {result.tablets} tablets, {result.seconds:.0f} s, load {result.load_before} → "
             f"{result.load_after}, load generator {result.client_cpu:.0%} of a core",
             f"{'step':<20}{'count':>7}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"]
    for step in STEPS:
        values, errors = rec.samples.get(step, []), len(rec.errors.get(step, []))
        if not values and not errors:
            continue
        per_s = len(values) / result.seconds if not step.startswith("log in") else float("nan")
        if values:
            lines.append(f"{step:<20}{len(values):>7}{per_s:>8.1f}{statistics.median(values) * 1000:>9.0f}"
                         f"{_pct(values, 0.95):>9.0f}{_pct(values, 0.99):>9.0f}{errors:>8}")
        else:
            lines.append(f"{step:<20}{0:>7}{'':>8}{'':>9}{'':>9}{'':>9}{errors:>8}")
    for step, errors in rec.errors.items():
        if step not in STEPS:
            lines.append(f"{step:<20}{'':>7}{'':>8}{'':>9}{'':>9}{'':>9}{len(errors):>8}")
    events = rec.events_sent / max(result.seconds, 1.0)
    lines.append(f"events sent {events:.1f}/s; stamps sent {rec.stamps_sent}, confirmed {rec.stamps_confirmed}; "
                 f"ledger: {result.ledger_rows} rows adding {result.ledger_stamps} stamps, "
                 f"{result.duplicates} applied twice → {'OK' if result.ledger_ok else 'MISMATCH'}")
    for step, errors in rec.errors.items():
        lines.append(f"  first errors of {step}: {errors[:3]}")
    return "\n".join(lines)


def sync_app(app_dir: Path) -> None:
    app_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rsync", "-a", "--delete", "--exclude", ".git", "--exclude", ".web", "--exclude", "*.db",
                    "--exclude", ".venv", "--exclude", "bench/results", f"{REPO}/", f"{app_dir}/"], check=True)
    if not (app_dir / "tools" / "node_modules" / ".bin" / "bun").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=app_dir / "tools", check=True)


def run_mode(mode: str, args: argparse.Namespace) -> list[RunResult]:
    results: list[RunResult] = []
    backend = "sqlite" if mode == "sqlite" else "postgresql"
    with seeded(backend, args.customers) as merchant_id:
        counts = [int(n) for n in args.tablets.split(",")]
        targets = pick_targets(merchant_id, max(counts) * 40)
        print(f"[{mode}] {len(targets)} target customers (one live stamp card each)", flush=True)
        RESULTS.mkdir(exist_ok=True)
        server = Server(args.app_dir, mode, RESULTS / f"load-{mode}-server.log")
        try:
            server.wait_ready()
            print(f"[{mode}] app at {server.url}, processes {server.pids()}", flush=True)
            for tablets in counts:
                tag = f"load-{uuid.uuid4().hex[:6]}-{tablets}"
                spy = _start_py_spy(server, mode, tablets, args) if args.py_spy == tablets else None
                before, cpu0, wall0 = _uptime(), time.process_time(), time.monotonic()
                recorder, elapsed = asyncio.run(run_load(server.url, tablets, targets, args.duration, args.think, tag))
                client_cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
                if spy is not None:
                    spy.wait()
                time.sleep(2)  # a last apply's commit
                rows, stamps, duplicates = check_ledger(merchant_id, tag)
                result = RunResult(mode, tablets, elapsed, recorder, rows, stamps, duplicates, before, _uptime(),
                                   client_cpu)
                print(report(result), flush=True)
                results.append(result)
        finally:
            server.stop()
    return results


def _start_py_spy(server: Server, mode: str, tablets: int, args: argparse.Namespace) -> subprocess.Popen:
    out = RESULTS / f"py-spy-{mode}-{tablets}.txt"
    seconds = int(args.duration + tablets / LOGIN_CONCURRENCY * 0.5)
    print(f"[{mode}] py-spy recording {seconds} s into {out}", flush=True)
    return subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(server.process.pid),
                             "--subprocesses", "--nonblocking", "--duration", str(seconds), "--format", "raw",
                             "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--tablets", default="10,50,100,200", help="comma-separated tablet counts")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per tablet count")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between a tablet's steps")
    parser.add_argument("--app-dir", type=Path, default=DEFAULT_APP_DIR, help="where the app copy is built and run")
    parser.add_argument("--no-sync", action="store_true", help="run the app dir as it is (no rsync from here)")
    parser.add_argument("--py-spy", type=int, default=0, metavar="N", help="profile the workers during the run with N")
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C, so the app's process group is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if not args.no_sync:
        sync_app(args.app_dir)
    print(f"machine: {os.cpu_count()} cores, load {_uptime()}", flush=True)
    results = []
    for mode in (("sqlite", "postgresql") if args.mode == "both" else (args.mode,)):
        results += run_mode(mode, args)
    RESULTS.mkdir(exist_ok=True)
    summary = [{"mode": r.mode, "tablets": r.tablets, "seconds": r.seconds, "load": [r.load_before, r.load_after],
                "ledger_ok": r.ledger_ok, "stamps_sent": r.recorder.stamps_sent, "errors": r.recorder.errors,
                "samples_ms": {k: [round(v * 1000, 1) for v in vs] for k, vs in r.recorder.samples.items()}}
               for r in results]
    out = RESULTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(summary))
    print(f"\nraw samples: {out}")
    if not all(r.ledger_ok for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
