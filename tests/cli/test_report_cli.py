"""`vigil report CASE --format html|json -o PATH [--previews none|blurred]` and `vigil export
--format geojson|kml` through Typer's CliRunner, on the generated collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vigil.reports.case_data as case_data
import vigil.reports.triage_facts as triage_facts
from tests.reports.test_case_report import build_case, vigil
from vigil.store import CaseStore, iter_files


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_case(tmp_path_factory.mktemp("report-cli"))


def test_html_report(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = vigil("report", case, "-o", out)
    assert f"wrote the html report of 11 records to {out}" in result.output
    html = out.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Operation Test" in html
    assert "<img" not in html and "data:image" not in html and "://" not in html
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file is gone"


def test_json_report(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    vigil("report", case, "--format", "json", "-o", out)
    data = json.loads(out.read_text("utf-8"))
    assert data["report_format"] == 1 and data["totals"]["files"] == 11
    assert data["places"]["total"] == 5 and data["triage_run"] is True
    queued = {f["path"] for item in data["queue"]["items"] for f in item["files"]}
    with CaseStore.open(case) as store:
        review = {
            r["path"] for r in iter_files(store) if r["state"] == "review" and r["kind"] == "image"
        }
    assert review and review <= queued  # the report's queue is triage's, not an empty stub


def test_blurred_previews_of_the_queue(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with CaseStore.open(case) as store:
        named = [
            {"path": r["path"], "sha256": r["sha256"]}
            for r in iter_files(store)
            if r["path"].startswith("DCIM/")
        ]
    facts = case_data.TriageFacts(
        queue=[{"group": "S1", "kind": "series", "score": 1, "reasons": [], "files": named}]
    )
    monkeypatch.setattr(triage_facts, "triage_facts", lambda store, settings, weights: facts)
    out = tmp_path / "report.html"
    vigil("report", case, "-o", out, "--previews", "blurred")
    html = out.read_text("utf-8")
    assert html.count("<img") == html.count("data:image/jpeg;base64,") == len(named) == 4
    vigil("report", case, "-o", out)
    assert "<img" not in out.read_text("utf-8"), "no previews unless asked for"


def test_bad_arguments(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    refused = vigil("report", case, "--format", "json", "--previews", "blurred", "-o", out, code=2)
    assert "--previews blurred is for the html report" in refused.output
    assert not out.exists()
    assert "'pdf'" in vigil("report", case, "--format", "pdf", "-o", out, code=2).output


def test_an_output_that_cannot_be_written(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "report.html"
    assert "cannot write" in vigil("report", case, "-o", out, code=1).output


@pytest.mark.parametrize("fmt", ["geojson", "kml"])
def test_export_places(case: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"places.{fmt}"
    result = vigil("export", case, "--format", fmt, "-o", out)
    assert f"wrote 5 places to {out}" in result.output
    sidecar = json.loads(Path(f"{out}.provenance.json").read_text("utf-8"))
    assert sidecar["format"] == fmt and sidecar["records"] == 5
