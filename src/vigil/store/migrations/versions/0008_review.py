"""The review app's own records: `reveals` (every look at an unblurred item, with its
single-use URL token's hash), `review_time` (each user's reviewing stretch, for enforced
breaks and today's time), `outcomes` (case outcome notes), `votes` (reviewers' votes when a
case needs several to agree), and two user columns: a daily reveal budget and the chosen
rendering. Decisions may now withdraw (a NULL category: undo), and files get a
category index for the review grid's filter.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reveals",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("file_id", _BigId, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("category", sa.Integer(), nullable=True),
        sa.Column("severe", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("served_at", sa.String(40), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_reveals"),
        sa.UniqueConstraint("token_hash", name="uq_reveals_token_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_reveals_user_name_created_at", "reveals", ["user_name", "created_at"])
    op.create_index("ix_reveals_sha256", "reveals", ["sha256"])
    op.create_table(
        "review_time",
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("stretch_started_at", sa.String(40), nullable=False),
        sa.Column("last_active_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("user_name", name="pk_review_time"),
    )
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("posted_by", sa.String(64), nullable=False),
        sa.Column("posted_at", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outcomes"),
    )
    op.create_table(
        "votes",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("category", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(32), nullable=False),
        sa.Column("voted_by", sa.String(64), nullable=False),
        sa.Column("voted_at", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("via_group", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_votes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_votes_sha256_id", "votes", ["sha256", "id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("daily_reveals", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rendering", sa.String(16), nullable=True))
    # An undo appends a decision without a category: the content goes back to its matches.
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("category", existing_type=sa.Integer(), nullable=True)
    op.create_index("ix_files_category", "files", ["category"])


def downgrade() -> None:
    op.drop_index("ix_files_category", "files")
    op.execute("DELETE FROM decisions WHERE category IS NULL")
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("category", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("rendering")
        batch.drop_column("daily_reveals")
    op.drop_index("ix_votes_sha256_id", "votes")
    op.drop_table("votes")
    op.drop_table("outcomes")
    op.drop_table("review_time")
    op.drop_index("ix_reveals_sha256", "reveals")
    op.drop_index("ix_reveals_user_name_created_at", "reveals")
    op.drop_table("reveals")
