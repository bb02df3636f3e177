"""`vigil hashset import|list|remove` through Typer's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from vigil.cli.app import app
from vigil.model import FileRecord, Kind, Locator
from vigil.store import CaseStore, RecordWriter
from vigil.store.hashsets import HashSetInfo, list_hashsets
from vigil.store.schema import files

runner = CliRunner()


def vigil(*args: object, code: int = 0) -> Result:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def record(name: str) -> FileRecord:
    data = f"benign-{name}".encode()
    return FileRecord(
        Locator(f"photos/{name}".encode()),
        size=len(data),
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        kind=Kind.IMAGE,
        pdq=hashlib.sha256(b"pdq" + data).hexdigest(),
        pdq_quality=90,
    )


def make_case(path: Path, db_url: str | None) -> list[FileRecord]:
    """A case holding three benign records (photos/a.jpg, b.jpg, c.jpg), uncategorised."""
    recs = [record(n) for n in ("a.jpg", "b.jpg", "c.jpg")]
    with CaseStore.create(path, db_url=db_url) as store, RecordWriter(store) as writer:
        sid = writer.source_id("ev", "/ev", single_file=False)
        for rec in recs:
            writer.add(sid, rec.locator.relpath, [rec])
    return recs


@pytest.fixture
def case(tmp_path: Path, db_url: str | None) -> tuple[Path, list[FileRecord]]:
    return tmp_path / "case", make_case(tmp_path / "case", db_url)


def categories(case_dir: Path) -> dict[str, int | None]:
    with CaseStore.open(case_dir) as store, store.engine.connect() as conn:
        return dict(conn.execute(select(files.c.path, files.c.category)).all())  # type: ignore[arg-type]


def test_import_list_remove(case: tuple[Path, list[FileRecord]], tmp_path: Path) -> None:
    case_dir, recs = case
    listing = tmp_path / "known.md5"
    listing.write_text(f"{recs[0].md5}  a.jpg\n{'0' * 32}  other.jpg\n")
    out = vigil("hashset", "import", case_dir, listing, "--category", "1").output
    assert "imported known version 1 (md5sum, alert): 2 entries, 0 PDQ" in out
    assert "matched 3 files" in out and "1 new matches" in out
    assert categories(case_dir)["photos/a.jpg"] == 1

    pdqs = tmp_path / "faces.txt"
    pdqs.write_text(f"{recs[1].pdq},90,b.jpg\n")
    out = vigil("hashset", "import", case_dir, pdqs, "--format", "pdq", "--kind", "ignorable")
    assert "imported faces version 1 (pdq, ignorable): 1 entries, 1 PDQ" in out.output
    assert categories(case_dir)["photos/b.jpg"] == 0, "ignorable → non-pertinent"

    listing.write_text(f"{recs[0].md5}  a.jpg\n")
    out = vigil("hashset", "import", case_dir, listing, "--name", "known", "--category", "2")
    assert "imported known version 2" in out.output

    table = vigil("hashset", "list", case_dir).output
    assert "known" in table and "faces" in table and "ignorable" in table
    assert table.count("known") == 1
    assert vigil("hashset", "list", case_dir, "--all").output.count("known") == 2

    out = vigil("hashset", "remove", case_dir, "faces").output
    assert "removed faces; 1 files re-resolved" in out
    assert categories(case_dir)["photos/b.jpg"] is None
    assert "faces" not in vigil("hashset", "list", case_dir).output


def test_list_json_has_every_field_of_every_set(
    case: tuple[Path, list[FileRecord]], tmp_path: Path
) -> None:
    case_dir, recs = case
    listing = tmp_path / "known.md5"
    listing.write_text(f"{recs[0].md5}  a.jpg\n")
    vigil("hashset", "import", case_dir, listing, "--category", "1")
    vigil("hashset", "import", case_dir, listing, "--category", "2")
    with CaseStore.open(case_dir) as store:
        expected = [dataclasses.asdict(i) for i in list_hashsets(store, include_inactive=True)]

    listed = json.loads(vigil("hashset", "list", case_dir, "--json").stdout)
    assert listed == {"category_scheme": "projectvic", "hashsets": expected[-1:]}
    (active,) = listed["hashsets"]
    assert set(active) == {f.name for f in dataclasses.fields(HashSetInfo)}
    assert (active["name"], active["version"], active["category"]) == ("known", 2, 2)
    everything = json.loads(vigil("hashset", "list", case_dir, "--all", "--json").stdout)
    assert everything["hashsets"] == expected
    assert [s["active"] for s in everything["hashsets"]] == [False, True]


def test_a_bad_list_fails_with_its_line_and_imports_nothing(
    case: tuple[Path, list[FileRecord]], tmp_path: Path
) -> None:
    case_dir, _ = case
    listing = tmp_path / "broken.md5"
    listing.write_text("".join(f"{i:032x}  f{i}\n" for i in range(500)) + "garbage here\n")
    result = vigil("hashset", "import", case_dir, listing, "--format", "md5sum", code=6)
    assert "line 501" in result.output
    assert "no hash sets" in vigil("hashset", "list", case_dir, "--all").output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--kind", "loud"], 2, "kind must be one of"),
        (["--category", "9"], 2, "category 9 is not in the projectvic scheme"),
        (["--format", "nope"], 2, "unknown hash-set format 'nope'"),
    ],
)
def test_bad_options(
    case: tuple[Path, list[FileRecord]], tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    case_dir, _ = case
    listing = tmp_path / "x.md5"
    listing.write_text(f"{'1' * 32}  x\n")
    result = vigil("hashset", "import", case_dir, listing, *args, code=code)
    assert message in result.output


def test_remove_unknown_and_not_a_case(case: tuple[Path, list[FileRecord]], tmp_path: Path) -> None:
    case_dir, _ = case
    assert "no hash set named 'x'" in vigil("hashset", "remove", case_dir, "x", code=1).output
    vigil("hashset", "list", tmp_path / "nowhere", code=3)


def test_a_uk_list_needs_a_category_map_in_a_projectvic_case(
    case: tuple[Path, list[FileRecord]], tmp_path: Path
) -> None:
    """A VICS 2.0 region-UK export (as Clees4All writes it) never becomes Project VIC codes by
    accident: refused, then imported through an explicit map."""
    case_dir, recs = case
    context = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Media"
    media = [{"MediaID": 1, "Category": 1, "MD5": recs[0].md5.upper()}]
    listing = tmp_path / "caid-gold.json"
    listing.write_text(json.dumps({"@odata.context": context, "value": media}))
    refused = vigil("hashset", "import", case_dir, listing, code=6).output
    assert "uk" in refused and "--category-map" in refused
    assert categories(case_dir)["photos/a.jpg"] is None
    mapping = tmp_path / "uk.toml"
    mapping.write_text("1 = 1\n2 = 1\n3 = 2\n")
    out = vigil("hashset", "import", case_dir, listing, "--category-map", mapping).output
    assert "categories: uk codes mapped" in out
    assert categories(case_dir)["photos/a.jpg"] == 1
    assert "uk, mapped" in vigil("hashset", "list", case_dir).output
    (mapped,) = json.loads(vigil("hashset", "list", case_dir, "--json").stdout)["hashsets"]
    assert mapped["list_scheme"] == "uk" and mapped["category_map"] == {"1": 1, "2": 1, "3": 2}
    bad = tmp_path / "bad.toml"
    bad.write_text("1 = 9\n")
    out = vigil("hashset", "import", case_dir, listing, "--category-map", bad, code=2).output
    assert "category 9 is not in the projectvic scheme" in out
