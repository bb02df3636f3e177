import csv
import errno
import hashlib
import io
import json
import os
import platform
import sqlite3

import pytest
import typer.completion
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


def vigil_cli(*args: str):
    """As the console script runs: named `vigil` (completion scripts carry the name)."""
    result = runner.invoke(app, list(args), prog_name="vigil", catch_exceptions=False)
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
    # the fixture's pictures carry no EXIF and no set is loaded: JSON text, empty
    assert {(r["exif"], r["matches"]) for r in rows} == {("{}", "[]")}


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
    assert result.exit_code == 5
    assert "cannot be read" in result.stderr


def test_opening_a_folder_that_is_not_a_case(tmp_path):
    result = vigil("case", "info", tmp_path, ok=False)
    assert result.exit_code == 3
    assert "not a Vigil case" in result.stderr


def test_version_names_vigil_and_every_result_changing_library():
    from importlib.metadata import version

    import vigil

    out = vigil_cli("--version").stdout.splitlines()
    assert out[0] == f"vigil {vigil.__version__}"
    listed = dict(line.split() for line in out[1:])
    for package in ("pdqhash", "pillow", "pillow-heif", "numpy", "sqlalchemy", "psycopg"):
        assert listed[package] == version(package)
    assert listed["python"] == platform.python_version()
    assert listed["sqlite"] == sqlite3.sqlite_version
    for library in ("libjpeg-turbo", "libtiff", "libheif"):
        assert listed[library][0].isdigit(), (library, listed[library])


def runs(case) -> list[dict]:
    return json.loads(vigil("case", "info", case, "--json").stdout)["runs"]


@pytest.mark.parametrize("twice", [False, True], ids=["alone", "after-a-good-one"])
def test_a_missing_source_fails_before_any_work(tmp_path, db_url, twice):
    case, good = tmp_path / "case", tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text("benign\n")
    vigil("case", "create", case, *(["--db", db_url] if db_url else []))
    sources = [good, tmp_path / "gone"] if twice else [tmp_path / "gone"]
    result = vigil("ingest", case, *sources, "--workers", "1", ok=False)
    assert result.exit_code == 5
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: source") and "gone" in lines[0]
    assert "No such file or directory" in lines[0] and "then run again" in lines[0]
    assert runs(case) == []
    assert not list(vigil("files", case).stdout.splitlines())


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_an_unreadable_source_fails_before_any_work(tmp_path, monkeypatch, kind):
    """Permissions do not stop root (the tests may run as root), so the refusal the kernel
    would give is injected where the check opens the source."""
    case, source = tmp_path / "case", tmp_path / "locked"
    vigil("case", "create", case)
    if kind == "folder":
        source.mkdir()
        real, name = os.scandir, "scandir"
    else:
        source.write_text("benign\n")
        real, name = os.open, "open"

    def refuse(path, *args, **kwargs):
        if os.fsdecode(path) == str(source):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, name, refuse)
    result = vigil("ingest", case, source, ok=False)
    monkeypatch.undo()
    assert result.exit_code == 5
    assert result.output.count("\n") == 1 and "Permission denied" in result.output
    assert runs(case) == []


def test_shell_completion_script_and_completions(monkeypatch):
    # With shellingham installed Typer detects the shell from the process tree, which fails
    # under a detached runner (CI, nohup): say it is bash.
    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: "bash")
    script = vigil_cli("--show-completion").stdout
    assert "_VIGIL_COMPLETE=complete_bash" in script and "complete -o default" in script

    def complete(words: str) -> list[str]:
        env = {
            "_VIGIL_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        result = runner.invoke(app, [], prog_name="vigil", env=env)
        assert result.exit_code == 0, result.output
        return result.stdout.split()

    assert complete("vigil ha") == ["hashset", "hash"]
    assert complete("vigil hashset l") == ["list"]  # a lazily loaded group
    assert complete("vigil files case --format ") == ["jsonl", "csv"]
