"""Apply alembic migrations programmatically (CLI ``migrate`` and app start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from perkstar_ui import config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal "%" in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", (url or config.database_url()).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    command.upgrade(alembic_config(url), "head")


def make_revision(message: str) -> None:
    """Developer helper: autogenerate a revision against the current database."""
    command.revision(alembic_config(), message=message, autogenerate=True)
