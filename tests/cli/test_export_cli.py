"""`vigil export CASE --format vics|md5sum|hashdeep|csv -o FILE`, and the export re-imported
with `vigil hashset`: Project VIC codes under region Default, UK codes under region UK (2.0
only); md5sum and hashdeep lists for chosen categories only; a provenance sidecar with each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.cli.test_hashset_cli import make_case, record, vigil
from vigil.hashsets.hashdeep import HashdeepFormat
from vigil.hashsets.vics import VicsFormat
from vigil.model import FileRecord
from vigil.store import CaseStore, RecordWriter
from vigil.store.schema import files, hash_entries


@pytest.fixture
def case(tmp_path: Path, db_url: str | None) -> tuple[Path, list[FileRecord]]:
    return tmp_path / "case", make_case(tmp_path / "case", db_url)


def categorise(case_dir: Path, values: dict[str, int]) -> None:
    with CaseStore.open(case_dir) as store, store.engine.begin() as conn:
        for path, category in values.items():
            conn.execute(update(files).where(files.c.path == path).values(category=category))


def test_export_and_reimport(case: tuple[Path, list[FileRecord]], tmp_path: Path) -> None:
    case_dir, recs = case
    categorise(case_dir, {"photos/a.jpg": 1, "photos/c.jpg": 0})
    out = tmp_path / "share.json"
    result = vigil("export", case_dir, "--format", "vics", "-o", out)
    assert f"wrote 2 media records to {out}" in result.output
    doc = json.loads(out.read_text("utf-8"))
    assert [m["MD5"] for m in doc["value"]] == sorted(r.md5.upper() for r in (recs[0], recs[2]))
    assert "photos/" not in out.read_text("utf-8")

    other = tmp_path / "partner"
    with CaseStore.create(other):
        pass
    imported = vigil("hashset", "import", other, out, "--name", "from-partner").output
    assert "imported from-partner version 1 (vics, alert): 2 entries, 2 PDQ" in imported
    with CaseStore.open(other) as store, store.engine.connect() as conn:
        rows = conn.execute(
            select(
                hash_entries.c.md5,
                hash_entries.c.sha1,
                hash_entries.c.sha256,
                hash_entries.c.pdq,
                hash_entries.c.size,
                hash_entries.c.category,
                hash_entries.c.name,
            ).order_by(hash_entries.c.md5)
        ).all()
    want = sorted(
        (r.md5, r.sha1, r.sha256, r.pdq, r.size, cat, r.locator.relpath.decode()[7:])
        for r, cat in ((recs[0], 1), (recs[2], 0))
    )
    assert [tuple(row) for row in rows] == want


def test_export_options(case: tuple[Path, list[FileRecord]], tmp_path: Path) -> None:
    case_dir, _ = case
    categorise(case_dir, {"photos/b.jpg": 2})
    out = tmp_path / "v13.json"
    vigil("export", case_dir, "-o", out, "--version", "1.3", "--no-names")
    text = out.read_text("utf-8")
    assert "1.3.xml#Media" in text and "b.jpg" not in text
    for version in ("1.1", "1.2"):  # no reader takes 1.1; IPED reads 1.2 as NIST's known set
        refused = vigil("export", case_dir, "-o", out, "--version", version, code=2).output
        assert "supported: 1.3, 2.0" in refused
    assert (
        "unknown export format 'xml'"
        in vigil("export", case_dir, "--format", "xml", "-o", out, code=2).output
    )
    assert (
        "unknown VICS version"
        in vigil("export", case_dir, "-o", out, "--version", "3", code=2).output
    )
    assert out.read_text("utf-8") == text, "a failed export leaves the old file alone"


def uk_case(path: Path, db_url: str | None) -> None:
    """A case on the UK scheme with photos/a.jpg in Category A (1) and b.jpg in C (3)."""
    with CaseStore.create(path, db_url=db_url, scheme="uk") as store, RecordWriter(store) as w:
        sid = w.source_id("ev", "/ev", single_file=False)
        for name in ("a.jpg", "b.jpg"):
            w.add(sid, f"photos/{name}".encode(), [record(name)])
    categorise(path, {"photos/a.jpg": 1, "photos/b.jpg": 3})


def test_uk_case_exports_region_uk(tmp_path: Path, db_url: str | None) -> None:
    case_dir = tmp_path / "uk"
    uk_case(case_dir, db_url)
    out = tmp_path / "uk.json"
    vigil("export", case_dir, "-o", out)
    doc = json.loads(out.read_text("utf-8"))
    assert doc["@odata.context"].endswith("/2.0.xml/UK/$metadata#Media")
    assert VicsFormat().category_scheme(out) == "uk"
    assert sorted(e.category for e in VicsFormat().read(out)) == [1, 3]
    assert all(m["MediaFiles"][0]["FilePath"] == "" for m in doc["value"])
    refused = vigil("export", case_dir, "-o", tmp_path / "v13.json", "--version", "1.3", code=2)
    assert "region UK is written as VICS 2.0 only" in refused.output
    assert not (tmp_path / "v13.json").exists()

    partner = tmp_path / "partner"
    with CaseStore.create(partner, scheme="uk"):
        pass
    imported = vigil("hashset", "import", partner, out, "--name", "uk-partner").output
    assert "imported uk-partner version 1 (vics, alert): 2 entries" in imported
    with CaseStore.open(partner) as store, store.engine.connect() as conn:
        codes = conn.execute(select(hash_entries.c.category).order_by(hash_entries.c.category))
        assert list(codes.scalars()) == [1, 3]


@pytest.mark.parametrize("fmt", ["md5sum", "csv"])
def test_plain_lists_reimport(case: tuple[Path, list[FileRecord]], tmp_path: Path, fmt: str):
    case_dir, recs = case
    categorise(case_dir, {"photos/a.jpg": 1, "photos/b.jpg": 2, "photos/c.jpg": 0})
    out = tmp_path / f"share.{fmt}"
    result = vigil(
        "export", case_dir, "--format", fmt, "--category", "1", "--category", "2", "-o", out
    )
    sidecar = tmp_path / f"share.{fmt}.provenance.json"
    assert f"wrote 2 entries to {out}; provenance in {sidecar}" in result.output
    assert json.loads(sidecar.read_text("utf-8"))["categories"] == [1, 2]

    other = tmp_path / "partner"
    with CaseStore.create(other):
        pass
    imported = vigil("hashset", "import", other, out, "--name", "partner").output
    assert f"imported partner version 1 ({fmt}, alert): 2 entries" in imported
    with CaseStore.open(other) as store, store.engine.connect() as conn:
        rows = conn.execute(
            select(hash_entries.c.md5, hash_entries.c.name, hash_entries.c.category)
        ).all()
    codes = {"md5sum": (None, None), "csv": (1, 2)}[fmt]  # md5sum says no category
    assert sorted(rows) == sorted(
        (r.md5, r.locator.relpath.decode()[7:], code)
        for r, code in zip(recs[:2], codes, strict=True)
    )


def test_hashdeep_export(case: tuple[Path, list[FileRecord]], tmp_path: Path):
    case_dir, recs = case
    categorise(case_dir, {"photos/a.jpg": 1, "photos/b.jpg": 2})
    out = tmp_path / "known.txt"
    refused = vigil("export", case_dir, "--format", "hashdeep", "-o", out, code=2).output
    assert "hashdeep lists carry no category" in refused and not out.exists()
    vigil("export", case_dir, "--format", "hashdeep", "--category", "1", "-o", out)
    assert out.read_text("utf-8").startswith("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n")
    assert [(e.md5, e.sha256, e.size, e.name) for e in HashdeepFormat().read(out)] == [
        (recs[0].md5, recs[0].sha256, recs[0].size, "a.jpg")
    ]
    assert (
        "--version is a VICS version"
        in vigil(
            "export",
            case_dir,
            "--format",
            "hashdeep",
            "--category",
            "1",
            "--version",
            "2.0",
            "-o",
            out,
            code=2,
        ).output
    )
