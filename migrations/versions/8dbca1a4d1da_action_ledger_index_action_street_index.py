"""action ledger index, action street index

At city scale (100,000 actions over 50 streets) the ledger and the work overview read
actions by street and in the ledger's order (open before done, soonest due first). A
street's actions were found by scanning them all, and the first page of all actions (the
system administrator's, an observer's) by sorting them all.

ix_action_ledger is an expression index, made on PostgreSQL only: SQLite cannot reflect
expression indexes (SQLAlchemy warns at every reflection), and its ledgers are a street's.

Revision ID: 8dbca1a4d1da
Revises: 6b7e46c2b42e
Create Date: 2026-11-30 09:23:21.203943

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8dbca1a4d1da'
down_revision = '6b7e46c2b42e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_street_id'), ['street_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_action_ledger', 'action', [sa.text("(status = 'done')"), 'due_on', 'id'])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_action_ledger', table_name='action')
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_street_id'))
