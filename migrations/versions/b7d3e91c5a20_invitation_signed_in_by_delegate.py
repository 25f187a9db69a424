"""invitation signed in by delegate

Revision ID: b7d3e91c5a20
Revises: 79efb61a7827
Create Date: 2026-11-30 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d3e91c5a20'
down_revision = '79efb61a7827'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('by_delegate', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Until now a unit that replied "delegate" and was signed in present counted as a delegate.
    invitation = sa.table(
        'invitation', sa.column('by_delegate', sa.Boolean()), sa.column('reply', sa.String()),
        sa.column('attendance', sa.String()),
    )
    op.execute(
        invitation.update()
        .where(invitation.c.reply == 'delegate', invitation.c.attendance == 'present')
        .values(by_delegate=True)
    )


def downgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_column('by_delegate')
