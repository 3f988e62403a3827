"""Settings read from the environment (documented in docs/testing.md)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'perkstar.db'}"


def database_url() -> str:
    """``DATABASE_URL`` with the driver this app uses (psycopg 3 for PostgreSQL)."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def session_hours() -> float:
    """Lifetime of a login; a counter shift by default."""
    return float(os.environ.get("PERKSTAR_SESSION_HOURS", "12"))


def secure_cookies() -> bool:
    """Send the session cookie only over HTTPS (set in production behind TLS)."""
    return os.environ.get("PERKSTAR_SECURE_COOKIES", "0") == "1"


DEMO_EMAIL = "demo@perkstar.test"
DEMO_PASSWORD = "perkstar-demo"
DEMO_MERCHANT_NAME = "Demo Café"
