"""opening hours of resources and rooms

Revision ID: b7c1e0a4d2f9
Revises: 26c231c1da80
Create Date: 2026-11-30 02:30:00

Every existing resource and room gets the default: 08:00–21:00 every day, not past midnight.
"""

import sqlalchemy as sa
from alembic import op

revision = "b7c1e0a4d2f9"
down_revision = "26c231c1da80"
branch_labels = None
depends_on = None

TABLES = ("resource", "room")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("opens_at", sa.Time(), server_default=sa.text("'08:00:00'"), nullable=False)
            )
            batch_op.add_column(
                sa.Column("closes_at", sa.Time(), server_default=sa.text("'21:00:00'"), nullable=False)
            )
            batch_op.add_column(
                sa.Column("open_days", sa.String(length=7), server_default="1234567", nullable=False)
            )
            batch_op.add_column(
                sa.Column("overnight", sa.Boolean(), server_default=sa.text("false"), nullable=False)
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("overnight")
            batch_op.drop_column("open_days")
            batch_op.drop_column("closes_at")
            batch_op.drop_column("opens_at")
