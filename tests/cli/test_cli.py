import csv
import hashlib
import io
import json

import pytest
from typer.testing import CliRunner

from tests.helpers import gradient_image, image_bytes
from tests.pipeline.test_ingest import make_collection
from vigil.cli.app import app
from vigil.model import EXPORT_FIELDS

runner = CliRunner()


def vigil(*args: str, ok: bool = True):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    src = make_collection(tmp / "evidence")
    case = tmp / "case"
    vigil("case", "create", case, "--name", "Operation Test")
    vigil("ingest", case, src, "--workers", "2")
    return case, src


def test_files_jsonl_has_exactly_the_documented_fields(ingested):
    case, src = ingested
    lines = vigil("files", case, "--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 15
    for rec in records:
        assert tuple(rec) == EXPORT_FIELDS
        assert rec["matches"] == [] and rec["category"] is None
        assert rec["source"] == str(src)
    image = next(r for r in records if r["path"] == "DCIM/IMG_0001.JPG")
    data = (src / "DCIM" / "IMG_0001.JPG").read_bytes()
    assert image["md5"] == hashlib.md5(data).hexdigest()
    assert image["kind"] == "image" and image["status"] == "ok" and image["error"] is None
    assert len(image["pdq"]) == 64 and image["width"] == 320


def test_files_csv(ingested):
    case, _ = ingested
    out = vigil("files", case, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 15 and tuple(rows[0]) == EXPORT_FIELDS
    assert json.loads(rows[0]["exif"]) is not None


def test_case_info_counts(ingested):
    case, _ = ingested
    summary = json.loads(vigil("case", "info", case, "--json").stdout)
    assert summary["files"] == 15
    assert summary["by_kind"]["image"] >= 9
    assert summary["by_status"]["skipped"] == 3
    assert "empty file" in summary["errors_by_reason"]
    text = vigil("case", "info", case).stdout
    assert "Operation Test" in text and "by kind" in text


def test_hash_command_text_and_jsonl(tmp_path):
    data = image_bytes(gradient_image(3), "PNG")
    f = tmp_path / "x.png"
    f.write_bytes(data)
    text = vigil("hash", f).stdout.split()
    assert text[:3] == [
        hashlib.md5(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    ]
    assert len(text[3]) == 64 and text[5] == "x.png"
    (rec,) = [
        json.loads(line) for line in vigil("hash", f, "--format", "jsonl").stdout.splitlines()
    ]
    assert tuple(rec) == EXPORT_FIELDS and rec["pdq"] == text[3]


def test_hash_of_a_missing_file_fails_clearly(tmp_path):
    result = vigil("hash", tmp_path / "nope.jpg", ok=False)
    assert result.exit_code == 1
    assert "cannot be read" in result.stderr


def test_opening_a_folder_that_is_not_a_case(tmp_path):
    result = vigil("case", "info", tmp_path, ok=False)
    assert result.exit_code == 3
    assert "not a Vigil case" in result.stderr
