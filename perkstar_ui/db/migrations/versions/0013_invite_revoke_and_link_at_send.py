"""staff invitations (issue 13 review): revoked_at, and the outbox message that carries the
link; the link is minted when the message is sent, so stored bodies hold a placeholder.
Bodies already stored lose their link: a queued one is tied to its open invitation (its
link is minted at send), a sent one keeps working from the email it was sent in.

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30 09:30:00
"""
import re
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# services.staff_invites.LINK_SLOT, copied: a migration must not change when the app does.
_SLOT = "[invitation link]"
_LINK = re.compile(r"\S*/invite/[A-Za-z0-9_-]+")


def upgrade() -> None:
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_staff_invite_message_id'), ['message_id'], unique=False)
        batch_op.create_foreign_key('fk_staff_invite_message_id_message', 'message', ['message_id'], ['id'],
                                    ondelete='SET NULL')

    connection = op.get_bind()
    message = sa.table('message', sa.column('id', sa.Integer), sa.column('merchant_id', sa.Integer),
                       sa.column('customer_id', sa.Integer), sa.column('channel', sa.String),
                       sa.column('recipient', sa.String), sa.column('body', sa.String),
                       sa.column('status', sa.String))
    invite = sa.table('staff_invite', sa.column('id', sa.Integer), sa.column('merchant_id', sa.Integer),
                      sa.column('email', sa.String), sa.column('accepted_at', sa.DateTime),
                      sa.column('message_id', sa.Integer))
    stored = connection.execute(
        sa.select(message.c.id, message.c.merchant_id, message.c.recipient, message.c.body, message.c.status)
        .where(message.c.customer_id.is_(None), message.c.channel == 'email', message.c.body.like('%/invite/%'))
    ).all()
    for row in stored:
        connection.execute(message.update().where(message.c.id == row.id).values(body=_LINK.sub(_SLOT, row.body)))
        if row.status != 'queued':
            continue
        newest = connection.execute(
            sa.select(invite.c.id).where(invite.c.merchant_id == row.merchant_id, invite.c.email == row.recipient,
                                         invite.c.accepted_at.is_(None), invite.c.message_id.is_(None))
            .order_by(invite.c.id.desc()).limit(1)
        ).scalar()
        if newest is not None:
            connection.execute(invite.update().where(invite.c.id == newest).values(message_id=row.id))


def downgrade() -> None:
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.drop_constraint('fk_staff_invite_message_id_message', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_staff_invite_message_id'))
        batch_op.drop_column('message_id')
        batch_op.drop_column('revoked_at')
