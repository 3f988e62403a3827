"""The environment, read once into one settings object (documented in docs/testing.md).

``rxconfig.py`` and the app both read ``settings()``; tests that change the environment
call ``settings.cache_clear()``. Names are the documented variables themselves
(``DATABASE_URL``, ``SMTP_HOST``, …), not ``REFLEX_``-prefixed.
"""

from __future__ import annotations

import enum
import functools
import sys
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'perkstar.db'}"


class SmtpSecurity(str, enum.Enum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class LogFormat(str, enum.Enum):
    JSON = "json"
    TEXT = "text"


DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    redis_url: str = Field(default="", validation_alias="REDIS_URL")
    port: int = Field(default=3000, validation_alias="PERKSTAR_PORT")
    # Origins the websocket accepts, comma-separated; default: this machine on PORT.
    public_url: str = Field(default="", validation_alias="PERKSTAR_PUBLIC_URL")
    session_hours: float = Field(default=12, validation_alias="PERKSTAR_SESSION_HOURS")
    # Reverse proxies in front of the app that append to X-Forwarded-For (0: none, the
    # header is never trusted); the client is that many entries from the right
    # (domain/client_address.py). Also given to Reflex (rxconfig.py, trusted_proxy_hops).
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10, validation_alias="PERKSTAR_TRUSTED_PROXY_HOPS")
    # Cookies are Secure except on localhost / 127.0.0.1; true or false here forces it.
    secure_cookies: bool | None = Field(default=None, validation_alias="PERKSTAR_SECURE_COOKIES")
    upload_dir: str = Field(default=str(PROJECT_ROOT / ".imports"), validation_alias="PERKSTAR_UPLOAD_DIR")
    stripe_webhook_secret: str = Field(default="", validation_alias="STRIPE_WEBHOOK_SECRET")
    # Stripe (issue 12): the installation-wide secret key, used by merchants without their
    # own; the currency of prices created from a tier's price; the key that encrypts the
    # merchants' Stripe secrets at rest (any long random string; empty = they cannot be saved).
    stripe_api_key: str = Field(default="", validation_alias="STRIPE_API_KEY")
    stripe_currency: str = Field(default="usd", min_length=3, max_length=3, validation_alias="STRIPE_CURRENCY")
    secret_key: str = Field(default="", validation_alias="PERKSTAR_SECRET_KEY")
    # Where Stripe's API is (empty: api.stripe.com); for stripe-mock or a local test server only.
    stripe_api_base: str = Field(default="", validation_alias="STRIPE_API_BASE")
    # Email over SMTP (issue 11); empty host = no email provider.
    smtp_host: str = Field(default="", validation_alias="SMTP_HOST")
    smtp_port: int = Field(default=587, validation_alias="SMTP_PORT")
    smtp_user: str = Field(default="", validation_alias="SMTP_USER")
    smtp_password: str = Field(default="", validation_alias="SMTP_PASSWORD")
    smtp_tls: SmtpSecurity = Field(default=SmtpSecurity.STARTTLS, validation_alias="SMTP_TLS")
    smtp_from: str = Field(default="", validation_alias="SMTP_FROM")
    # SMS through a Twilio-style Messages API; empty base = no SMS provider.
    sms_api_base: str = Field(default="", validation_alias="SMS_API_BASE")
    sms_account_sid: str = Field(default="", validation_alias="SMS_ACCOUNT_SID")
    sms_auth_token: str = Field(default="", validation_alias="SMS_AUTH_TOKEN")
    sms_from: str = Field(default="", validation_alias="SMS_FROM")
    # Web Push: the VAPID ``sub`` claim (a mailto: or https: URL push services may contact).
    # The key pair itself is generated on first use and kept in the database (push_keys).
    vapid_subject: str = Field(default="mailto:push@perkstar.invalid", validation_alias="VAPID_SUBJECT")
    # The outbox worker (services/worker.py): run inside the app (``make run``) or only as
    # ``python -m perkstar_ui.cli worker`` processes; how often an idle worker looks again.
    embedded_worker: bool = Field(default=True, validation_alias="PERKSTAR_EMBEDDED_WORKER")
    worker_poll_seconds: float = Field(default=2.0, gt=0, validation_alias="PERKSTAR_WORKER_POLL_SECONDS")
    # Messages one worker claims at a time, and how long its claim (lease) holds: a worker
    # killed mid-batch loses nothing, its rows are claimable again once the lease ends.
    outbox_batch_size: int = Field(default=200, gt=0, validation_alias="PERKSTAR_OUTBOX_BATCH")
    outbox_lease_seconds: float = Field(default=120, gt=0, validation_alias="PERKSTAR_OUTBOX_LEASE_SECONDS")
    # Attempts per message before it fails; the wait before retry n is RETRY_SECONDS × 2^(n-1).
    outbox_max_attempts: int = Field(default=6, gt=0, validation_alias="PERKSTAR_OUTBOX_MAX_ATTEMPTS")
    outbox_retry_seconds: float = Field(default=60, ge=0, validation_alias="PERKSTAR_OUTBOX_RETRY_SECONDS")

    # Pending (previewed, not yet applied) import files a merchant may keep: count and bytes.
    max_pending_uploads: int = Field(default=5, gt=0, validation_alias="PERKSTAR_MAX_PENDING_UPLOADS")
    max_pending_upload_mb: int = Field(default=50, gt=0, validation_alias="PERKSTAR_MAX_PENDING_UPLOAD_MB")
    # Logs: one JSON object per line (``json``, for a collector) or plain text (``text``).
    log_format: LogFormat = Field(default=LogFormat.JSON, validation_alias="PERKSTAR_LOG_FORMAT")
    log_level: str = Field(default="INFO", validation_alias="PERKSTAR_LOG_LEVEL")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(DATABASE_SCHEMES):
            raise ValueError(
                f"DATABASE_URL must start with one of {', '.join(DATABASE_SCHEMES)} (got {value.split(':', 1)[0]!r})"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        if value and not value.startswith(REDIS_SCHEMES):
            raise ValueError(f"REDIS_URL must start with one of {', '.join(REDIS_SCHEMES)}")
        return value

    @property
    def public_urls_configured(self) -> list[str]:
        """Only the URLs ``PERKSTAR_PUBLIC_URL`` names (a proxy's public address)."""
        return [url.strip() for url in self.public_url.split(",") if url.strip()]

    @property
    def public_urls(self) -> list[str]:
        raw = self.public_url or f"http://localhost:{self.port},http://127.0.0.1:{self.port}"
        return [url.strip() for url in raw.split(",") if url.strip()]


@functools.cache
def settings() -> Settings:
    return Settings()


EXIT_BAD_SETTINGS = 2


def describe(error: ValidationError) -> str:
    """``DATABASE_URL: must start with …; SMTP_PORT: …`` in one line."""
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ())) or "settings"
        parts.append(f"{where.upper()}: {problem['msg'].removeprefix('Value error, ')}")
    return "perkstar: invalid settings: " + "; ".join(parts)


def settings_or_exit() -> Settings:
    try:
        return settings()
    except ValidationError as error:
        print(describe(error), file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None


def database_url() -> str:
    """``DATABASE_URL`` with the driver this app uses (psycopg 3 for PostgreSQL).
    Read fresh each call: tests and the CLI point it at another database at run time."""
    url = Settings().database_url or DEFAULT_DATABASE_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def session_hours() -> float:
    """Lifetime of a login; a counter shift by default."""
    return settings().session_hours


def secure_cookies() -> bool | None:
    """Force cookies ``Secure`` (true) or not (false); None: Secure except on localhost."""
    return settings().secure_cookies


DEMO_EMAIL = "demo@perkstar.test"
DEMO_PASSWORD = "perkstar-demo"
DEMO_MERCHANT_NAME = "Demo Café"
