"""dashboard counts: the merchant's deletions number and (merchant, id) indexes, so the
tiles count only the newest customers and ledger rows on each visit (services.dashboard)

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-30 10:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0014'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deletions', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_customer_merchant_id', 'customer', ['merchant_id', 'id'], unique=False)
    op.create_index('ix_card_transaction_merchant_id', 'card_transaction', ['merchant_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_card_transaction_merchant_id', table_name='card_transaction')
    op.drop_index('ix_customer_merchant_id', table_name='customer')
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_column('deletions')
