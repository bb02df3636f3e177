"""Migrations build exactly `schema.metadata`, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from vigil.store import CaseStore
from vigil.store.case import alembic_config
from vigil.store.schema import metadata


def test_migrated_database_matches_schema(store: CaseStore) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_database_is_at_head(store: CaseStore) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_every_index_and_constraint_is_named(store: CaseStore) -> None:
    insp = inspect(store.engine)
    for table in metadata.tables:
        for index in insp.get_indexes(table):
            assert index["name"] and index["name"].startswith(("ix_", "uq_"))
        for unique in insp.get_unique_constraints(table):
            assert unique["name"] and unique["name"].startswith("uq_")
    assert {ix["name"] for ix in insp.get_indexes("files")} >= {
        "ix_files_md5",
        "ix_files_sha1",
        "ix_files_sha256",
        "ix_files_pdq",
        "ix_files_source_id_top_key",
    }


def test_downgrade_and_upgrade_again(store: CaseStore) -> None:
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        command.upgrade(alembic_config(conn), "head")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_schema_revisions_read_from_file_names_match_alembic():
    from alembic.script import ScriptDirectory

    from vigil.store.case import alembic_config, schema_revisions

    script = ScriptDirectory.from_config(alembic_config())
    assert schema_revisions()[-1] == script.get_current_head()
    assert set(schema_revisions()) == {rev.revision for rev in script.walk_revisions()}
