"""A list's own category codes beside their meaning in the case, folded row counts, the list's
category scheme, and per-file PDQ provenance.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hash_entries") as batch:
        batch.add_column(sa.Column("list_category", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rows", sa.BigInteger(), nullable=False, server_default="1"))
    # Before 0003 every stored code was checked to be in the case's scheme: it is its own.
    op.execute("UPDATE hash_entries SET list_category = category")
    with op.batch_alter_table("hashsets") as batch:
        batch.add_column(sa.Column("list_scheme", sa.Text(), nullable=True))
        batch.add_column(sa.Column("category_map", sa.Text(), nullable=True))
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("pdq_version", sa.Text(), nullable=True))
        batch.add_column(sa.Column("windows_version", sa.Text(), nullable=True))
    with op.batch_alter_table("matches") as batch:
        batch.alter_column("algorithm_version", type_=sa.Text(), existing_type=sa.String(length=64))


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.alter_column("algorithm_version", type_=sa.String(length=64), existing_type=sa.Text())
    with op.batch_alter_table("files") as batch:
        batch.drop_column("windows_version")
        batch.drop_column("pdq_version")
    with op.batch_alter_table("hashsets") as batch:
        batch.drop_column("category_map")
        batch.drop_column("list_scheme")
    with op.batch_alter_table("hash_entries") as batch:
        batch.drop_column("rows")
        batch.drop_column("list_category")
