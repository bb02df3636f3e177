"""Decoder warnings per file: what libtiff, libjpeg and Pillow said while reading it, as a
JSON list of short strings.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Files recorded before 0005 keep NULL: their decoders' chatter went to the log.
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("warnings", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("warnings")
