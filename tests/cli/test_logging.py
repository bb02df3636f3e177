"""Logs: each `vigil ingest` run writes CASE/logs/ingest-<run id>.log; -q leaves the terminal to
errors; --log-file copies any command's log; the terminal is never left with Vigil's handlers."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.cli.test_cli import vigil

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARNING|ERROR|DEBUG) vigil[.\w]*: ")


@pytest.fixture
def case_and_source(tmp_path):
    case, source = tmp_path / "case", tmp_path / "evidence"
    source.mkdir()
    (source / "note.txt").write_text("benign text\n")
    (source / "empty.bin").write_bytes(b"")
    vigil("case", "create", case)
    return case, source


def last_run_id(case) -> int:
    return json.loads(vigil("case", "info", case, "--json").stdout)["runs"][0]["id"]


def test_each_run_logs_to_its_own_file_in_the_case(case_and_source):
    case, source = case_and_source
    first = vigil("ingest", case, source, "--workers", "1")
    run = last_run_id(case)
    log = case / "logs" / f"ingest-{run}.log"
    text = log.read_text("utf-8")
    assert all(LINE.match(line) for line in text.splitlines()), text
    assert f"run {run} started: {source}" in text
    assert f"run {run} completed: 2 entries seen, 0 already done, 2 records written" in text
    assert "ingest: 2/2 files" in text or "ingest: 2 files" in text
    # the terminal showed the same story, and where the log is
    assert f"run {run} logs to {log}" in first.stderr
    assert f"run {run} completed" in first.stderr

    vigil("ingest", case, source, "--workers", "1")
    again = case / "logs" / f"ingest-{last_run_id(case)}.log"
    assert again != log and "2 already done" in again.read_text("utf-8")
    assert f"run {run} " in log.read_text("utf-8") and f"run {run + 1}" not in log.read_text()


def test_quiet_leaves_the_terminal_to_errors(case_and_source, tmp_path):
    case, source = case_and_source
    result = vigil("-q", "ingest", case, source, "--workers", "1")
    assert result.output == ""
    # the log file still has it all
    assert "completed" in (case / "logs" / f"ingest-{last_run_id(case)}.log").read_text()
    failed = vigil("-q", "ingest", case, tmp_path / "gone", ok=False)
    assert failed.exit_code == 5 and failed.output.startswith("error: source")


def test_verbose_and_quiet_together_are_refused(case_and_source):
    case, source = case_and_source
    result = vigil("-v", "-q", "ingest", case, source, ok=False)
    assert result.exit_code == 2 and "-v and -q cannot be used together" in result.output


def test_log_file_keeps_any_commands_errors(tmp_path):
    log = tmp_path / "logs" / "vigil.log"
    result = vigil("--log-file", log, "case", "info", tmp_path / "nowhere", ok=False)
    assert result.exit_code == 3
    (line,) = log.read_text("utf-8").splitlines()
    assert LINE.match(line) and " ERROR vigil.cli: not a Vigil case" in line
    vigil("--log-file", log, "case", "info", tmp_path / "nowhere", ok=False)
    assert len(log.read_text("utf-8").splitlines()) == 2, "appended, not replaced"


def test_no_handler_outlives_its_command(case_and_source):
    case, source = case_and_source
    vigil("--log-file", case / "extra.log", "ingest", case, source, "--workers", "1")
    logger = logging.getLogger("vigil")
    assert logger.handlers == [] and logger.propagate


def test_a_run_whose_log_cannot_be_written_fails_and_says_so(case_and_source):
    case, source = case_and_source
    (case / "logs").write_text("a file where the logs folder goes\n")
    result = vigil("ingest", case, source, ok=False)
    assert result.exit_code == 3 and "cannot write the run's log" in result.output
    (run,) = json.loads(vigil("case", "info", case, "--json").stdout)["runs"]
    assert run["status"] == "failed"
