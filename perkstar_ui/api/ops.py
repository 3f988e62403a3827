"""Operations endpoints: ``/api/health`` (liveness: the process answers, no database),
``/api/ready`` (database, Redis if configured, migrations at head) and ``/api/metrics``
(Prometheus text format). They show no merchant data, so they need no login; keep
``/api/metrics`` to the monitoring network at the proxy (deploy/nginx.conf)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from perkstar_ui.api.guard import public_route
from perkstar_ui.config import settings
from perkstar_ui.services import metrics, readiness

log = logging.getLogger("perkstar.ops")

# Set by ``bind_connections`` once the app exists: how many websockets this process holds.
_connection_count: list[Callable[[], int]] = []


def bind_connections(count: Callable[[], int]) -> None:
    _connection_count[:] = [count]


class EventCounter:
    """A Reflex middleware (``app.add_middleware``): counts each event as it starts."""

    async def preprocess(self, app: Any, state: Any, event: Any) -> None:
        metrics.EVENTS_STARTED.labels(handler=event.name).inc()
        return None

    async def postprocess(self, app: Any, state: Any, event: Any, update: Any) -> Any:
        return update


@public_route
async def health(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


@public_route
async def ready(_request: Request) -> Response:
    """Public, so it names only each check's outcome (``ok`` / ``failed``): a failure's
    detail (host names, driver errors, revisions) goes to the log, never to the caller."""
    checks = await asyncio.to_thread(readiness.readiness, settings())
    ok = all(check.ok for check in checks)
    for check in checks:
        if not check.ok:
            log.warning("not ready: %s failed: %s", check.name, check.detail, extra={"check": check.name})
    body = {
        "status": "ready" if ok else "not ready",
        "checks": {check.name: "ok" if check.ok else "failed" for check in checks},
    }
    return JSONResponse(body, status_code=200 if ok else 503)


def _refresh_gauges() -> None:
    metrics.OUTBOX_DEPTH.set(readiness.outbox_depth())
    metrics.WEBHOOK_FAILURES.set(readiness.failing_webhooks())


@public_route
async def prometheus(_request: Request) -> Response:
    await asyncio.to_thread(_refresh_gauges)
    metrics.WEBSOCKETS.set(_connection_count[0]() if _connection_count else 0)
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


ROUTES = [
    Route("/api/health", health, methods=["GET"]),
    Route("/api/ready", ready, methods=["GET"]),
    Route("/api/metrics", prometheus, methods=["GET"]),
]
