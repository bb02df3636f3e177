"""Videos: a video's record gets its duration, frame rate, codec and the number of vPDQ frame
hashes it got (`files.duration`, `fps`, `codec`, `frames_hashed`); each video content's frame
hashes are kept once, in `video_frames`, under a `video_hashes` row naming the convention
that made them.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("duration", sa.Float(), nullable=True))
        batch.add_column(sa.Column("fps", sa.Float(), nullable=True))
        batch.add_column(sa.Column("codec", sa.Text(), nullable=True))
        batch.add_column(sa.Column("frames_hashed", sa.Integer(), nullable=True))
    op.create_table(
        "video_hashes",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("vpdq_version", sa.Text(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_video_hashes_run_id_runs"),
        sa.PrimaryKeyConstraint("sha256", name="pk_video_hashes"),
    )
    op.create_table(
        "video_frames",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("frame_number", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "frame_number", name="pk_video_frames"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("video_frames")
    op.drop_table("video_hashes")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("frames_hashed")
        batch.drop_column("codec")
        batch.drop_column("fps")
        batch.drop_column("duration")
