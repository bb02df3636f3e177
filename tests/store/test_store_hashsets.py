"""Hash sets in the store: import (all or nothing, versions), list, remove, PDQ index, and the
VICS export → import round trip. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, inspect, select, update

from vigil.errors import ConfigError, HashSetFormatError, VigilError
from vigil.hashsets import HashEntry, get_format, write_vics
from vigil.index import hex_to_codes
from vigil.model import FileRecord
from vigil.reports import export_vics
from vigil.store import CaseStore, RecordWriter
from vigil.store import hashsets as hashsets_module
from vigil.store.case import now_iso
from vigil.store.hashsets import (
    HashSetInfo,
    ImportStats,
    import_hashset,
    index_id,
    list_hashsets,
    pdq_index,
    remove_hashset,
    split_index_id,
    window_scales,
    window_variants,
)
from vigil.store.schema import files, hash_entries, hashsets, matches

MakeRecord = Callable[..., FileRecord]


def rand_hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def md5sum_list(path: Path, n: int, *, seed: int = 1, bad_at: int | None = None) -> list[str]:
    """n random MD5 lines `<md5>  file<i>.jpg`; line `bad_at` is broken."""
    rng = random.Random(seed)
    md5s = [rand_hex(rng, 32) for _ in range(n)]
    with path.open("w") as fh:
        for i, md5 in enumerate(md5s, 1):
            fh.write("zz-not-a-hash\n" if i == bad_at else f"{md5}  file{i}.jpg\n")
    return md5s


def pdq_list(path: Path, n: int, *, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    pdqs = [rand_hex(rng, 64) for _ in range(n)]
    path.write_text("".join(f"{p},{50 + i % 50},img{i}.jpg\n" for i, p in enumerate(pdqs)))
    return pdqs


def do_import(store: CaseStore, path: Path, fmt: str = "auto", **kw: object) -> HashSetInfo:
    kw.setdefault("name", None)
    kw.setdefault("kind", "alert")
    kw.setdefault("category", None)
    return import_hashset(store, path, fmt=get_format(fmt, path), **kw)  # type: ignore[arg-type]


def count(store: CaseStore, table: object, *where: object) -> int:
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int(conn.execute(query).scalar_one())


def add_files(store: CaseStore, records: list[FileRecord]) -> list[int]:
    with RecordWriter(store) as writer:
        sid = writer.source_id("evidence", "/evidence/secret-suspect-folder", single_file=False)
        for rec in records:
            writer.add(sid, rec.locator.relpath, [rec])
    with store.engine.connect() as conn:
        return list(conn.execute(select(files.c.id).order_by(files.c.id)).scalars())


# -- import ---------------------------------------------------------------------------------


def test_import_md5sum_list(store: CaseStore, tmp_path: Path) -> None:
    path = tmp_path / "known-bad.md5"
    md5s = md5sum_list(path, 25_003)
    seen: list[int] = []
    info = do_import(store, path, kind="alert", category=1, on_progress=seen.append)
    assert (info.name, info.version, info.active, info.kind, info.category) == (
        "known-bad",
        1,
        True,
        "alert",
        1,
    )
    assert (info.format, info.entries, info.pdq_entries) == ("md5sum", 25_003, 0)
    assert info.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert seen[-1] == 25_003 and seen == sorted(seen) and len(seen) >= 3
    with store.engine.connect() as conn:
        got = conn.execute(
            select(hash_entries.c.md5, hash_entries.c.name).order_by(hash_entries.c.id)
        ).all()
    assert [m for m, _ in got] == md5s
    assert got[0].name == "file1.jpg"
    assert not store.index_dir(info.id).exists(), "no PDQ entries, no index"
    assert list_hashsets(store) == [info]


def test_import_vics_keeps_record_categories_and_extras(store: CaseStore, tmp_path: Path) -> None:
    rng = random.Random(3)
    entries = [
        HashEntry(
            md5=rand_hex(rng, 32),
            sha1=rand_hex(rng, 40),
            sha256=rand_hex(rng, 64),
            pdq=rand_hex(rng, 64) if i % 2 else None,
            pdq_quality=80 if i % 2 else None,
            category=[None, 0, 1, 2][i % 4],
            name=f"sample{i}.jpg",
            size=1000 + i,
            extra=(("series", "benign-series"),) if i == 5 else (),
        )
        for i in range(40)
    ]
    path = tmp_path / "partner.json"
    with path.open("wb") as fh:
        write_vics(entries, fh)
    info = do_import(store, path, kind="alert", category=2)
    assert (info.format, info.entries, info.pdq_entries) == ("vics", 40, 20)
    with store.engine.connect() as conn:
        rows = conn.execute(select(hash_entries).order_by(hash_entries.c.id)).all()
    assert [r.category for r in rows] == [e.category for e in entries]
    assert [(r.md5, r.sha1, r.sha256, r.pdq, r.size) for r in rows] == [
        (e.md5, e.sha1, e.sha256, e.pdq, e.size) for e in entries
    ]
    assert json.loads(rows[5].extra) == {"series": "benign-series"}
    assert rows[0].extra is None


@pytest.mark.parametrize(
    ("kind", "category", "message"),
    [("bad", None, "kind must be one of"), ("alert", 9, "category 9 is not in")],
)
def test_bad_kind_or_category_is_a_config_error(
    store: CaseStore, tmp_path: Path, kind: str, category: int | None, message: str
) -> None:
    path = tmp_path / "x.md5"
    md5sum_list(path, 3)
    with pytest.raises(ConfigError, match=message):
        do_import(store, path, kind=kind, category=category)
    assert list_hashsets(store, include_inactive=True) == []


def test_entry_category_outside_the_scheme_is_kept_without_a_meaning(
    store: CaseStore, tmp_path: Path
) -> None:
    entries = [HashEntry(md5=f"{i:032x}", category=1) for i in range(30)]
    entries[17] = HashEntry(md5=f"{17:032x}", category=7)
    path = tmp_path / "odd.json"
    with path.open("wb") as fh:
        write_vics(entries, fh)
    stats = ImportStats()
    info = do_import(store, path, stats=stats)
    assert info.entries == 30 and stats.unmapped == {7: 1}
    with store.engine.connect() as conn:
        row = conn.execute(
            select(hash_entries.c.category, hash_entries.c.list_category).where(
                hash_entries.c.md5 == f"{17:032x}"
            )
        ).one()
    assert tuple(row) == (None, 7)


def test_a_list_broken_late_imports_nothing(store: CaseStore, tmp_path: Path) -> None:
    good = tmp_path / "set.md5"
    md5sum_list(good, 50, seed=9)
    first = do_import(store, good)
    broken = tmp_path / "set-v2.md5"
    md5sum_list(broken, 30_000, bad_at=25_123)
    with pytest.raises(HashSetFormatError, match="line 25123") as err:
        do_import(store, broken, fmt="md5sum", name="set")
    assert err.value.line == 25_123
    assert list_hashsets(store, include_inactive=True) == [first], "no half-imported version"
    assert count(store, hash_entries) == 50
    assert not any(p.name.startswith(".tmp-") for p in store.index_dir(0).parent.glob("*"))


def test_a_large_import_rebuilds_the_digest_indexes(
    store: CaseStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the threshold SQLite drops and rebuilds the digest indexes inside the import's
    transaction: they exist after a good import and after one that fails late."""
    monkeypatch.setattr(hashsets_module, "DEFER_INDEXES_AT", 10_000)
    digest_indexes = {"ix_hash_entries_md5", "ix_hash_entries_sha1", "ix_hash_entries_sha256"}

    def indexes() -> set[str]:
        return {ix["name"] for ix in inspect(store.engine).get_indexes("hash_entries")}

    big = tmp_path / "big.md5"
    md5s = md5sum_list(big, 30_000, seed=4)
    info = do_import(store, big, category=1)
    assert info.entries == 30_000 and digest_indexes <= indexes()
    broken = tmp_path / "broken.md5"
    md5sum_list(broken, 70_000, bad_at=65_000)
    with pytest.raises(HashSetFormatError, match="line 65000"):
        do_import(store, broken, fmt="md5sum", name="big")
    assert digest_indexes <= indexes() and count(store, hash_entries) == 30_000
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM hash_entries WHERE md5 = ?", (md5s[0],)
            ).all()
        assert "ix_hash_entries_md5" in " ".join(str(r[-1]) for r in plan)


def test_a_pdq_list_broken_late_leaves_no_index(store: CaseStore, tmp_path: Path) -> None:
    path = tmp_path / "faces.pdq"
    pdq_list(path, 12_000)
    with path.open("a") as fh:
        fh.write("not-a-pdq-hash\n")
    with pytest.raises(HashSetFormatError, match="line 12001"):
        do_import(store, path, fmt="pdq")
    assert count(store, hash_entries) == 0 and count(store, hashsets) == 0
    root = store.index_dir(1).parent
    assert not root.exists() or not any(root.iterdir())


def test_an_empty_list_is_refused(store: CaseStore, tmp_path: Path) -> None:
    path = tmp_path / "empty.md5"
    path.write_text("# only a comment\n\n")
    with pytest.raises(HashSetFormatError, match="no hash entries"):
        do_import(store, path, fmt="md5sum")
    assert count(store, hashsets) == 0


def test_reimport_replaces_the_set_and_keeps_history(
    store: CaseStore, tmp_path: Path, make_record: MakeRecord
) -> None:
    (file_id,) = add_files(store, [make_record("a.jpg")])
    path = tmp_path / "list.pdq"
    pdq_list(path, 100, seed=1)
    v1 = do_import(store, path, fmt="pdq", name="shared")
    assert store.index_dir(v1.id).is_dir()
    with store.engine.begin() as conn:  # the matcher's row for a hit on version 1
        entry_id = conn.execute(
            select(func.min(hash_entries.c.id)).where(hash_entries.c.hashset_id == v1.id)
        ).scalar_one()
        conn.execute(
            matches.insert(),
            {
                "file_id": file_id,
                "hashset_id": v1.id,
                "entry_id": entry_id,
                "algorithm": "pdq",
                "algorithm_version": "1",
                "distance": 3,
                "threshold": 31,
                "transform": "original",
                "category": 1,
                "matched_at": now_iso(),
            },
        )
    pdq_list(path, 150, seed=2)
    v2 = do_import(store, path, fmt="pdq", name="shared")
    assert (v2.version, v2.active, v2.entries) == (2, True, 150)
    assert v2.id != v1.id
    versions = list_hashsets(store, include_inactive=True)
    assert [(i.id, i.version, i.active, i.entries) for i in versions] == [
        (v1.id, 1, False, 100),
        (v2.id, 2, True, 150),
    ]
    assert list_hashsets(store) == [v2]
    assert count(store, hash_entries, hash_entries.c.hashset_id == v1.id) == 0
    assert count(store, hash_entries, hash_entries.c.hashset_id == v2.id) == 150
    with store.engine.connect() as conn:
        assert conn.execute(select(matches.c.hashset_id)).scalars().all() == [v1.id]
    assert not store.index_dir(v1.id).exists() and store.index_dir(v2.id).is_dir()
    assert pdq_index(store, v1.id) is None


def test_remove(store: CaseStore, tmp_path: Path, make_record: MakeRecord) -> None:
    ids = add_files(store, [make_record("a.jpg"), make_record("b.jpg")])
    keep = tmp_path / "keep.md5"
    md5sum_list(keep, 10, seed=5)
    kept = do_import(store, keep)
    path = tmp_path / "gone.pdq"
    pdq_list(path, 20)
    old = do_import(store, path, fmt="pdq")
    new = do_import(store, path, fmt="pdq")
    with store.engine.begin() as conn:
        hits = ((ids[0], old.id, 1), (ids[1], new.id, 2), (ids[1], kept.id, 3))
        for file_id, hashset_id, entry_id in hits:
            conn.execute(
                matches.insert(),
                {
                    "file_id": file_id,
                    "hashset_id": hashset_id,
                    "entry_id": entry_id,
                    "algorithm": "md5",
                    "algorithm_version": "1",
                    "distance": 0,
                    "threshold": 0,
                    "transform": "original",
                    "matched_at": now_iso(),
                },
            )
    assert remove_hashset(store, "gone") == sorted(ids)
    assert list_hashsets(store) == [kept]
    assert {i.name: i.active for i in list_hashsets(store, include_inactive=True)} == {
        "gone": False,
        "keep": True,
    }
    assert count(store, hash_entries) == 10
    with store.engine.connect() as conn:
        assert conn.execute(select(matches.c.hashset_id)).scalars().all() == [kept.id]
    assert not store.index_dir(new.id).exists()
    with pytest.raises(VigilError, match="already removed"):
        remove_hashset(store, "gone")
    with pytest.raises(VigilError, match=r"no hash set named 'nope' in this case \(sets: keep\)"):
        remove_hashset(store, "nope")
    again = do_import(store, path, fmt="pdq")
    assert (again.version, again.active) == (3, True)


# -- PDQ index ------------------------------------------------------------------------------


def test_index_id_round_trip() -> None:
    assert index_id(5) == 80 and index_id(5, 3) == 83
    assert split_index_id(83) == (5, 3)
    arr = np.array([80, 83, 16 * 10**9 + 15])
    entry, variant = split_index_id(arr)
    assert entry.tolist() == [5, 5, 10**9] and variant.tolist() == [0, 3, 15]
    with pytest.raises(ValueError):
        index_id(1, 16)


def test_window_scales_are_the_persisted_variant_order() -> None:
    """Index variant k is the k-th window of a known picture in every saved index and every
    Vigil-made list: the order is a stored convention, pinned here literally."""
    assert window_scales() == ("0.97", "0.91", "0.85", "0.79", "t0.94", "b0.94", "t0.82", "b0.82")


def test_window_variants_parse() -> None:
    a, b = "a" * 64, "B" * 64
    scales = ("0.8", "0.6")
    assert window_variants(f"0.80:{a},0.6:{b},0.5:{a}", scales) == [(1, a), (2, b.lower())]
    assert window_variants(f"0.8:{a[:10]},x", scales) == []
    assert window_variants(f"0.8:{a}", ()) == []
    assert window_variants(None, scales) == []


def test_pdq_index_finds_every_entry(store: CaseStore, tmp_path: Path) -> None:
    path = tmp_path / "faces.pdq"
    pdqs = pdq_list(path, 3_000)
    info = do_import(store, path, fmt="pdq")
    assert info.pdq_entries == 3_000
    saved = store.index_dir(info.id)
    assert (saved / "index.json").is_file()
    index = pdq_index(store, info.id)
    assert index is not None and len(index) == 3_000
    with store.engine.connect() as conn:
        entry_of = dict(
            conn.execute(select(hash_entries.c.pdq, hash_entries.c.id)).all()  # type: ignore[arg-type]
        )
    found = index.search(hex_to_codes(pdqs), threshold=0)
    assert len(found) == 3_000
    entry, variant = split_index_id(found["id"])
    assert (variant == 0).all()
    assert entry.tolist() == [entry_of[pdqs[q]] for q in found["query"]]


def test_pdq_index_holds_windows_and_is_rebuilt_when_missing(
    store: CaseStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil.hashing import windows

    monkeypatch.setattr(windows, "WINDOW_SCALES", (0.8, 0.6))
    rng = random.Random(7)
    main = [rand_hex(rng, 64) for _ in range(4)]
    win = [rand_hex(rng, 64) for _ in range(4)]
    entries = [
        HashEntry(md5=f"{i:032x}", pdq=main[i], pdq_quality=90, category=1)
        if i % 2
        else HashEntry(
            md5=f"{i:032x}",
            pdq=main[i],
            pdq_quality=90,
            category=1,
            extra=(("pdq_windows", f"0.6:{win[i]},0.8:{win[i + 1]}"),),
        )
        for i in range(4)
    ]
    path = tmp_path / "w.json"
    with path.open("wb") as fh:
        write_vics(entries, fh)
    info = do_import(store, path)
    index = pdq_index(store, info.id)
    assert index is not None and len(index) == 4 + 2 * 2
    with store.engine.connect() as conn:
        eids = conn.execute(select(hash_entries.c.id).order_by(hash_entries.c.id)).scalars().all()
    found = index.search(hex_to_codes([win[0], win[1], main[3]]), threshold=0)
    entry, variant = split_index_id(found["id"])
    pairs = set(zip(found["query"].tolist(), entry.tolist(), variant.tolist(), strict=True))
    assert pairs == {(0, eids[0], 2), (1, eids[0], 1), (2, eids[3], 0)}
    shutil.rmtree(store.index_dir(info.id))
    rebuilt = pdq_index(store, info.id)
    assert rebuilt is not None and len(rebuilt) == 8
    assert (store.index_dir(info.id) / "index.json").is_file()


# -- VICS export ----------------------------------------------------------------------------


def categorised_case(store: CaseStore, make_record: MakeRecord) -> list[FileRecord]:
    recs = [
        make_record("Users/jdoe/Pictures/holiday/a.jpg", category=1),
        make_record("b.png", category=0, pdq=None, pdq_quality=None),
        make_record("dump/outer.zip", "inner/dir/c.jpg", category=2),
        make_record("unreviewed.jpg"),  # no category: not exported
        make_record("d.jpg", category=None, md5=None),
    ]
    dup = make_record("copy/of/a.jpg", category=2)
    dup.md5, dup.sha1, dup.sha256, dup.pdq = recs[0].md5, recs[0].sha1, recs[0].sha256, recs[0].pdq
    add_files(store, [*recs, dup])
    with store.engine.begin() as conn:
        conn.execute(
            update(files)
            .where(files.c.md5 == recs[0].md5)
            .values(pdq_windows=f"0.8:{'1' * 64},0.6:{'2' * 64}")
        )
    return recs


def test_export_then_import_is_lossless(
    store: CaseStore, tmp_path: Path, make_record: MakeRecord
) -> None:
    recs = categorised_case(store, make_record)
    out = tmp_path / "out" / "export.json"
    out.parent.mkdir()
    assert export_vics(store, out) == 3
    assert [p.name for p in out.parent.iterdir()] == ["export.json"], "no temp file left"
    info = do_import(store, out, name="roundtrip", kind="reference")
    assert info.format == "vics" and info.entries == 3
    with store.engine.connect() as conn:
        got = {
            r.md5: r
            for r in conn.execute(
                select(hash_entries).where(hash_entries.c.hashset_id == info.id)
            ).all()
        }
    expected = {
        recs[0].md5: (recs[0], 1, "a.jpg"),  # duplicate with category 2: the most severe wins
        recs[1].md5: (recs[1], 0, "b.png"),
        recs[2].md5: (recs[2], 2, "c.jpg"),
    }
    assert set(got) == set(expected)
    for md5, (rec, category, name) in expected.items():
        row = got[md5]
        assert (row.sha1, row.sha256, row.pdq, row.size) == (
            rec.sha1,
            rec.sha256,
            rec.pdq,
            rec.size,
        )
        assert row.pdq_quality == (rec.pdq_quality if rec.pdq else None)
        assert (row.category, row.name) == (category, name)
    assert json.loads(got[recs[0].md5].extra) == {"pdq_windows": f"0.8:{'1' * 64},0.6:{'2' * 64}"}


def test_export_has_no_paths_or_bytes(
    store: CaseStore, tmp_path: Path, make_record: MakeRecord
) -> None:
    categorised_case(store, make_record)
    out = tmp_path / "export.json"
    export_vics(store, out)
    text = out.read_text("utf-8")
    doc = json.loads(text)
    assert doc["@odata.context"].endswith("#Media")
    for word in ("jdoe", "Users", "holiday", "outer.zip", "inner/", "secret-suspect", "evidence"):
        assert word not in text
    assert "RelativeFilePath" not in text
    assert all(f["FilePath"] == "" for m in doc["value"] for f in m.get("MediaFiles", []))
    for media in doc["value"]:
        assert set(media) <= {
            "MediaID",
            "Category",
            "MD5",
            "SHA1",
            "MediaSize",
            "MediaFiles",
            "AlternativeHashes",
            "MediaMetadata",
        }
    export_vics(store, out, names=False)
    assert "FileName" not in out.read_text("utf-8")


def test_export_versions_and_failures(
    store: CaseStore, tmp_path: Path, make_record: MakeRecord
) -> None:
    categorised_case(store, make_record)
    out = tmp_path / "v13.json"
    assert export_vics(store, out, version="1.3") == 3
    assert json.loads(out.read_text())["odata.metadata"].endswith("1.3.xml#Media")
    with pytest.raises(ConfigError, match="unknown VICS version"):
        export_vics(store, tmp_path / "bad.json", version="9")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case", "v13.json"]
    with pytest.raises(VigilError, match="cannot write"):
        export_vics(store, tmp_path / "missing" / "x.json")


def test_export_of_an_uncategorised_case_is_an_empty_set(
    store: CaseStore, tmp_path: Path, make_record: MakeRecord
) -> None:
    add_files(store, [make_record("a.jpg")])
    out = tmp_path / "e.json"
    assert export_vics(store, out) == 0
    assert json.load(io.StringIO(out.read_text()))["value"] == []
