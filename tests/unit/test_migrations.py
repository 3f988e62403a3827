"""The alembic history builds exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from perkstar_ui.db.engine import get_engine


# Created by the migrations on PostgreSQL only (a trigram GIN index), not a model index.
DIALECT_ONLY_INDEXES = {"ix_customer_search_text_trgm"}


def _dialect_only(diff) -> bool:  # noqa: ANN001
    return diff[0] == "remove_index" and diff[1].name in DIALECT_ONLY_INDEXES


def test_migrated_schema_matches_the_models():
    with get_engine().connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [d for d in differences if not _dialect_only(d)] == []
