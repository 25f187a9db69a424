"""archival description of minutes: fonds, retention, item and file numbers

Street.fonds_code (全宗号); on minutes the DA/T 22 description (年度, 保管期限, 机构或问题) and,
once filed, 全宗号, 件号 and 档号, with the last verification of the item's files. Columns are
added without rebuilding the minutes table (SQLite would lose its guard triggers); a new guard
makes the filed description immutable as the archive number already is.

Revision ID: d24669f02505
Revises: 014486cb27ba
Create Date: 2026-11-30 14:55:34.090694

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'd24669f02505'
down_revision = '014486cb27ba'
branch_labels = None
depends_on = None

FILED = ("file_no", "item_no", "fonds_code", "retention", "filing_year")
SQLITE_GUARDS = [
    f"""CREATE TRIGGER minutes_file_no_update BEFORE UPDATE ON minutes
    WHEN OLD.file_no IS NOT NULL AND ({" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FILED)})
    BEGIN SELECT RAISE(ABORT, 'filed minutes description is immutable'); END""",
]
POSTGRES_GUARDS = [
    f"""CREATE FUNCTION minutes_file_no_guard() RETURNS trigger AS $$
    BEGIN
        IF OLD.file_no IS NOT NULL AND ({" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FILED)}) THEN
            RAISE EXCEPTION 'filed minutes description is immutable';
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER minutes_file_no_guard BEFORE UPDATE ON minutes
    FOR EACH ROW EXECUTE FUNCTION minutes_file_no_guard()""",
]


def upgrade():
    op.add_column('minutes', sa.Column('filing_year', sa.Integer(), nullable=True))
    op.add_column('minutes', sa.Column('retention', sa.String(length=20), nullable=True))
    op.add_column('minutes', sa.Column('organ', sa.String(length=40), server_default='', nullable=False))
    op.add_column('minutes', sa.Column('fonds_code', sa.String(length=20), nullable=True))
    op.add_column('minutes', sa.Column('item_no', sa.Integer(), nullable=True))
    op.add_column('minutes', sa.Column('file_no', sa.String(length=80), nullable=True))
    op.add_column('minutes', sa.Column('filed_at', models.base.UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a referencing column in place only when the reference is in the column.
        op.execute(
            'ALTER TABLE minutes ADD COLUMN filed_by_id INTEGER '
            'CONSTRAINT fk_minutes_filed_by_id_user REFERENCES "user" (id)'
        )
    else:
        op.add_column('minutes', sa.Column('filed_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_minutes_filed_by_id_user', 'minutes', 'user', ['filed_by_id'], ['id'])
    op.add_column('minutes', sa.Column('verified_at', models.base.UTCDateTime(timezone=True), nullable=True))
    op.add_column('minutes', sa.Column('verified_ok', sa.Boolean(), nullable=True))
    op.create_index('ix_minutes_file_no', 'minutes', ['file_no'], unique=True)
    op.add_column('street', sa.Column('fonds_code', sa.String(length=20), server_default='', nullable=False))
    guards = SQLITE_GUARDS if op.get_bind().dialect.name == 'sqlite' else POSTGRES_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS minutes_file_no_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS minutes_file_no_guard ON minutes")
        op.execute("DROP FUNCTION IF EXISTS minutes_file_no_guard()")
    op.drop_index('ix_minutes_file_no', table_name='minutes')
    with op.batch_alter_table('street', schema=None) as batch_op:
        batch_op.drop_column('fonds_code')
    for column in ('verified_ok', 'verified_at', 'filed_by_id', 'filed_at', 'file_no', 'item_no',
                   'fonds_code', 'organ', 'retention', 'filing_year'):
        op.drop_column('minutes', column)
