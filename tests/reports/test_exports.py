"""`export_case`: every format re-imports with Vigil's reader to the same hashes, carries its
provenance (a sidecar naming the file by SHA-256; hashdeep also as `##` lines), never a folder,
the case's name or the store, and md5sum/hashdeep lists only for categories chosen by name."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import vigil
from tests.reports.conftest import FOLDER, RECORDS
from vigil.errors import ConfigError
from vigil.hashsets.csv_generic import CsvFormat
from vigil.hashsets.hashdeep import HashdeepFormat
from vigil.hashsets.md5sum import Md5sumFormat
from vigil.hashsets.vics import VicsFormat
from vigil.reports import FORMATS, export_case
from vigil.reports.provenance import sidecar_path
from vigil.store import CaseStore

READERS = {
    "vics": VicsFormat(),
    "md5sum": Md5sumFormat(),
    "hashdeep": HashdeepFormat(),
    "csv": CsvFormat(),
}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def export(case: Path, out: Path, fmt: str, **options: object) -> int:
    with CaseStore.open(case) as store:
        return export_case(store, out, fmt=fmt, **options).records  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips_with_its_provenance(case: Path, tmp_path: Path, fmt: str):
    out = tmp_path / f"share.{fmt}"
    assert export(case, out, fmt, categories=[1, 2]) == 2
    entries = list(READERS[fmt].read(out))
    a, b = RECORDS[f"{FOLDER}/a.jpg"][0], RECORDS[f"{FOLDER}/b, c.jpg"][0]
    assert sorted((e.md5, e.name) for e in entries) == sorted(
        [(md5(a), "a.jpg"), (md5(b), "b, c.jpg")]
    )
    if fmt in ("vics", "csv", "hashdeep"):
        assert {e.sha256 for e in entries} == {
            hashlib.sha256(a).hexdigest(),
            hashlib.sha256(b).hexdigest(),
        }
    if fmt in ("vics", "csv"):  # the formats that say a category, and carry PDQ
        assert sorted(e.category for e in entries) == [1, 2]
        assert all(e.pdq and e.pdq_quality == 90 for e in entries)

    sidecar = json.loads(sidecar_path(out).read_text("utf-8"))
    assert sidecar["file"] == out.name
    assert sidecar["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert sidecar["records"] == 2 and sidecar["format"] == fmt
    assert sidecar["categories"] == [1, 2] and sidecar["category_scheme"] == "projectvic"
    assert sidecar["versions"]["vigil"] == vigil.__version__
    assert sidecar["host"] and sidecar["user"] and sidecar["created_at"]
    with CaseStore.open(case) as store:
        assert sidecar["case_uuid"] == store.meta()["case_uuid"]
    assert ("hash_conventions" in sidecar) is (fmt in ("vics", "csv"))
    for shared in (out.read_text("utf-8"), sidecar_path(out).read_text("utf-8")):
        assert "seized" not in shared and "Alice" not in shared, "folders stay in the case"
        assert "Nightjar" not in shared and str(case) not in shared, "so do its name and store"


def test_hashdeep_carries_the_provenance_as_comment_lines(case: Path, tmp_path: Path):
    out = tmp_path / "known.txt"
    export(case, out, "hashdeep", categories=[1])
    lines = out.read_text("utf-8").splitlines()
    assert lines[:2] == ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename"]
    comments = [line for line in lines if line.startswith("##")]
    assert comments[-1] == "## " and lines.index("## ") == len(comments) + 1
    text = "\n".join(comments)
    assert f"## Vigil {vigil.__version__} hashdeep export of case " in text
    assert "categories (projectvic scheme): 1 Child Abuse Material (CAM)" in text
    assert "pdqhash" in text and "libjpeg-turbo" in text


def test_a_content_exports_under_its_most_severe_category(case: Path, tmp_path: Path):
    """a.jpg's copy is category 0, but the content is category 1: it is not non-pertinent."""
    out = tmp_path / "zero.md5"
    assert export(case, out, "md5sum", categories=[0]) == 1
    assert out.read_text("utf-8") == f"{md5(RECORDS[f'{FOLDER}/c.jpg'][0])}  c.jpg\n"


def test_vics_and_csv_default_to_every_categorised_file(case: Path, tmp_path: Path):
    for fmt in ("vics", "csv"):
        assert export(case, tmp_path / f"all.{fmt}", fmt) == 3  # a, b, c; d has no category


def test_no_names(case: Path, tmp_path: Path):
    for fmt in FORMATS:
        out = tmp_path / f"nameless.{fmt}"
        export(case, out, fmt, categories=[1], names=False)
        assert "a.jpg" not in out.read_text("utf-8")
        [entry] = READERS[fmt].read(out)
        # hashdeep drops an empty last field, so a nameless row is named by its MD5
        assert entry.name == (entry.md5 if fmt == "hashdeep" else None)
        assert json.loads(sidecar_path(out).read_text("utf-8"))["names"] == "none"


@pytest.mark.parametrize(
    ("fmt", "options", "reason"),
    [
        ("md5sum", {}, "choose the categories to export with --category"),
        ("hashdeep", {}, "choose the categories to export with --category"),
        ("md5sum", {"categories": [7]}, "category 7 is not in the projectvic scheme"),
        ("csv", {"version": "2.0"}, "--version is a VICS version"),
        (
            "xml",
            {},
            "unknown export format 'xml' (known: vics, md5sum, hashdeep, csv, geojson, kml)",
        ),
        ("vics", {"version": "1.2"}, "unknown VICS version"),
    ],
)
def test_refusals_write_nothing(case: Path, tmp_path: Path, fmt, options, reason):
    out = tmp_path / "refused.txt"
    with pytest.raises(ConfigError, match=re.escape(reason)):
        export(case, out, fmt, **options)
    assert list(tmp_path.iterdir()) == [case]


@pytest.mark.skipif(shutil.which("md5sum") is None, reason="GNU md5sum is not installed")
def test_gnu_md5sum_checks_the_list(case: Path, tmp_path: Path):
    folder = tmp_path / "partner"
    folder.mkdir()
    for path, (data, _) in RECORDS.items():
        (folder / Path(path).name).write_bytes(data)
    export(case, tmp_path / "known.md5", "md5sum", categories=[1, 2])
    done = subprocess.run(
        ["md5sum", "--check", "--strict", "../known.md5"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == ["a.jpg: OK", "b, c.jpg: OK"]


@pytest.mark.skipif(shutil.which("hashdeep") is None, reason="hashdeep is not installed")
def test_hashdeep_audits_against_the_list(case: Path, tmp_path: Path):
    """`hashdeep -a -k LIST -b FILES`: the audit of the known files passes on base names."""
    folder = tmp_path / "partner"
    folder.mkdir()
    for name in ("a.jpg", "b, c.jpg"):
        (folder / name).write_bytes(RECORDS[f"{FOLDER}/{name}"][0])
    export(case, tmp_path / "known.txt", "hashdeep", categories=[1, 2])
    done = subprocess.run(
        ["hashdeep", "-a", "-b", "-k", "../known.txt", "a.jpg", "b, c.jpg"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "Audit passed" in done.stdout, done.stdout + done.stderr
