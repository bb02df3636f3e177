"""Video lists: each known video of an imported vPDQ list is a `hash_entries` row (its name,
category and extras, so match rows name it as they name a known picture) with a
`known_videos` row (its set and frame count) and its frames in `known_video_frames`; a video
match row keeps both percentages and the matching time ranges.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_videos",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("hashset_id", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hashsets.id"], name="fk_known_videos_hashset_id_hashsets"
        ),
        sa.PrimaryKeyConstraint("entry_id", name="pk_known_videos"),
    )
    op.create_index("ix_known_videos_hashset_id", "known_videos", ["hashset_id"])
    op.create_table(
        "known_video_frames",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("frame_number", sa.Integer(), nullable=True),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "position", name="pk_known_video_frames"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("query_match", sa.Float(), nullable=True))
        batch.add_column(sa.Column("compared_match", sa.Float(), nullable=True))
        batch.add_column(sa.Column("time_ranges", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("time_ranges")
        batch.drop_column("compared_match")
        batch.drop_column("query_match")
    op.drop_table("known_video_frames")
    op.drop_index("ix_known_videos_hashset_id", table_name="known_videos")
    op.drop_table("known_videos")
