"""Disk images: files inside them say whether their name is deleted and carry their file
system metadata address (`files.deleted`, `files.inode`); every image ingested gets a
`disk_images` row with its format, segments, stored and verified acquisition hashes and
volumes.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("inode", sa.BigInteger(), nullable=True))
    op.create_table(
        "disk_images",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("locator_key", sa.LargeBinary(32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("library", sa.Text(), nullable=True),
        sa.Column("segments", sa.Text(), nullable=True),
        sa.Column("media_size", sa.BigInteger(), nullable=True),
        sa.Column("stored_md5", sa.String(32), nullable=True),
        sa.Column("stored_sha1", sa.String(40), nullable=True),
        sa.Column("computed_md5", sa.String(32), nullable=True),
        sa.Column("computed_sha1", sa.String(40), nullable=True),
        sa.Column("verification", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_disk_images_source_id_sources"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_disk_images_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_disk_images"),
        sa.UniqueConstraint(
            "source_id", "locator_key", name="uq_disk_images_source_id_locator_key"
        ),
    )


def downgrade() -> None:
    op.drop_table("disk_images")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("inode")
        batch.drop_column("deleted")
