"""The audit chain: its hash as documented, entries from every flow that changes a case, each
kind of tampering named, concurrent appenders, and any one-byte change caught. SQLite and
PostgreSQL where the back-end matters."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from vigil.errors import StoreError
from vigil.model import FileRecord, Kind, Locator
from vigil.pipeline.hashset_flows import import_and_match, remove_and_redecide
from vigil.reports.exports import export_case
from vigil.store import CaseStore, RecordWriter
from vigil.store import audit as audit_log
from vigil.store.audit import (
    FIELDS,
    ZERO_HASH,
    append,
    check_chain,
    entry_hash,
    export_jsonl,
    verify,
)
from vigil.store.schema import audit, audit_head
from vigil.store.users import add_user
from vigil.triage.decisions import decide

SRC = Path(__file__).resolve().parents[2] / "src" / "vigil"


def fill(store: CaseStore, n: int) -> None:
    for i in range(n):
        with store.engine.begin() as conn:
            subject = None if i % 3 == 0 else f"set-{i}"
            append(conn, f"user{i % 2}", "reveal", subject, {"n": i, "why": "look"})


def rows(store: CaseStore) -> list:
    with store.engine.connect() as conn:
        return conn.execute(select(audit).order_by(audit.c.id)).all()


def test_the_hash_is_the_documented_one() -> None:
    """Built by hand from the module docstring, as a tool outside Vigil would: lengths count
    UTF-8 bytes, NULL is '-'."""
    detail = '{"n":"é"}'
    message = (
        b"vigil-audit-1\n"
        + b"1:7\n"
        + b"32:2026-01-02T03:04:05.000006+00:00\n"
        + b"7:cli:ana\n"
        + b"6:export\n"
        + b"-\n"
        + b"10:" + detail.encode() + b"\n"
        + b"64:" + ZERO_HASH.encode() + b"\n"
    )  # fmt: skip
    expected = hashlib.sha256(message).hexdigest()
    got = entry_hash(
        7, "2026-01-02T03:04:05.000006+00:00", "cli:ana", "export", None, detail, ZERO_HASH
    )
    assert got == expected
    assert entry_hash(7, "x", "a", "export", "", None, ZERO_HASH) != entry_hash(
        7, "x", "a", "export", None, "", ZERO_HASH
    )


def test_every_flow_that_changes_the_case_leaves_one_entry(tmp_path: Path, db_url) -> None:
    data = b"benign-picture"
    md5, sha256 = hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()
    store = CaseStore.create(tmp_path / "case", db_url=db_url)
    with store, RecordWriter(store) as writer:
        sid = writer.source_id("ev", "/ev", single_file=False)
        loc = Locator(b"photos/a.jpg")
        writer.add(
            sid,
            loc.relpath,
            [FileRecord(loc, size=len(data), md5=md5, sha256=sha256, kind=Kind.IMAGE)],
        )
    listed = tmp_path / "known.md5"
    listed.write_text(f"{md5}  a.jpg\n")
    with CaseStore.open(tmp_path / "case") as store:
        decide(store, 2, sha256=sha256, note="looked twice", by="ana")
        import_and_match(store, listed, fmt="md5sum", name="known", category=1, actor="bo")
        export_case(store, tmp_path / "out.csv", fmt="csv")
        add_user(store, "cy", "a long enough password", "reviewer", actor="cli:root")
        remove_and_redecide(store, "known", actor="bo")
        result = verify(store)
        found = rows(store)
    assert result.ok and result.entries == 5 and result.last_hash == found[-1].entry_hash
    assert [(r.actor, r.action, r.subject) for r in found] == [
        ("ana", "decision", sha256),
        ("bo", "hashset_import", "known"),
        (found[2].actor, "export", "out.csv"),
        ("cli:root", "user_add", "cy"),
        ("bo", "hashset_remove", "known"),
    ]
    assert found[2].actor.startswith("cli:")
    assert json.loads(found[0].detail) == {
        "category": 2,
        "contents": 1,
        "files": 1,
        "sha256": sha256,
        "note": "looked twice",
    }
    assert json.loads(found[1].detail)["entries"] == 1
    export = json.loads(found[2].detail)
    assert export["format"] == "csv" and export["records"] == 1
    assert export["file"] == str(tmp_path / "out.csv")


def test_an_edited_entry_is_named(store: CaseStore) -> None:
    fill(store, 5)
    with store.engine.begin() as conn:
        conn.execute(update(audit).where(audit.c.id == 3).values(detail='{"n":2,"why":"no"}'))
    result = verify(store)
    assert (result.broken_id, result.entries) == (3, 2)
    assert "altered" in result.reason


def test_a_deleted_middle_entry_is_named_as_a_gap(store: CaseStore) -> None:
    fill(store, 5)
    with store.engine.begin() as conn:
        conn.execute(delete(audit).where(audit.c.id == 3))
    result = verify(store)
    assert result.broken_id == 3
    assert result.reason == "entry 3 is missing: the log goes from entry 2 to 4"


def test_a_rehashed_entry_breaks_the_link_to_its_successor(store: CaseStore) -> None:
    fill(store, 5)
    [row] = [r for r in rows(store) if r.id == 2]
    forged = '{"n":1,"why":"nothing to see"}'
    new_hash = entry_hash(2, row.at, row.actor, row.action, row.subject, forged, row.prev_hash)
    with store.engine.begin() as conn:
        conn.execute(
            update(audit).where(audit.c.id == 2).values(detail=forged, entry_hash=new_hash)
        )
    result = verify(store)
    assert result.broken_id == 3 and "entry 2's hash" in result.reason


def test_a_cut_or_replaced_tail_shows_against_the_head(store: CaseStore) -> None:
    fill(store, 4)
    with store.engine.begin() as conn:
        conn.execute(delete(audit).where(audit.c.id == 4))
    result = verify(store)
    assert result.broken_id == 4 and "missing from the end" in result.reason
    with store.engine.begin() as conn:
        conn.execute(update(audit_head).values(last_id=3))
    result = verify(store)
    assert result.broken_id == 3 and "not the one the head recorded" in result.reason


def test_a_rolled_back_change_leaves_no_entry_and_no_gap(store: CaseStore) -> None:
    fill(store, 1)
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        append(conn, "ana", "reveal", "x")
        raise RuntimeError("the change failed")
    fill(store, 1)
    result = verify(store)
    assert result.ok and [r.id for r in rows(store)] == [1, 2]


def test_verify_and_export_page_through_the_log(store: CaseStore, monkeypatch) -> None:
    monkeypatch.setattr(audit_log, "_PAGE", 2)
    fill(store, 7)
    assert verify(store).entries == 7
    out = io.StringIO()
    assert export_jsonl(store, out) == 7
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [list(line) for line in lines] == [list(FIELDS)] * 7
    # each exported line re-verifies from its own fields, as an outside tool would
    assert check_chain(SimpleNamespace(**line) for line in lines).entries == 7
    with store.engine.begin() as conn:
        conn.execute(delete(audit).where(audit.c.id == 5))  # the first of the third page
    assert verify(store).broken_id == 5


def test_an_empty_log_verifies_and_unknown_actions_are_refused(store: CaseStore) -> None:
    result = verify(store)
    assert result.ok and (result.entries, result.last_hash) == (0, ZERO_HASH)
    with pytest.raises(ValueError, match="unknown audit action"), store.engine.begin() as conn:
        append(conn, "ana", "peek")


def test_concurrent_appenders_keep_one_chain(store: CaseStore) -> None:
    """Two threads append at once, each transaction held open a moment after its entry: each
    must wait for the other's head, never build on a stale one."""
    per_thread, start, errors = 30, threading.Barrier(2), []

    def work(name: str) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with store.engine.begin() as conn:
                    append(conn, name, "reveal", str(i))
                    time.sleep(0.002)
        except Exception as exc:  # reported below, with the thread's name
            errors.append((name, exc))

    threads = [threading.Thread(target=work, args=(n,)) for n in ("ana", "bo")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify(store)
    assert result.ok and result.entries == 2 * per_thread
    actors = [r.actor for r in rows(store)]
    assert actors.count("ana") == actors.count("bo") == per_thread


def test_no_code_updates_or_deletes_audit_entries() -> None:
    """Append-only by construction: no `update(audit)` / `delete(audit)` anywhere in Vigil."""
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            named = getattr(func, "id", getattr(func, "attr", None)) in ("update", "delete")
            on_audit = any(getattr(arg, "id", None) == "audit" for arg in node.args)
            method = isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "audit"
            if named and (on_audit or method):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


def test_any_one_byte_change_to_any_stored_field_is_caught(tmp_path: Path) -> None:
    store = CaseStore.create(tmp_path / "case")
    fill(store, 6)
    stored = rows(store)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data: st.DataObject) -> None:
        row = data.draw(st.sampled_from(stored))
        field = data.draw(st.sampled_from([f for f in FIELDS if getattr(row, f) is not None]))
        text = str(getattr(row, field)).encode()
        at = data.draw(st.integers(0, len(text) - 1))
        choices = b"0123456789" if field == "id" else bytes(range(0x20, 0x7F))
        new = data.draw(st.sampled_from([b for b in choices if b != text[at]]))
        changed = (text[:at] + bytes([new]) + text[at + 1 :]).decode()
        value: int | str = int(changed) if field == "id" else changed
        assume(field != "id" or value not in {r.id for r in stored})
        with store.engine.begin() as conn:
            conn.execute(update(audit).where(audit.c.id == row.id).values({field: value}))
        try:
            result = verify(store)
        finally:
            where = value if field == "id" else row.id
            with store.engine.begin() as conn:
                conn.execute(
                    update(audit).where(audit.c.id == where).values({field: getattr(row, field)})
                )
        assert not result.ok
        if field == "id":
            assert result.broken_id is not None and result.broken_id <= row.id
        else:
            assert result.broken_id == row.id

    with store:
        check()
        assert verify(store).ok


def test_an_import_and_its_entry_commit_together(tmp_path: Path, monkeypatch) -> None:
    from vigil.store import hashsets as hashset_store
    from vigil.store.hashsets import list_hashsets

    listed = tmp_path / "known.md5"
    listed.write_text("0123456789abcdef0123456789abcdef  a.jpg\n")

    def failing(*_args, **_kw):
        raise StoreError("the audit log cannot be written")

    with CaseStore.create(tmp_path / "case") as store:
        monkeypatch.setattr(hashset_store, "append", failing)
        with pytest.raises(StoreError):
            import_and_match(store, listed, fmt="md5sum", name="known", actor="bo")
        assert list_hashsets(store, include_inactive=True) == []
        monkeypatch.undo()
        import_and_match(store, listed, fmt="md5sum", name="known", actor="bo")
        assert [r.action for r in rows(store)] == ["hashset_import"]
