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


def test_upgrade_from_0002_keeps_entry_categories_as_the_lists_own(store: CaseStore) -> None:
    """Before 0003 every stored code had been checked against the case's scheme, so it is also
    the list's own code; each entry stood for one list row."""
    from sqlalchemy import text

    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
        conn.execute(
            text(
                "INSERT INTO hashsets (name, version, active, kind, format, format_version, "
                "source_file, source_sha256, entries, pdq_entries, imported_at) VALUES "
                "('old', 1, true, 'alert', 'md5sum', '1', 'old.md5', '', 2, 0, 'then')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO hash_entries (hashset_id, md5, category) VALUES "
                "(1, :a, 2), (1, :b, NULL)"
            ),
            {"a": "a" * 32, "b": "b" * 32},
        )
        command.upgrade(alembic_config(conn), "head")
        rows = conn.execute(
            text("SELECT category, list_category, rows FROM hash_entries ORDER BY id")
        ).all()
        assert [tuple(r) for r in rows] == [(2, 2, 1), (None, None, 1)]
        assert conn.execute(text("SELECT list_scheme FROM hashsets")).scalar() is None


def test_runs_from_before_0004_have_no_provenance(store: CaseStore) -> None:
    """A run recorded before 0004 never had its provenance captured: it stays NULL (shown as
    not recorded), never filled in with today's versions."""
    from sqlalchemy import text

    from vigil.store import case_summary

    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
        conn.execute(
            text(
                "INSERT INTO runs (started_at, argv, status) "
                "VALUES ('2024-01-01T00:00:00+00:00', '[\"vigil\", \"ingest\"]', 'completed')"
            )
        )
        command.upgrade(alembic_config(conn), "head")
    [run] = case_summary(store)["runs"]
    assert run["argv"] == ["vigil", "ingest"] and run["provenance"] is None


def test_file_warnings_are_stored_and_files_from_before_0005_have_none(
    store: CaseStore, make_record
) -> None:
    """0005 adds `files.warnings`: decoder chatter written per file and read back by
    `vigil files`; a row written before 0005 reads as no warnings."""
    from sqlalchemy import text

    from vigil.store import RecordWriter, iter_files

    chatter = ["TIFFFetchNormalTag: unknown field with tag 65000", "Corrupt EXIF data é"]
    with RecordWriter(store, batch_size=2) as writer:
        source = writer.source_id("./photos", "/evidence/photos", single_file=False)
        writer.add(source, b"a.tif", [make_record("a.tif", warnings=list(chatter))])
        writer.add(source, b"b.jpg", [make_record("b.jpg")])
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
        assert "warnings" not in {c["name"] for c in inspect(conn).get_columns("files")}
        command.upgrade(alembic_config(conn), "head")
        stored = conn.execute(text("SELECT warnings FROM files ORDER BY id")).scalars().all()
    assert stored == [None, None]  # the downgrade dropped them: nothing invented on upgrade
    with RecordWriter(store, batch_size=2) as writer:
        source = writer.source_id("./photos", "/evidence/photos", single_file=False)
        writer.add(source, b"c.tif", [make_record("c.tif", warnings=list(chatter))])
    rows = {row["path"]: row["warnings"] for row in iter_files(store)}
    assert rows == {"a.tif": [], "b.jpg": [], "c.tif": chatter}


def test_0006_backfills_camera_columns_and_states_from_what_0005_stored(store: CaseStore) -> None:
    """A case recorded before 0006 gets its camera, capture time, place and thumbnail columns
    from the stored EXIF JSON, and its matched files the state `matched`."""
    import json

    from sqlalchemy import text

    exif = {
        "make": "Vigil Test Cameras",
        "model": "TC-1",
        "serial": "SN7",
        "datetime_original": "2024-05-01T10:00:00",
        "gps": {"lat": 48.5, "lon": 2.25},
        "thumbnail": {"sha256": "ab" * 32, "size": 10},
    }
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
        conn.execute(
            text(
                "INSERT INTO sources (identity, given, root, root_raw, single_file, created_at) "
                "VALUES (:i, 'e', '/e', :r, :f, 'now')"
            ),
            {"i": b"\x01" * 32, "r": b"/e", "f": False},
        )
        for n, (data, category) in enumerate([(json.dumps(exif), 1), (None, None)]):
            conn.execute(
                text(
                    "INSERT INTO files (source_id, locator, locator_key, top, top_key, path, "
                    "depth, entry, kind, status, encrypted, exif, category) VALUES (1, :l, :k, "
                    ":l, :k, :p, 0, 'file', 'image', 'ok', :f, :x, :c)"
                ),
                {
                    "l": b"%d" % n,
                    "k": bytes([n]) * 32,
                    "p": f"{n}.jpg",
                    "f": False,
                    "x": data,
                    "c": category,
                },
            )
        command.upgrade(alembic_config(conn), "head")
        rows = conn.execute(
            text(
                "SELECT camera_make, camera_model, camera_serial, captured_at, gps_lat, gps_lon, "
                "thumb_sha256, state, category_source FROM files ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (
            "Vigil Test Cameras",
            "TC-1",
            "SN7",
            "2024-05-01T10:00:00",
            48.5,
            2.25,
            "ab" * 32,
            "matched",
            "match",
        ),
        (None, None, None, None, None, None, None, "review", None),
    ]
