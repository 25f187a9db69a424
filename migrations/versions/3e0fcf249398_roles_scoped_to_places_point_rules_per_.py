"""roles scoped to places, point rules per street

Two roles join: the system administrator (places, users, settings; every street) and the
read-only observer of a district or a city. Admins and archivists belong to a street, and
every user keeps the street they work in. Point rules become per street.

Existing admins keep what they could do: on an install with one street they become that
street's admins, otherwise system administrators. Existing point rules are copied to every
street.

Revision ID: 3e0fcf249398
Revises: aee648c185df
Create Date: 2026-11-30 08:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e0fcf249398'
down_revision = 'aee648c185df'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin', 'secretary', 'liaison', 'archivist')"
NEW_ROLES = "role IN ('sysadmin', 'admin', 'secretary', 'liaison', 'archivist', 'observer')"


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('street_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('city_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_city_id'), ['city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_street_id'), ['street_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_street_id_street'), 'street', ['street_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_user_district_id_district'), 'district', ['district_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_user_city_id_city'), 'city', ['city_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_user_role'), type_='check')
        batch_op.create_check_constraint('role', NEW_ROLES)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('street_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_street_id'), ['street_id'], unique=False)

    bind = op.get_bind()
    streets = [row[0] for row in bind.execute(sa.text('SELECT id FROM street ORDER BY id'))]
    if len(streets) == 1:  # one street so far: every event was its
        op.execute(sa.text('UPDATE audit_event SET street_id = :s').bindparams(s=streets[0]))
    op.execute(
        'UPDATE "user" SET street_id = (SELECT street_id FROM community WHERE community.id = "user".community_id)'
        " WHERE role = 'secretary'"
    )
    op.execute(
        'UPDATE "user" SET street_id = (SELECT street_id FROM unit WHERE unit.id = "user".unit_id)'
        " WHERE role = 'liaison'"
    )
    if len(streets) == 1:
        op.execute(
            sa.text('UPDATE "user" SET street_id = :s WHERE role IN (\'admin\', \'archivist\')').bindparams(
                s=streets[0]
            )
        )
    else:
        op.execute('UPDATE "user" SET role = \'sysadmin\' WHERE role = \'admin\'')

    rules = list(bind.execute(sa.text('SELECT "key", points FROM point_rule')))
    op.drop_table('point_rule')
    table = op.create_table(
        'point_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_point_rule_street_id_street')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_point_rule')),
        sa.UniqueConstraint('street_id', 'key', name=op.f('uq_point_rule_street_id')),
    )
    with op.batch_alter_table('point_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_rule_street_id'), ['street_id'], unique=False)
    if rules and streets:
        op.bulk_insert(table, [{'street_id': s, 'key': k, 'points': p} for s in streets for k, p in rules])


def downgrade():
    bind = op.get_bind()
    rules = list(
        bind.execute(sa.text('SELECT "key", MIN(points) FROM point_rule GROUP BY "key"'))
    )
    op.drop_table('point_rule')
    table = op.create_table(
        'point_rule',
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_point_rule')),
    )
    if rules:
        op.bulk_insert(table, [{'key': k, 'points': p} for k, p in rules])
    op.execute('UPDATE "user" SET role = \'admin\' WHERE role = \'sysadmin\'')
    # Observers cannot exist before: they stay (their audit trail refers to them), switched off.
    op.execute('UPDATE "user" SET role = \'archivist\', active = false WHERE role = \'observer\'')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_street_id'))
        batch_op.drop_column('street_id')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_role'), type_='check')
        batch_op.create_check_constraint('role', OLD_ROLES)
        batch_op.drop_constraint(batch_op.f('fk_user_city_id_city'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_user_district_id_district'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_user_street_id_street'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_street_id'))
        batch_op.drop_index(batch_op.f('ix_user_district_id'))
        batch_op.drop_index(batch_op.f('ix_user_city_id'))
        batch_op.drop_column('city_id')
        batch_op.drop_column('district_id')
        batch_op.drop_column('street_id')
