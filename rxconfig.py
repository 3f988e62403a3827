"""Reflex configuration. Our own documented variables are read here and passed on,
because Reflex only reads ``REFLEX_``-prefixed ones from the environment."""

import os

import reflex as rx

from perkstar_ui.config import database_url

_port = os.environ.get("PERKSTAR_PORT", "3000")
_public_urls = os.environ.get("PERKSTAR_PUBLIC_URL", f"http://localhost:{_port},http://127.0.0.1:{_port}")

config = rx.Config(
    app_name="perkstar_ui",
    db_url=database_url(),
    redis_url=os.environ.get("REDIS_URL") or None,  # set for several backend workers
    # The websocket accepts only our own pages, not any site a merchant visits.
    cors_allowed_origins=[url.strip() for url in _public_urls.split(",") if url.strip()],
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="violet", radius="medium"))],
    # a sitemap of a logged-in back office helps no one
    disable_plugins=[rx.plugins.SitemapPlugin],
)
