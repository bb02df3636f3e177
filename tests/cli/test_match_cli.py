"""`vigil match CASE [--pdq-threshold N]` in-process, on a case with files and two sets."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.pipeline.test_matcher import add_files, add_set, near, random_hex
from tests.store.conftest import _record
from vigil.cli.app import app
from vigil.store import CaseStore, iter_files

runner = CliRunner()


def test_match_prints_a_summary_and_honours_the_threshold(tmp_path):
    case = tmp_path / "case"
    known = random_hex(1)[0]
    with CaseStore.create(case, name="cli") as store:
        recs = [_record("a.jpg"), _record("b.jpg", pdq=near(known, 25)), _record("c.jpg")]
        add_files(store, recs)
        add_set(store, "vics", [{"md5": recs[0].md5}, {"pdq": known}], category=1)
        add_set(store, "nsrl", [{"sha1": recs[2].sha1}], kind="ignorable", category=None)

    result = runner.invoke(app, ["match", str(case)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "3 files matched" in out and (
        "at PDQ threshold 31 3 matches added, 0 updated, 0 removed" in out
    )
    for text in ("vics v1", "nsrl v1", "md5", "pdq", "sha1", "Child Abuse Material"):
        assert text in out
    assert "Non-Pertinent" in out

    result = runner.invoke(app, ["match", str(case), "--pdq-threshold", "20"])
    assert result.exit_code == 0, result.output
    # the near copy is now past the threshold but within weak_pdq_distance: a weak match
    assert "0 matches added, 1 updated, 0 removed" in " ".join(result.output.split())
    with CaseStore.open(case) as store:
        assert [r["category"] for r in iter_files(store)] == [1, None, 0]

    result = runner.invoke(app, ["match", str(case), "--pdq-threshold", "300"])
    assert result.exit_code == 2 and "threshold" in result.output


def test_match_on_a_missing_case_is_a_clean_error(tmp_path):
    result = runner.invoke(app, ["match", str(tmp_path / "nope")])
    assert result.exit_code == 3 and "not a Vigil case" in result.output
