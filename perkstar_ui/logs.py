"""Structured logs: one JSON object per line with a request or event id.

``configure()`` runs once at start-up (the app's lifespan, the CLI worker). Each HTTP
request gets an id (the proxy's ``X-Request-ID`` or a new one, echoed in the response);
an event handler may bind its own with ``bind_request_id``. Every record logged while
it is bound carries it as ``request_id``. ``PERKSTAR_LOG_FORMAT=text`` for humans.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import secrets
import sys

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perkstar_ui.config import LogFormat, settings

REQUEST_ID_HEADER = "x-request-id"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("perkstar_request_id", default="")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def bind_request_id(value: str | None = None) -> contextvars.Token[str]:
    return _request_id.set(value or secrets.token_hex(8))


def current_request_id() -> str:
    return _request_id.get()


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(stream=None) -> logging.Handler:  # noqa: ANN001 - any text stream
    """Replace the root handlers with one that writes JSON (or text) lines to stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_RequestIdFilter())
    fmt = settings().log_format
    handler.setFormatter(JsonFormatter() if fmt == LogFormat.JSON else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "perkstar", False):
            root.removeHandler(old)
    handler.perkstar = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings().log_level.upper())
    return handler


class RequestIdMiddleware:
    """ASGI middleware: binds a request id for each HTTP request and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        token = bind_request_id(given[:64] if given else None)
        request_id = _request_id.get()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request_id.reset(token)
