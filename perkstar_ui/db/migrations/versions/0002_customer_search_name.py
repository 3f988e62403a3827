"""customer search name and grid sort indexes

Revision ID: 0002
Revises: 0001
"""
import unicodedata
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _fold(text: str) -> str:
    # Frozen copy of domain.contacts.search_fold: a migration must not change later.
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch_op:
        batch_op.add_column(sa.Column("search_name", sa.String(length=201), nullable=False, server_default=""))
        batch_op.drop_index("ix_customer_merchant_last_name")
        batch_op.create_index("ix_customer_merchant_search_name", ["merchant_id", "search_name"])
        batch_op.create_index("ix_customer_merchant_birthdate", ["merchant_id", "birthdate"])
    connection = op.get_bind()
    customer = sa.table(
        "customer", sa.column("id"), sa.column("first_name"), sa.column("last_name"), sa.column("search_name")
    )
    rows = connection.execute(sa.select(customer.c.id, customer.c.first_name, customer.c.last_name)).all()
    if rows:
        connection.execute(
            customer.update().where(customer.c.id == sa.bindparam("row_id")).values(search_name=sa.bindparam("name")),
            [{"row_id": r.id, "name": _fold(f"{r.first_name} {r.last_name}")} for r in rows],
        )


def downgrade() -> None:
    with op.batch_alter_table("customer") as batch_op:
        batch_op.drop_index("ix_customer_merchant_birthdate")
        batch_op.drop_index("ix_customer_merchant_search_name")
        batch_op.create_index("ix_customer_merchant_last_name", ["merchant_id", "last_name", "first_name"])
        batch_op.drop_column("search_name")
