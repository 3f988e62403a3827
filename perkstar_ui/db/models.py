"""Every table of the app, in one place (SQLModel; migrations in ``db/migrations``).

Conventions:
- every row that belongs to a merchant carries ``merchant_id`` and subclasses
  ``TenantScoped``: the session layer (``db/tenancy.py``) adds the merchant filter to
  every ORM query on these tables, so scoping cannot be forgotten in a query;
- money in integer cents, points in integer centipoints (see ``domain/card_types``);
- timestamps are timezone-aware UTC (``utcnow``), calendar days are ``date``;
- the card ledger (``CardTransaction``) is append-only: corrections are new rows that
  point at the row they reverse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import JSON, Column, DateTime, Field, SQLModel

from perkstar_ui.domain.serials import random_code


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored timestamp in UTC: SQLite hands back naive values (they are UTC),
    PostgreSQL aware ones in the connection's time zone, which need not be UTC."""
    return value.astimezone(dt.timezone.utc) if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _ts(**kwargs: Any) -> Any:
    """A timezone-aware timestamp column."""
    index = kwargs.pop("index", False)
    nullable = kwargs.pop("nullable", False)
    return Field(
        sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index),
        **kwargs,
    )


class TenantScoped:
    """Marker for tables whose rows belong to one merchant (see ``db/tenancy.py``)."""

    merchant_id: int  # declared as a column by each table


# --- accounts -----------------------------------------------------------------------


class Merchant(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    # ISO 3166 region used to read phone numbers typed without a "+".
    default_country: str = Field(default="GB", max_length=2)
    # RFM (rfm.md): the analysis window and how long an unscored customer counts as new.
    rfm_window_days: int = Field(default=365, sa_column_kwargs={"server_default": "365"})
    rfm_new_customer_days: int = Field(default=30, sa_column_kwargs={"server_default": "30"})
    # When the last RFM run stored the merchant's customer_rfm rows (None: never).
    rfm_computed_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    # IANA zone for schedules and dates shown to the merchant.
    timezone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    # True when the merchant's sign-up forms collect marketing consent (new customers then
    # start with the consent they gave); otherwise new customers start without SMS consent.
    consent_at_signup: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Stripe (issue 12): the merchant's secret key and webhook signing secret, Fernet-encrypted
    # with PERKSTAR_SECRET_KEY (services.stripe_account); the public token of its own webhook
    # path /api/stripe/webhook/{token}, which says whose signing secret applies.
    stripe_secret_key_enc: Optional[str] = Field(default=None, max_length=1000)
    stripe_webhook_secret_enc: Optional[str] = Field(default=None, max_length=1000)
    stripe_webhook_token: Optional[str] = Field(default=None, max_length=43, unique=True)
    # Account settings (issue 13): ISO 4217 currency, display date format, and whether
    # managers must use two-factor sign-in.
    currency: str = Field(default="GBP", max_length=3, sa_column_kwargs={"server_default": "GBP"})
    date_format: str = Field(default="YYYY-MM-DD", max_length=20, sa_column_kwargs={"server_default": "YYYY-MM-DD"})
    require_2fa_for_managers: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Public sign-ups (issue 14, services.signup): at most this many per client address an
    # hour, per referral code a day and per card template a day; and whether a welcome or
    # referral bonus waits until the new customer confirms a code sent to their phone/email.
    signup_ip_per_hour: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    signup_code_per_day: int = Field(default=20, sa_column_kwargs={"server_default": "20"})
    signup_template_per_day: int = Field(default=200, sa_column_kwargs={"server_default": "200"})
    verify_contact_for_bonus: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Bumped by every transaction that deletes customers or ledger rows: the dashboard's
    # settled counts (services.dashboard) are recounted after it.
    deletions: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: dt.datetime = _ts(default_factory=utcnow)


class StaffUser(SQLModel, TenantScoped, table=True):
    __tablename__ = "staff_user"
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    email: str = Field(max_length=254, sa_column_kwargs={"unique": True})  # lower-case
    password_hash: str = Field(max_length=255)
    role: str = Field(default="owner", max_length=20)  # owner / manager / staff
    # A deactivated user cannot log in and their sessions end at once.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    deactivated_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    # Two-factor sign-in (TOTP): the secret Fernet-encrypted with PERKSTAR_SECRET_KEY, and
    # SHA-256 hashes of the unused recovery codes.
    totp_secret_enc: Optional[str] = Field(default=None, max_length=400)
    totp_enabled: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    recovery_code_hashes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False,
                                                                                  server_default="[]"))
    # The TOTP time step (unix time // 30) of the last code accepted: a code is accepted
    # once, and never one older than it (RFC 6238 §5.2; services.two_factor.check_code).
    totp_last_step: Optional[int] = Field(default=None)
    created_at: dt.datetime = _ts(default_factory=utcnow)


class StaffInvite(SQLModel, TenantScoped, table=True):
    """An owner's invitation: a one-time link (48 h) through the outbox that sets a password.

    ``token_hash`` is the SHA-256 of the link's token, minted when the outbox sends
    ``message_id`` (the stored email body holds a placeholder, never the link); until then
    it hashes a token nobody has. Revoking (or inviting the same email again) sets
    ``revoked_at``: the link is dead."""

    __tablename__ = "staff_invite"
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    email: str = Field(max_length=254)
    role: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: dt.datetime = _ts()
    accepted_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    revoked_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    message_id: Optional[int] = Field(default=None, foreign_key="message.id", ondelete="SET NULL", index=True)
    invited_by_id: Optional[int] = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    created_at: dt.datetime = _ts(default_factory=utcnow)


class AuditEntry(SQLModel, TenantScoped, table=True):
    """Append-only: who did what, when, from where (logins, exports, imports, deletions, bulk
    actions, template, settings and staff changes, campaign sends). Never updated."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_merchant_created", "merchant_id", "created_at"),
        sa.Index("ix_audit_log_merchant_action_created", "merchant_id", "action", "created_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    staff_user_id: Optional[int] = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    actor_email: str = Field(default="", max_length=254)  # kept when the user is gone
    action: str = Field(max_length=40)  # e.g. login, export, customer-delete (contract v2)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ip: Optional[str] = Field(default=None, max_length=64)
    created_at: dt.datetime = _ts(default_factory=utcnow)


class LoginSession(SQLModel, table=True):
    """A server-side login. The browser holds the token, the database only its hash.

    A row is created by a successful password check with a one-time ``ticket`` (valid
    for seconds); the ``/api/session`` route trades the ticket for the session cookie.
    """

    __tablename__ = "login_session"
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    staff_user_id: int = Field(foreign_key="staff_user.id", index=True)
    token_hash: Optional[str] = Field(default=None, max_length=64, unique=True)
    ticket_hash: Optional[str] = Field(default=None, max_length=64, unique=True)
    ticket_expires_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    # Hash of the pre-login cookie of the browser that typed the password: the ticket is
    # only redeemed by that browser (login CSRF).
    browser_hash: Optional[str] = Field(default=None, max_length=64)
    created_at: dt.datetime = _ts(default_factory=utcnow)
    expires_at: dt.datetime = _ts(index=True)


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_email_at", "email", "attempted_at"),
        sa.Index("ix_login_attempt_ip_at", "ip", "attempted_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    ip: Optional[str] = Field(default=None, max_length=64)
    succeeded: bool = False
    attempted_at: dt.datetime = _ts(default_factory=utcnow)


# --- customers ----------------------------------------------------------------------


class Customer(SQLModel, TenantScoped, table=True):
    __table_args__ = (
        # One phone / one email identifies one customer per merchant (spec Q9).
        sa.UniqueConstraint("merchant_id", "phone", name="uq_customer_merchant_phone"),
        sa.UniqueConstraint("merchant_id", "email", name="uq_customer_merchant_email"),
        sa.Index("ix_customer_merchant_created", "merchant_id", "created_at"),
        sa.Index("ix_customer_merchant_search_name", "merchant_id", "search_name"),
        # A substring search reads this covering index alone instead of every row.
        sa.Index("ix_customer_merchant_search_text", "merchant_id", "search_text"),
        sa.Index("ix_customer_merchant_birthdate", "merchant_id", "birthdate"),
        # The dashboard counts only the newest customers of a merchant on each visit.
        sa.Index("ix_customer_merchant_id", "merchant_id", "id"),
        sa.UniqueConstraint("unsubscribe_token", name="uq_customer_unsubscribe_token"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    # Case- and accent-folded "first last" (domain.contacts.search_fold): search and sort.
    search_name: str = Field(default="", max_length=201)
    # search_name + email + phone digits (domain.contacts.search_text): the grid search.
    search_text: str = Field(default="", max_length=500)
    phone: Optional[str] = Field(default=None, max_length=20)  # E.164
    email: Optional[str] = Field(default=None, max_length=254)  # lower-case
    birthdate: Optional[dt.date] = None
    gender: Optional[str] = Field(default=None, max_length=10)
    utm: Optional[str] = Field(default=None, max_length=100)
    # Marketing consent per channel (customers.md §14, issue 11); withdrawn by the
    # unsubscribe link, whose token identifies the customer without a login.
    sms_consent: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    email_consent: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    unsubscribe_token: Optional[str] = Field(default=None, max_length=43)
    created_at: dt.datetime = _ts(default_factory=utcnow)
    updated_at: dt.datetime = _ts(default_factory=utcnow)


class CustomFieldDefinition(SQLModel, TenantScoped, table=True):
    __tablename__ = "custom_field_definition"
    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "key", name="uq_custom_field_merchant_key"),
        sa.CheckConstraint(
            "field_type IN ('text', 'number', 'date', 'choice')", name="ck_custom_field_type"
        ),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    key: str = Field(max_length=40)
    label: str = Field(max_length=80)
    field_type: str = Field(default="text", max_length=10)
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    position: int = 0


class CustomFieldValue(SQLModel, TenantScoped, table=True):
    __tablename__ = "custom_field_value"
    __table_args__ = (
        sa.UniqueConstraint("customer_id", "field_id", name="uq_custom_value_customer_field"),
        sa.Index("ix_custom_field_value_merchant_customer", "merchant_id", "customer_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    field_id: int = Field(foreign_key="custom_field_definition.id", index=True, ondelete="CASCADE")
    value: str = Field(max_length=500)


# --- cards --------------------------------------------------------------------------

CARD_TYPES_SQL = "('stamp','multipass','cashback','gift','reward','coupon','membership','discount')"


class CardTemplate(SQLModel, TenantScoped, table=True):
    __tablename__ = "card_template"
    __table_args__ = (
        sa.CheckConstraint(f"card_type IN {CARD_TYPES_SQL}", name="ck_card_template_type"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    name: str = Field(max_length=120)
    card_type: str = Field(max_length=12)
    # Validated by ``domain.card_types.validate_settings`` before it is stored.
    settings: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    activated_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    # The public join link /join/{join_code} (issue 14): unique across merchants.
    join_code: str = Field(default_factory=lambda: random_code(10), max_length=16, unique=True)
    created_at: dt.datetime = _ts(default_factory=utcnow)


class Card(SQLModel, TenantScoped, table=True):
    """One issued card. Balances here are a cache of the ledger, kept by the card engine."""

    __table_args__ = (
        sa.CheckConstraint(f"card_type IN {CARD_TYPES_SQL}", name="ck_card_type"),
        sa.CheckConstraint(
            "status IN ('installed', 'uninstalled', 'deleted')", name="ck_card_status"
        ),
        sa.CheckConstraint("balance >= 0", name="ck_card_balance_not_negative"),
        # Every query carries merchant_id = ?; indexes lead with it so the planner
        # never trades a selective index for the bare merchant filter.
        sa.Index("ix_card_merchant_customer", "merchant_id", "customer_id"),
        sa.Index("ix_card_merchant_serial", "merchant_id", "serial"),
        # Filter conditions on cards (status, device, expiry, template) read these.
        sa.Index("ix_card_merchant_status_expires_customer", "merchant_id", "status", "expires_on", "customer_id"),
        sa.Index("ix_card_merchant_device_customer", "merchant_id", "device", "customer_id"),
        sa.Index("ix_card_merchant_expires_customer", "merchant_id", "expires_on", "customer_id"),
        sa.Index("ix_card_merchant_template_customer", "merchant_id", "template_id", "customer_id"),
        sa.Index("ix_card_merchant_activity_customer", "merchant_id", "last_activity_at", "customer_id"),
        # The Stripe webhook finds a card across merchants by its subscription or customer.
        sa.Index("ix_card_stripe_subscription", "stripe_subscription_id"),
        sa.Index("ix_card_stripe_customer", "stripe_customer_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    customer_id: int = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    template_id: int = Field(foreign_key="card_template.id", index=True)
    card_type: str = Field(max_length=12)
    serial: str = Field(max_length=20, unique=True)
    status: str = Field(default="uninstalled", max_length=12)
    device: Optional[str] = Field(default=None, max_length=20)  # apple_wallet/google_wallet/pwa
    utm: Optional[str] = Field(default=None, max_length=100)
    issued_at: dt.datetime = _ts(default_factory=utcnow)
    installed_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    expires_on: Optional[dt.date] = None
    install_token: str = Field(max_length=43, unique=True)
    referral_code: str = Field(max_length=16, unique=True)
    # Indexed: deleting a card looks up the cards it referred (foreign-key action).
    referred_by_card_id: Optional[int] = Field(default=None, foreign_key="card.id", ondelete="SET NULL", index=True)
    # True while the card's welcome and referral bonuses wait for the holder to confirm a
    # code sent to their contact (the merchant's ``verify_contact_for_bonus``); cleared once.
    bonus_hold: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Ledger caches (units per ``domain.card_types.BALANCE_UNITS``).
    balance: int = 0
    rewards_available: int = 0
    spend_total_cents: int = 0
    ltv_cents: int = 0
    tier: Optional[str] = Field(default=None, max_length=40)
    metrics: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_activity_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    # Optimistic-lock counter: two tablets updating one card cannot both win.
    version: int = 0
    # Stripe memberships (issue 12): the links, and a cache of what the ledger's
    # subscription entries say (domain.stripe_rules): status (pending_payment / valid /
    # past_due / cancelled), the paid period's end (renewal = expiration) and the watermark
    # (``created`` × 8 + type rank) of the last applied subscription event.
    stripe_subscription_id: Optional[str] = Field(default=None, max_length=255)
    stripe_customer_id: Optional[str] = Field(default=None, max_length=255)
    subscription_status: Optional[str] = Field(default=None, max_length=20)
    subscription_period_end: Optional[dt.date] = None
    stripe_watermark: Optional[int] = Field(default=None, sa_column=Column(sa.BigInteger, nullable=True))


class CardTransaction(SQLModel, TenantScoped, table=True):
    """Append-only ledger row. Never updated or deleted except with its customer."""

    __tablename__ = "card_transaction"
    __table_args__ = (
        sa.UniqueConstraint(
            "merchant_id", "idempotency_key", name="uq_card_transaction_idempotency"
        ),
        sa.Index("ix_card_transaction_card_created", "card_id", "created_at"),
        sa.Index("ix_card_transaction_merchant_card_created", "merchant_id", "card_id", "created_at"),
        sa.Index("ix_card_transaction_merchant_action", "merchant_id", "action_key"),
        # "Visits in the last N days" and RFM read (merchant, time range) → customer, kind
        # from the index alone.
        sa.Index("ix_card_transaction_merchant_created_customer", "merchant_id", "created_at", "customer_id", "kind"),
        # The dashboard counts only the newest ledger rows of a merchant on each visit.
        sa.Index("ix_card_transaction_merchant_id", "merchant_id", "id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    card_id: int = Field(foreign_key="card.id", ondelete="CASCADE")
    customer_id: int = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=40)  # e.g. stamps_added, reward_redeemed, correction
    value_delta: int = 0  # change of the main balance, in the card type's unit
    rewards_delta: int = 0
    points_delta: int = 0  # centipoints beside the main balance (multipass bonus)
    spend_delta_cents: int = 0
    purchase_cents: Optional[int] = None
    balance_after: int = 0
    source: str = Field(default="dashboard", max_length=20)  # dashboard/scanner/import/...
    staff_user_id: Optional[int] = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    comment: Optional[str] = Field(default=None, max_length=500)
    # Indexed: every deleted ledger row looks up its corrections (foreign-key action), and
    # RFM reads the corrected rows.
    correction_of_id: Optional[int] = Field(
        default=None, foreign_key="card_transaction.id", ondelete="SET NULL", index=True
    )
    idempotency_key: Optional[str] = Field(default=None, max_length=64)
    # All entries one action wrote share its key, so a correction reverses the whole action.
    action_key: Optional[str] = Field(default=None, max_length=64)
    # reward, tier, period, corrected kind, a Stripe subscription's state (JSON)
    detail: Optional[str] = Field(default=None, max_length=500)
    lot_expires_on: Optional[dt.date] = None  # when the points or visits this entry added expire
    created_at: dt.datetime = _ts(default_factory=utcnow)


class Review(SQLModel, TenantScoped, table=True):
    __table_args__ = (
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_review_rating_range"),
        sa.Index("ix_review_merchant_created", "merchant_id", "created_at"),
        sa.Index("ix_review_merchant_customer", "merchant_id", "customer_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    customer_id: Optional[int] = Field(default=None, foreign_key="customer.id", index=True, ondelete="CASCADE")
    card_id: Optional[int] = Field(default=None, foreign_key="card.id", index=True, ondelete="CASCADE")
    rating: int
    text: Optional[str] = Field(default=None, max_length=2000)
    created_at: dt.datetime = _ts(default_factory=utcnow)


# --- imports ------------------------------------------------------------------------


class ImportBatch(SQLModel, TenantScoped, table=True):
    """One applied import file: who, when, what it did; undone as a whole."""

    __tablename__ = "import_batch"
    __table_args__ = (sa.Index("ix_import_batch_merchant_created", "merchant_id", "created_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    staff_user_id: Optional[int] = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    file_name: str = Field(max_length=255)
    template_id: Optional[int] = Field(default=None, foreign_key="card_template.id", ondelete="SET NULL")
    created_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0
    rejected_count: int = 0
    status: str = Field(default="applied", max_length=12)  # applied / undone
    created_at: dt.datetime = _ts(default_factory=utcnow)
    undone_at: Optional[dt.datetime] = _ts(default=None, nullable=True)


class ImportChange(SQLModel, TenantScoped, table=True):
    """What an import did to one customer, so it can be taken back precisely."""

    __tablename__ = "import_change"
    __table_args__ = (sa.Index("ix_import_change_merchant_batch", "merchant_id", "batch_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    batch_id: int = Field(foreign_key="import_batch.id", ondelete="CASCADE")
    customer_id: int = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    action: str = Field(max_length=10)  # created / updated
    filled: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # field → value set
    card_id: Optional[int] = Field(default=None, foreign_key="card.id", ondelete="SET NULL", index=True)


# --- room for segments, communication and billing -------------------------------------


class Segment(SQLModel, TenantScoped, table=True):
    """A saved filter (``domain.filters`` JSON), evaluated whenever it is used."""

    __table_args__ = (sa.UniqueConstraint("merchant_id", "name", name="uq_segment_merchant_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    name: str = Field(max_length=120)
    criteria: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = _ts(default_factory=utcnow)
    updated_at: dt.datetime = _ts(default_factory=utcnow)


class CustomerRfm(SQLModel, TenantScoped, table=True):
    """A customer's RFM inputs, scores and segment from the last run (rfm.md); a run writes
    only the rows that changed. The last visit is kept as a day (recency is derived from it:
    ``domain.rfm.recency_days``), so rows do not change just because a day passed; when they
    were computed is the merchant's ``rfm_computed_at``.

    Unscored customers have no R/F/M (their segment may still be New or Lost); customers
    without any segment have no row."""

    __tablename__ = "customer_rfm"
    __table_args__ = (sa.Index("ix_customer_rfm_merchant_segment", "merchant_id", "segment", "customer_id"),)
    customer_id: int = Field(foreign_key="customer.id", primary_key=True, ondelete="CASCADE")
    merchant_id: int = Field(foreign_key="merchant.id")
    last_visit_on: Optional[dt.date] = None  # UTC day of the last visit ever (None: never visited)
    frequency: int = 0
    monetary_cents: int = 0
    r: Optional[int] = None
    f: Optional[int] = None
    m: Optional[int] = None
    fm: Optional[int] = None
    segment: Optional[str] = Field(default=None, max_length=30)


class Campaign(SQLModel, TenantScoped, table=True):
    """One message to many customers (or a test send): who it targets, what it says, when."""

    __table_args__ = (
        sa.Index("ix_campaign_merchant_created", "merchant_id", "created_at"),
        # The worker finds due scheduled campaigns across merchants.
        sa.Index("ix_campaign_status_send_at", "status", "send_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    channel: str = Field(max_length=10)  # sms / email / push
    audience: str = Field(max_length=12)  # selected / filter / segment / template / test
    # What the audience was when sent: the filter JSON and search, the segment id, the
    # template id, or the picked customer ids.
    audience_detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    subject: Optional[str] = Field(default=None, max_length=200)
    body: str = Field(max_length=2000)
    status: str = Field(default="draft", max_length=12)  # draft/scheduled/queuing/sending/done/cancelled/failed
    problem: Optional[str] = Field(default=None, max_length=500)  # why a due campaign could not be queued
    send_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    recipients: int = 0
    staff_user_id: Optional[int] = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    created_at: dt.datetime = _ts(default_factory=utcnow)
    queued_at: Optional[dt.datetime] = _ts(default=None, nullable=True)


class Message(SQLModel, TenantScoped, table=True):
    """Outbox of SMS / email / push, written in the transaction that decided to send.

    A worker claims ``queued`` rows whose ``next_attempt_at`` is due (setting
    ``claimed_until``, a lease), sends, and marks ``sent`` only after the provider accepted;
    a failed attempt goes back to ``queued`` with back-off until ``attempts`` reaches the
    maximum, then ``failed`` with ``reason``. A lease that runs out (a killed worker) makes
    the row claimable again. ``skipped`` rows were never sendable (no consent, no address,
    not installed, no provider) and say why in ``reason``."""

    __table_args__ = (
        sa.Index("ix_message_merchant_status", "merchant_id", "status"),
        sa.Index("ix_message_status_next_attempt", "status", "next_attempt_at"),
        sa.Index("ix_message_campaign_status", "campaign_id", "status"),
        sa.Index("ix_message_provider_id", "provider_message_id"),
        # A card page's messages, and the foreign-key action when a card is deleted.
        sa.Index("ix_message_card", "card_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    customer_id: Optional[int] = Field(default=None, foreign_key="customer.id", index=True, ondelete="CASCADE")
    card_id: Optional[int] = Field(default=None, foreign_key="card.id", ondelete="CASCADE")
    campaign_id: Optional[int] = Field(default=None, foreign_key="campaign.id", ondelete="CASCADE")
    channel: str = Field(max_length=10)  # sms / email / push
    recipient: str = Field(max_length=254)
    subject: Optional[str] = Field(default=None, max_length=200)
    body: str = Field(max_length=2000)
    status: str = Field(default="queued", max_length=12)  # queued/sent/delivered/failed/skipped/cancelled
    reason: Optional[str] = Field(default=None, max_length=500)  # why skipped / failed (last error)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: Optional[dt.datetime] = _ts(default_factory=utcnow, nullable=True)
    claimed_until: Optional[dt.datetime] = _ts(default=None, nullable=True)
    claimed_by: Optional[str] = Field(default=None, max_length=80)
    provider_message_id: Optional[str] = Field(default=None, max_length=120)
    created_at: dt.datetime = _ts(default_factory=utcnow)
    sent_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    delivered_at: Optional[dt.datetime] = _ts(default=None, nullable=True)


class PushSubscription(SQLModel, TenantScoped, table=True):
    """A browser's Web Push subscription for one card page (the holder's phone)."""

    __tablename__ = "push_subscription"
    __table_args__ = (sa.Index("ix_push_subscription_card", "card_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    card_id: int = Field(foreign_key="card.id", ondelete="CASCADE")
    endpoint: str = Field(max_length=1000, unique=True)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    created_at: dt.datetime = _ts(default_factory=utcnow)


class ContactCode(SQLModel, TenantScoped, table=True):
    """A confirmation code sent through the outbox to a customer's phone or email (issue 14):
    ``restore`` opens their card on a new phone, ``verify`` releases a held sign-up bonus.
    Only the SHA-256 of the code is kept; it expires and allows a few attempts."""

    __tablename__ = "contact_code"
    __table_args__ = (sa.Index("ix_contact_code_merchant_customer", "merchant_id", "customer_id", "purpose"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE")
    card_id: Optional[int] = Field(default=None, foreign_key="card.id", ondelete="CASCADE")
    template_id: Optional[int] = Field(default=None, foreign_key="card_template.id", ondelete="CASCADE")
    purpose: str = Field(max_length=10)  # restore / verify (domain.signup.CodePurpose)
    code_hash: str = Field(max_length=64)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    expires_at: dt.datetime = _ts()
    used_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    created_at: dt.datetime = _ts(default_factory=utcnow)


class JobRun(SQLModel, table=True):
    """A recurring job's run for one period: the unique key makes it run once per period
    across every worker (the first to insert the row runs it)."""

    __tablename__ = "job_run"
    __table_args__ = (sa.UniqueConstraint("job", "period", name="uq_job_run_job_period"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    job: str = Field(max_length=40)
    period: str = Field(max_length=40)  # e.g. 2026-11-30 for a daily job
    worker: str = Field(max_length=80)
    started_at: dt.datetime = _ts(default_factory=utcnow)
    finished_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    result: Optional[str] = Field(default=None, max_length=500)


class SystemSetting(SQLModel, table=True):
    """Installation-wide values the app makes once and keeps (e.g. the VAPID key pair)."""

    __tablename__ = "system_setting"
    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(max_length=4000)
    created_at: dt.datetime = _ts(default_factory=utcnow)


class StripeEvent(SQLModel, table=True):
    """Webhook events by Stripe id, so a redelivered event is applied once.

    Written in the transaction of its effect (``outcome`` applied / stale / ignored /
    unknown_card); an event that failed to apply is stored with ``error`` and retried by the
    worker at ``next_attempt_at`` (outcome failed) until it applies: never lost. Events for
    a card not (yet) known keep their subscription and customer ids and are applied once a
    later event links that subscription to a card."""

    __tablename__ = "stripe_event"
    __table_args__ = (
        sa.Index("ix_stripe_event_outcome_next_attempt", "outcome", "next_attempt_at"),
        sa.Index("ix_stripe_event_subscription", "subscription_id"),
        sa.Index("ix_stripe_event_customer", "customer_id"),
    )
    id: str = Field(primary_key=True, max_length=255)
    merchant_id: Optional[int] = Field(default=None, foreign_key="merchant.id", index=True)
    event_type: str = Field(max_length=100)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: dt.datetime = _ts(default_factory=utcnow)
    processed_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    card_id: Optional[int] = Field(default=None, foreign_key="card.id", ondelete="SET NULL")
    subscription_id: Optional[str] = Field(default=None, max_length=255)
    customer_id: Optional[str] = Field(default=None, max_length=255)
    outcome: Optional[str] = Field(default=None, max_length=20)
    error: Optional[str] = Field(default=None, max_length=1000)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: Optional[dt.datetime] = _ts(default=None, nullable=True)

