"""Reflex configuration. Our own documented variables are read here and passed on,
because Reflex only reads ``REFLEX_``-prefixed ones from the environment."""

import reflex as rx

from perkstar_ui.config import database_url, settings_or_exit

_settings = settings_or_exit()  # one clear line and exit 2 when a variable is bad

config = rx.Config(
    app_name="perkstar_ui",
    db_url=database_url(),
    redis_url=_settings.redis_url or None,  # set for several backend workers
    # The websocket accepts only our own pages, not any site a merchant visits.
    cors_allowed_origins=_settings.public_urls,
    # router.session.client_ip by the same rule as ours (api/client_address.py)
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="violet", radius="medium"))],
    # a sitemap of a logged-in back office helps no one
    disable_plugins=[rx.plugins.SitemapPlugin],
)
