"""customer search text with a covering index; merchant-first indexes

Revision ID: 0003
Revises: 0002
"""
import unicodedata
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _search_text(first: str, last: str, email: str | None, phone: str | None) -> str:
    # Frozen copy of domain.contacts.search_text: a migration must not change later.
    decomposed = unicodedata.normalize("NFKD", f"{first} {last}")
    name = " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())
    digits = "".join(c for c in (phone or "") if c.isdigit())
    return " ".join(part for part in (name, (email or "").lower(), digits) if part)


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.String(length=500), nullable=False, server_default=""))
        batch_op.create_index("ix_customer_merchant_search_text", ["merchant_id", "search_text"])
    op.create_index("ix_card_merchant_serial", "card", ["merchant_id", "serial"])
    op.create_index("ix_review_merchant_customer", "review", ["merchant_id", "customer_id"])
    op.create_index("ix_custom_field_value_merchant_customer", "custom_field_value", ["merchant_id", "customer_id"])
    op.create_index(
        "ix_card_transaction_merchant_card_created", "card_transaction", ["merchant_id", "card_id", "created_at"]
    )
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        _trigram_index(connection)
    customer = sa.table(
        "customer", sa.column("id"), sa.column("first_name"), sa.column("last_name"),
        sa.column("email"), sa.column("phone"), sa.column("search_text"),
    )
    rows = connection.execute(
        sa.select(customer.c.id, customer.c.first_name, customer.c.last_name, customer.c.email, customer.c.phone)
    ).all()
    if rows:
        connection.execute(
            customer.update().where(customer.c.id == sa.bindparam("row_id")).values(search_text=sa.bindparam("text")),
            [{"row_id": r.id, "text": _search_text(r.first_name, r.last_name, r.email, r.phone)} for r in rows],
        )


def _trigram_index(connection) -> None:  # noqa: ANN001
    """PostgreSQL: a trigram index makes ``LIKE '%fragment%'`` an index search.

    pg_trgm ships with PostgreSQL but creating it may need rights the app's role lacks;
    then the search still works, scanning instead (the savepoint keeps the migration).
    """
    savepoint = connection.begin_nested()
    try:
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        connection.execute(sa.text(
            "CREATE INDEX IF NOT EXISTS ix_customer_search_text_trgm ON customer USING gin (search_text gin_trgm_ops)"
        ))
        savepoint.commit()
    except sa.exc.DBAPIError:
        savepoint.rollback()


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_customer_search_text_trgm")
    op.drop_index("ix_card_transaction_merchant_card_created", "card_transaction")
    op.drop_index("ix_custom_field_value_merchant_customer", "custom_field_value")
    op.drop_index("ix_review_merchant_customer", "review")
    op.drop_index("ix_card_merchant_serial", "card")
    with op.batch_alter_table("customer") as batch_op:
        batch_op.drop_index("ix_customer_merchant_search_text")
        batch_op.drop_column("search_text")
