"""Import-then-match as partners' lists really arrive: a list's categories never change meaning
(region, codes outside the case's scheme, explicit maps), the case's threshold applies, empty
content never matches, and a re-match leaves exactly what a fresh match would. SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select

from vigil.config import Settings
from vigil.errors import HashSetFormatError
from vigil.index import codes_to_hex, hex_to_codes
from vigil.index.codec import flip_bits
from vigil.model import FileRecord, Kind, Locator, Status
from vigil.pipeline.hashset_flows import import_and_match, import_notes, remove_and_redecide
from vigil.pipeline.matcher import match_case
from vigil.store import CaseStore, RecordWriter
from vigil.store.hashsets import list_hashsets
from vigil.store.schema import files, hash_entries, matches

UK_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Cases"
CAID_CONTEXT = "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media"


def record(name: str, data: bytes | None = None, **fields: object) -> FileRecord:
    data = f"benign-{name}".encode() if data is None else data
    values: dict[str, object] = {
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "kind": Kind.IMAGE,
    }
    values.update(fields)
    return FileRecord(Locator(f"photos/{name}".encode()), **values)  # type: ignore[arg-type]


def make_case(path: Path, db_url: str | None, recs: list[FileRecord], **kw: str) -> CaseStore:
    store = CaseStore.create(path, db_url=db_url, **kw)
    with RecordWriter(store) as writer:
        sid = writer.source_id("ev", "/ev", single_file=False)
        for rec in recs:
            writer.add(sid, rec.locator.relpath, [rec])
    return store


def category_of(store: CaseStore, name: str) -> int | None:
    with store.engine.connect() as conn:
        return conn.execute(
            select(files.c.category).where(files.c.path == f"photos/{name}")
        ).scalar_one()


def match_rows(store: CaseStore) -> list[tuple]:
    with store.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    matches.c.file_id,
                    matches.c.entry_id,
                    matches.c.algorithm,
                    matches.c.distance,
                    matches.c.threshold,
                    matches.c.transform,
                    matches.c.category,
                ).order_by(matches.c.file_id, matches.c.entry_id, matches.c.algorithm)
            )
        ]


def clees4all_uk_export(path: Path, recs: list[tuple[FileRecord, int]]) -> Path:
    """A VICS 2.0 `#Cases` export with region UK as Clees4All writes it (formats.md §1.3, §2.1:
    braced CaseID, contact fields, SourceApplicationName, uppercase MD5, MediaFiles with
    backslash paths), categories 1/2/3 = A/B/C."""
    media = [
        {
            "MediaID": i,
            "Category": cat,
            "MD5": rec.md5.upper(),
            "SHA1": rec.sha1.upper(),
            "MediaSize": rec.size,
            "IsPrecategorized": "false",
            "MediaFiles": [
                {
                    "MD5": rec.md5.upper(),
                    "FileName": rec.locator.name.decode(),
                    "FilePath": "AB-1\\Users\\x\\Pictures",
                    "SourceID": "AB-1",
                }
            ],
        }
        for i, (rec, cat) in enumerate(recs, 1)
    ]
    doc = {
        "@odata.context": UK_CONTEXT,
        "value": [
            {
                "CaseID": "{0F8FAD5B-D9CB-469F-A165-70867728950E}",
                "CaseNumber": "UK-TEST-1",
                "ContactName": "Examiner",
                "ContactOrganization": "Test force",
                "SourceApplicationName": "Clees4All",
                "SourceApplicationVersion": "1.40",
                "Media": media,
            }
        ],
    }
    path.write_text(json.dumps(doc), "utf-8")
    return path


def nist_caid_set(path: Path, recs: list[FileRecord]) -> Path:
    """NIST's CAID non-RDS set: VICS 1.2 `#Media`, `Category` 8, MediaSize as a string, the
    name nested in MediaFiles (formats.md §2.1)."""
    value = [
        {
            "MediaID": i,
            "Category": 8,
            "MD5": rec.md5.upper(),
            "SHA1": rec.sha1.upper(),
            "MediaSize": str(rec.size),
            "MediaFiles": [{"MD5": rec.md5.upper(), "FileName": f"{i:08d}.png"}],
        }
        for i, rec in enumerate(recs, 1)
    ]
    path.write_text(json.dumps({"odata.metadata": CAID_CONTEXT, "value": value}), "utf-8")
    return path


@pytest.fixture
def recs() -> list[FileRecord]:
    return [record(n) for n in ("a.jpg", "b.jpg", "c.jpg")]


# -- a list's region ---------------------------------------------------------------------


def test_uk_list_into_a_projectvic_case_is_refused_as_alert(tmp_path, db_url, recs):
    listing = clees4all_uk_export(tmp_path / "uk.json", [(recs[0], 1), (recs[1], 3)])
    with make_case(tmp_path / "case", db_url, recs) as store:
        with pytest.raises(HashSetFormatError) as err:
            import_and_match(store, listing, kind="alert")
        message = str(err.value)
        assert "uk" in message and "projectvic" in message and "--category-map" in message
        assert list_hashsets(store, include_inactive=True) == []
        assert category_of(store, "a.jpg") is None


def test_uk_list_into_a_projectvic_case_as_ignorable_or_reference(tmp_path, db_url, recs):
    listing = clees4all_uk_export(tmp_path / "uk.json", [(recs[0], 1), (recs[1], 3)])
    with make_case(tmp_path / "case", db_url, recs) as store:
        outcome = import_and_match(store, listing, kind="ignorable")
        assert outcome.info.list_scheme == "uk"
        assert any("decide nothing" in note for note in import_notes(outcome, store.scheme))
        with store.engine.connect() as conn:
            stored = conn.execute(
                select(hash_entries.c.list_category, hash_entries.c.category).order_by(
                    hash_entries.c.id
                )
            ).all()
        assert [tuple(r) for r in stored] == [(1, None), (3, None)]
        assert category_of(store, "a.jpg") == 0  # non-pertinent: what an ignorable match says
        remove_and_redecide(store, "uk")
        assert category_of(store, "a.jpg") is None
        import_and_match(store, listing, kind="reference", name="uk-ref")
        assert category_of(store, "a.jpg") is None
        assert len(match_rows(store)) == 4  # md5 + sha1 for a and b


def test_uk_list_with_a_category_map(tmp_path, db_url, recs):
    listing = clees4all_uk_export(tmp_path / "uk.json", [(recs[0], 1), (recs[1], 3)])
    mapping = tmp_path / "uk-to-pv.toml"
    mapping.write_text('# UK A/B/C → Project VIC\n1 = 1\n2 = 1\n3 = "none"\n', "utf-8")
    with make_case(tmp_path / "case", db_url, recs) as store:
        outcome = import_and_match(store, listing, category_map=mapping)
        assert json.loads(outcome.info.category_map) == {"1": 1, "2": 1, "3": None}
        assert category_of(store, "a.jpg") == 1
        assert category_of(store, "b.jpg") is None  # mapped to no verdict: a human decides
        partial = tmp_path / "partial.toml"
        partial.write_text("1 = 1\n", "utf-8")
        with pytest.raises(HashSetFormatError, match=r"category 3.*partial\.toml"):
            import_and_match(store, listing, category_map=partial, name="again")
        assert [s.name for s in list_hashsets(store, include_inactive=True)] == ["uk"]


def test_uk_list_into_a_uk_case_keeps_its_codes(tmp_path, db_url, recs):
    listing = clees4all_uk_export(tmp_path / "uk.json", [(recs[0], 1), (recs[1], 3)])
    with make_case(tmp_path / "case", db_url, recs, scheme="uk") as store:
        outcome = import_and_match(store, listing)
        assert outcome.info.list_scheme == "uk" and outcome.info.category_map is None
        assert category_of(store, "a.jpg") == 1  # Category A
        assert category_of(store, "b.jpg") == 3  # Category C


# -- codes the case's scheme lacks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"), [("alert", None), ("ignorable", 0), ("reference", None)]
)
def test_nist_caid_category_8_imports_whatever_the_kind(tmp_path, db_url, recs, kind, expected):
    listing = nist_caid_set(tmp_path / "CAID_NonRDS.json", recs[:2])
    with make_case(tmp_path / "case", db_url, recs) as store:
        outcome = import_and_match(store, listing, kind=kind)
        assert outcome.info.entries == 2 and outcome.stats.unmapped == {8: 2}
        with store.engine.connect() as conn:
            assert set(conn.execute(select(hash_entries.c.list_category)).scalars()) == {8}
            assert set(conn.execute(select(hash_entries.c.category)).scalars()) == {None}
        assert category_of(store, "a.jpg") == expected
        assert {r[6] for r in match_rows(store)} == {expected}
        notes = " ".join(import_notes(outcome, store.scheme))
        assert ("8 (2 entries)" in notes) == (kind == "alert")


def test_set_category_applies_only_to_entries_without_a_code(tmp_path, db_url, recs):
    listing = nist_caid_set(tmp_path / "caid.json", recs[:1])
    md5s = tmp_path / "plain.md5"
    md5s.write_text(f"{recs[1].md5}  b.jpg\n", "utf-8")
    with make_case(tmp_path / "case", db_url, recs) as store:
        import_and_match(store, listing, category=2)
        import_and_match(store, md5s, category=2)
        assert category_of(store, "a.jpg") is None  # code 8 means nothing here: not "2"
        assert category_of(store, "b.jpg") == 2


# -- matching at the case's settings -------------------------------------------------------


def near(hexa: str, bits: int) -> str:
    return codes_to_hex(flip_bits(hex_to_codes([hexa]), bits, np.random.default_rng(bits)))[0]


def test_import_matches_at_the_case_threshold(tmp_path, db_url):
    known = hashlib.sha256(b"known picture").hexdigest()
    recs = [record("n.jpg", pdq=near(known, 25), pdq_quality=90)]
    listing = tmp_path / "known.pdq"
    listing.write_text(f"{known},90\n", "utf-8")
    with make_case(tmp_path / "case", db_url, recs) as store:
        (store.case_dir / "vigil.toml").write_text(
            "pdq_threshold = 20\nweak_pdq_distance = 0\n", "utf-8"
        )
        outcome = import_and_match(store, listing, fmt="pdq", category=1)
        assert outcome.summary.threshold == 20 and match_rows(store) == []
        assert category_of(store, "n.jpg") is None
        summary = match_case(store, Settings(pdq_threshold=31))
        assert summary.added == 1 and category_of(store, "n.jpg") == 1


def test_rematch_leaves_what_a_fresh_match_would(tmp_path, db_url):
    """At 40 the whole-picture hit (35 bits) wins over the window hit (10 bits); at 31 only
    the window hit holds, so the row must become it, not keep the 35-bit row."""
    known = hashlib.sha256(b"known picture").hexdigest()
    windows = f"0.97:{near(known, 10)}"
    recs = [record("w.jpg", pdq=near(known, 35), pdq_quality=90, pdq_windows=windows)]
    listing = tmp_path / "known.pdq"
    listing.write_text(f"{known},90\n", "utf-8")
    with make_case(tmp_path / "a", db_url, recs) as store:
        (store.case_dir / "vigil.toml").write_text("pdq_threshold = 40\n", "utf-8")
        import_and_match(store, listing, fmt="pdq", category=1)
        ((*_, distance, threshold, transform, _),) = match_rows(store)
        assert (distance, threshold, transform) == (35, 40, "original")
        summary = match_case(store, Settings(pdq_threshold=31))
        assert summary.updated == 1
        history = match_rows(store)
        with store.engine.begin() as conn:
            conn.execute(delete(matches))
        match_case(store, Settings(pdq_threshold=31))
        assert match_rows(store) == history
        ((*_, distance, threshold, transform, _),) = history
        assert (distance, threshold, transform) == (10, 31, "crop:0.97")


def test_empty_content_never_matches(tmp_path, db_url):
    empty = record("empty.jpg", data=b"", kind=Kind.OTHER, status=Status.SKIPPED)
    recs = [empty, record("x.jpg")]
    listing = tmp_path / "tool-output.md5"
    listing.write_text(f"{empty.md5}  empty.dat\n{recs[1].md5}  x.jpg\n", "utf-8")
    with make_case(tmp_path / "case", db_url, recs) as store:
        outcome = import_and_match(store, listing, category=1)
        assert outcome.stats.empty_digest == 1
        assert any("empty content" in n for n in import_notes(outcome, store.scheme))
        assert category_of(store, "empty.jpg") is None
        assert category_of(store, "x.jpg") == 1
        assert len(match_rows(store)) == 1


def test_a_list_repeating_a_hash_gives_one_match_per_algorithm(tmp_path, db_url, recs):
    """NSRL RDS 2.x lists one hash once per product (and VICS exports repeat MD5s): a file
    matches the set once per algorithm, through the first such entry."""
    listing = tmp_path / "NSRLFile.md5"
    listing.write_text(f"{recs[0].md5}  a.exe\n{recs[0].md5}  a-copy.exe\n", "utf-8")
    with make_case(tmp_path / "case", db_url, recs) as store:
        import_and_match(store, listing, kind="ignorable")
        rows = match_rows(store)
        assert [(r[2], r[6]) for r in rows] == [("md5", 0)]
