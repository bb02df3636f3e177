"""Hash sets, their entries, matches; centred-window PDQ hashes on files.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("pdq_windows", sa.Text(), nullable=True))
    op.create_table(
        "hashsets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("format_version", sa.String(length=16), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("pdq_entries", sa.BigInteger(), nullable=False),
        sa.Column("imported_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hashsets"),
        sa.UniqueConstraint("name", "version", name="uq_hashsets_name_version"),
    )
    op.create_table(
        "hash_entries",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("hashset_id", sa.Integer(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("category", sa.Integer(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hashsets.id"], name="fk_hash_entries_hashset_id_hashsets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_hash_entries"),
        sqlite_autoincrement=True,
    )
    for column in ("hashset_id", "md5", "sha1", "sha256"):
        op.create_index(f"ix_hash_entries_{column}", "hash_entries", [column])
    op.create_table(
        "matches",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("hashset_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("algorithm_version", sa.String(length=64), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("transform", sa.String(length=32), nullable=False),
        sa.Column("category", sa.Integer(), nullable=True),
        sa.Column("matched_at", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name="fk_matches_file_id_files"),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hashsets.id"], name="fk_matches_hashset_id_hashsets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_matches"),
        sa.UniqueConstraint(
            "file_id", "entry_id", "algorithm", name="uq_matches_file_entry_algorithm"
        ),
    )
    op.create_index("ix_matches_hashset_id", "matches", ["hashset_id"])


def downgrade() -> None:
    op.drop_index("ix_matches_hashset_id", table_name="matches")
    op.drop_table("matches")
    for column in ("sha256", "sha1", "md5", "hashset_id"):
        op.drop_index(f"ix_hash_entries_{column}", table_name="hash_entries")
    op.drop_table("hash_entries")
    op.drop_table("hashsets")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("pdq_windows")
