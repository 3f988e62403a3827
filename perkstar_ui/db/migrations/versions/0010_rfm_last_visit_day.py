"""rfm last visit day: customer_rfm keeps the day of the last visit instead of the recency in
days (which changed every day for every row) and no per-row computed_at; when a merchant's
rows were computed is merchant.rfm_computed_at. A run then writes only the rows that changed.

The first run after the upgrade fills last_visit_on (it rewrites the rows once).

Revision ID: 0010
Revises: 0012
Create Date: 2026-11-30 09:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rfm_computed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE merchant SET rfm_computed_at = "
        "(SELECT MAX(customer_rfm.computed_at) FROM customer_rfm WHERE customer_rfm.merchant_id = merchant.id)"
    )

    with op.batch_alter_table('customer_rfm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_visit_on', sa.Date(), nullable=True))
        batch_op.drop_column('computed_at')
        batch_op.drop_column('recency_days')


def downgrade() -> None:
    with op.batch_alter_table('customer_rfm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recency_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True))
    # The recency is left empty (the next run of that version fills it).
    op.execute(
        "UPDATE customer_rfm SET computed_at = COALESCE("
        "(SELECT merchant.rfm_computed_at FROM merchant WHERE merchant.id = customer_rfm.merchant_id), "
        "CURRENT_TIMESTAMP)"
    )
    with op.batch_alter_table('customer_rfm', schema=None) as batch_op:
        batch_op.alter_column('computed_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column('last_visit_on')

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_column('rfm_computed_at')
