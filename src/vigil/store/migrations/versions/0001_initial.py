"""Initial case schema: case_meta, sources, runs, files, done.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_case_meta"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.Text(), nullable=True),
        sa.Column("argv", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identity", sa.LargeBinary(length=32), nullable=False),
        sa.Column("given", sa.Text(), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("root_raw", sa.LargeBinary(), nullable=False),
        sa.Column("single_file", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("identity", name="uq_sources_identity"),
    )
    op.create_table(
        "done",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("top_key", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name="fk_done_source_id_sources"),
        sa.PrimaryKeyConstraint("source_id", "top_key", name="pk_done"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("locator", sa.LargeBinary(), nullable=False),
        sa.Column("locator_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("top", sa.LargeBinary(), nullable=False),
        sa.Column("top_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("entry", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("mime", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("pdq_dihedral", sa.Text(), nullable=True),
        sa.Column("exif", sa.Text(), nullable=True),
        sa.Column("category", sa.Integer(), nullable=True),
        sa.Column("link_target", sa.Text(), nullable=True),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("mtime", sa.Float(), nullable=True),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_files_run_id_runs"),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name="fk_files_source_id_sources"),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
        sa.UniqueConstraint("source_id", "locator_key", name="uq_files_source_id_locator_key"),
    )
    op.create_index("ix_files_md5", "files", ["md5"])
    op.create_index("ix_files_sha1", "files", ["sha1"])
    op.create_index("ix_files_sha256", "files", ["sha256"])
    op.create_index("ix_files_pdq", "files", ["pdq"])
    op.create_index("ix_files_source_id_top_key", "files", ["source_id", "top_key"])


def downgrade() -> None:
    op.drop_table("files")
    op.drop_table("done")
    op.drop_table("sources")
    op.drop_table("runs")
    op.drop_table("case_meta")
