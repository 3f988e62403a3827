"""card engine: action key, detail and lot expiry on ledger entries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('card_transaction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('lot_expires_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_card_transaction_merchant_action', ['merchant_id', 'action_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('card_transaction', schema=None) as batch_op:
        batch_op.drop_index('ix_card_transaction_merchant_action')
        batch_op.drop_column('lot_expires_on')
        batch_op.drop_column('detail')
        batch_op.drop_column('action_key')
