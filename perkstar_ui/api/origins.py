"""Which pages may open the websocket: our own, wherever we are served.

python-socketio (engine.io) checks the ``Origin`` of every websocket handshake against
``cors_allowed_origins``. Reflex hands it a fixed list from ``rx.Config``, so a start on
any other host or port (``reflex run --env prod --single-port --backend-port 8000``)
served pages whose websocket was refused. engine.io also accepts a callable that gets the
origin and the request's environ: we accept an origin whose host (and port) is the
request's own ``Host``, plus the ``PERKSTAR_PUBLIC_URL`` entries (a proxy that rewrites
``Host``). Every other origin is refused, and so is a handshake without a ``Host``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from perkstar_ui.config import settings

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _origin_key(url: str) -> tuple[str, int] | None:
    """``http://Example.com:80`` → ``("example.com", 80)``; None when it is no URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def _host_key(host: str, scheme: str) -> tuple[str, int] | None:
    """The ``Host`` header read with the origin's scheme for its default port."""
    return _origin_key(f"{scheme}://{host}") if host else None


def is_allowed(origin: str | None, host: str | None, public_urls: Iterable[str] = ()) -> bool:
    """Same origin (the origin's host:port is the request's ``Host``) or a configured URL."""
    if not origin:
        return False
    key = _origin_key(origin)
    if key is None:
        return False
    if any(_origin_key(url) == key for url in public_urls):
        return True
    scheme = urlsplit(origin).scheme
    return host is not None and _host_key(host.strip(), scheme) == key


def accepts(origin: str | None, environ: Mapping[str, Any] | None = None) -> bool:
    """engine.io's ``cors_allowed_origins`` callable (called as ``(origin, environ)``)."""
    host = (environ or {}).get("HTTP_HOST")
    return is_allowed(origin, host, settings().public_urls_configured)


def install(app: Any) -> None:
    """Replace the fixed origin list of the app's Socket.IO server with ``accepts``.

    The server is created in ``rx.App.__init__``; the check reads this attribute on every
    handshake, so setting it right after the app is made covers every connection.
    """
    app.sio.eio.cors_allowed_origins = accepts
