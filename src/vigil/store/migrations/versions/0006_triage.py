"""Triage: human decisions apart from matches, each file's effective category with where it
came from and its review state, weak matches, camera and capture time as columns, and the
groups (exact stacks, visual clusters, series) with stable ids.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PAGE = 5000


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("category_source", sa.String(16), nullable=True))
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="review"))
        batch.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("camera_make", sa.Text(), nullable=True))
        batch.add_column(sa.Column("camera_model", sa.Text(), nullable=True))
        batch.add_column(sa.Column("camera_serial", sa.Text(), nullable=True))
        batch.add_column(sa.Column("captured_at", sa.String(32), nullable=True))
        batch.add_column(sa.Column("gps_lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("gps_lon", sa.Float(), nullable=True))
        batch.add_column(sa.Column("thumb_sha256", sa.String(64), nullable=True))
        batch.create_index("ix_files_state", ["state"])
        batch.create_index("ix_files_camera", ["camera_make", "camera_model", "camera_serial"])
        batch.create_index("ix_files_thumb_sha256", ["thumb_sha256"])
    # Before 0006 every category came from matches; the reasons for review are filled in by
    # the next `vigil match`, which decides every file again.
    op.execute(
        "UPDATE files SET category_source = 'match', state = 'matched' WHERE category IS NOT NULL"
    )
    _backfill_camera()
    with op.batch_alter_table("matches") as batch:
        batch.add_column(
            sa.Column("strength", sa.String(8), nullable=False, server_default="strong")
        )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("category", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("via_group", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_decisions_sha256_id", "decisions", ["sha256", "id"])
    op.create_table(
        "contents",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("first_file_id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("anchor_distance", sa.Integer(), nullable=True),
        sa.Column("is_anchor", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("sha256", name="pk_contents"),
    )
    op.create_index("ix_contents_cluster_id", "contents", ["cluster_id"])
    op.create_index("ix_contents_series_id", "contents", ["series_id"])
    op.create_index("ix_contents_first_file_id", "contents", ["first_file_id"])
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_series"),
        sqlite_autoincrement=True,
    )


def _backfill_camera() -> None:
    from vigil.store.writer import camera_columns

    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, exif FROM files WHERE id > :last AND exif IS NOT NULL "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _PAGE},
        ).all()
        if not rows:
            return
        updates = [{"fid": fid, **camera_columns(json.loads(exif))} for fid, exif in rows]
        conn.execute(
            sa.text(
                "UPDATE files SET camera_make = :camera_make, camera_model = :camera_model, "
                "camera_serial = :camera_serial, captured_at = :captured_at, "
                "gps_lat = :gps_lat, gps_lon = :gps_lon, thumb_sha256 = :thumb_sha256 "
                "WHERE id = :fid"
            ),
            updates,
        )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table("series")
    op.drop_index("ix_contents_first_file_id", "contents")
    op.drop_index("ix_contents_series_id", "contents")
    op.drop_index("ix_contents_cluster_id", "contents")
    op.drop_table("contents")
    op.drop_index("ix_decisions_sha256_id", "decisions")
    op.drop_table("decisions")
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("strength")
    with op.batch_alter_table("files") as batch:
        batch.drop_index("ix_files_thumb_sha256")
        batch.drop_index("ix_files_camera")
        batch.drop_index("ix_files_state")
        for name in (
            "thumb_sha256",
            "gps_lon",
            "gps_lat",
            "captured_at",
            "camera_serial",
            "camera_model",
            "camera_make",
            "review_reason",
            "state",
            "category_source",
        ):
            batch.drop_column(name)
