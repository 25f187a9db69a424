"""unit import: rows identical to the register

Revision ID: b7e2c4d91a35
Revises: 4033ba7f5bf6
Create Date: 2026-11-30 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e2c4d91a35'
down_revision = '4033ba7f5bf6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('unit_import', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unchanged_rows', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('unit_import', schema=None) as batch_op:
        batch_op.drop_column('unchanged_rows')
