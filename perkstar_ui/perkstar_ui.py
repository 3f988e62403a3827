"""The Reflex app: pages, their load events, and the HTTP routes beside them."""

import reflex as rx
import stripe

from perkstar_ui import startup
from perkstar_ui.api import ops, origins
from perkstar_ui.api.routes import api
from perkstar_ui.components.connection import connection_lost
from perkstar_ui.config import settings
from perkstar_ui.pages.campaigns import DETAIL_ROUTE as CAMPAIGN_ROUTE
from perkstar_ui.pages.campaigns import ROUTE as CAMPAIGNS_ROUTE
from perkstar_ui.pages.campaigns import campaign_page, campaigns_page
from perkstar_ui.pages.bench_ping import ROUTE as BENCH_PING_ROUTE
from perkstar_ui.pages.bench_ping import bench_ping_page
from perkstar_ui.pages.cards import cards_page
from perkstar_ui.pages.counter import ROUTE as COUNTER_ROUTE
from perkstar_ui.pages.counter import counter_page
from perkstar_ui.pages.customers import customers_page
from perkstar_ui.pages.login import login_page
from perkstar_ui.pages.profile import profile_page
from perkstar_ui.pages.public_card import META as CARD_META
from perkstar_ui.pages.public_card import ROUTE as CARD_ROUTE
from perkstar_ui.pages.public_card import public_card_page
from perkstar_ui.components.join_links import POSTER_ROUTE, poster_page
from perkstar_ui.pages.join import REFERRAL_ROUTE, join_page, referral_page
from perkstar_ui.pages.join import ROUTE as JOIN_ROUTE
from perkstar_ui.pages.sections import SECTIONS, section_page
from perkstar_ui.pages.segments import ROUTE as SEGMENTS_ROUTE
from perkstar_ui.pages.segments import segments_page
from perkstar_ui.pages.audit import audit_page
from perkstar_ui.pages.invite import ROUTE as INVITE_ROUTE
from perkstar_ui.pages.invite import invite_page
from perkstar_ui.pages.settings import settings_page
from perkstar_ui.pages.account import ACCOUNT_ROUTE, account_page
from perkstar_ui.services.worker import embedded_worker
from perkstar_ui.state.audit_log import AuditLogState
from perkstar_ui.state.auth import PageGateState
from perkstar_ui.state.campaign_list import CampaignDetailState, CampaignListState
from perkstar_ui.state.counter import CounterState
from perkstar_ui.state.card_templates import CardTemplatesState
from perkstar_ui.state.custom_fields import CustomFieldsState
from perkstar_ui.state.customers_page import CustomersPageState
from perkstar_ui.state.invite import InviteState
from perkstar_ui.state.login import LoginState
from perkstar_ui.state.profile import ProfileState
from perkstar_ui.state.public_card import PublicCardState
from perkstar_ui.state.join import JoinState
from perkstar_ui.state.join_links import JoinLinksState, PosterState
from perkstar_ui.state.segments import SegmentsState
from perkstar_ui.state import tab_records
from perkstar_ui.state.two_factor import TwoFactorState

# Settings valid, database (and Redis) reachable, or one clear line and a non-zero exit.
startup.check_or_exit()
# STRIPE_API_BASE: stripe-mock or a local test server instead of api.stripe.com.
if settings().stripe_api_base:
    stripe.api_base = settings().stripe_api_base

# With Redis, a tab whose worker was killed (SIGKILL, OOM) keeps its token and state when
# it reconnects: Reflex's TokenManager.create, called while rx.App() builds its event
# namespace, answers our TabRecords (state/tab_records.py). Must precede rx.App().
tab_records.install()
app = rx.App(api_transformer=api, html_lang="en")
# The websocket accepts its own origin on any host/port, plus PERKSTAR_PUBLIC_URL.
origins.install(app)
# A refused or lost websocket shows a banner on every page (contract id connection-lost).
app.app_wraps[(3, "ConnectionLost")] = lambda stateful: connection_lost() if stateful else None
app.add_middleware(ops.EventCounter())
ops.bind_connections(lambda: len(app.event_namespace.sid_to_token) if app.event_namespace else 0)
# Contract: JSON logs, then migrations, on start-up in the lifespan (not at import time),
# before the embedded worker: delivery and recurring jobs inside the app
# (PERKSTAR_EMBEDDED_WORKER, on by default; stopped and joined on shutdown / SIGTERM).
app.register_lifespan_task(startup.lifespan)
app.register_lifespan_task(embedded_worker)


def _home() -> rx.Component:
    return rx.fragment()


app.add_page(login_page, route="/login", title="Log in · Perkstar", on_load=LoginState.redirect_if_logged_in)
app.add_page(_home, route="/", on_load=rx.redirect("/customers"))
# Each private page's load is its login check too (``requires(page=True)``); the pages
# that load nothing else have ``require_login``.
app.add_page(
    customers_page, route="/customers", title="Customers · Perkstar",
    on_load=CustomersPageState.load,
)
app.add_page(
    profile_page, route="/customers/[customer_id]", title="Customer · Perkstar",
    on_load=ProfileState.load,
)
# Hidden, no login, nothing of any merchant: the benches' trivial click → render baseline.
app.add_page(bench_ping_page, route=BENCH_PING_ROUTE, title="Ping")
# The counter (issue 14): every role, staff included (view customers + card actions).
app.add_page(counter_page, route=COUNTER_ROUTE, title="Counter · Perkstar",
             on_load=CounterState.load)
app.add_page(cards_page, route="/cards", title="Cards · Perkstar",
             on_load=[CardTemplatesState.load, JoinLinksState.load])
app.add_page(poster_page, route=POSTER_ROUTE, title="Poster · Perkstar", on_load=PosterState.load)
# Public (no login): a card's own page, opened from its install link or the home screen.
app.add_page(public_card_page, route=CARD_ROUTE, title="Your card", meta=CARD_META, on_load=PublicCardState.load)
app.add_page(referral_page, route=REFERRAL_ROUTE, title="Join · Perkstar", on_load=JoinState.load)
# Public (no login): a card template's join link and poster QR, and "Lost your card?".
app.add_page(join_page, route=JOIN_ROUTE, title="Join · Perkstar", on_load=JoinState.load)
app.add_page(segments_page, route=SEGMENTS_ROUTE, title="Segments · Perkstar",
             on_load=[PageGateState.require_login, SegmentsState.load])
app.add_page(settings_page, route="/settings", title="Settings · Perkstar", on_load=CustomFieldsState.load)
app.add_page(audit_page, route="/settings/audit", title="Audit trail · Perkstar",
             on_load=AuditLogState.load)
# Public (no login): a staff invitation sets the password (the token is the secret).
app.add_page(invite_page, route=INVITE_ROUTE, title="Join · Perkstar", on_load=InviteState.load)
app.add_page(campaigns_page, route=CAMPAIGNS_ROUTE, title="Campaigns · Perkstar",
             on_load=CampaignListState.load)
app.add_page(campaign_page, route=CAMPAIGN_ROUTE, title="Campaign · Perkstar",
             on_load=CampaignDetailState.load)
app.add_page(account_page, route=ACCOUNT_ROUTE, title="Your sign-in · Perkstar",
             on_load=TwoFactorState.load)
for key, (title, _) in SECTIONS.items():
    app.add_page(section_page(key), route=f"/{key}", title=f"{title} · Perkstar", on_load=PageGateState.require_login)
