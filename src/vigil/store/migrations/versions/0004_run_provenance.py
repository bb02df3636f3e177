"""Run provenance: which Vigil and libraries, which settings, host, OS user, case store and
database server made each run, as one JSON object per run.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Runs recorded before 0004 keep NULL: their provenance was never captured.
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("provenance", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("provenance")
