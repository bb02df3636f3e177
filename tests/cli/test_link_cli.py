"""`vigil link`: the jsonl fields, the table and its summary, --limit, -o, and the refusals."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import vigil
from tests.triage.test_links import CASE_A, CASE_B, make_case

EXACT_FIELDS = ["kind", "sha256", "distance", "transform", "cases"]
NEAR_FIELDS = ["kind", "distance", "transform", "relative_to", "cases"]
SIDE_FIELDS = ["sha256", "files", "ids", "paths", "devices", "series"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("link-cli")
    return make_case(tmp, "A", CASE_A), make_case(tmp, "B", CASE_B)


def test_jsonl_has_exactly_the_documented_fields(cases):
    lines = vigil("link", *cases, "--format", "jsonl").stdout.splitlines()
    links = [json.loads(line) for line in lines]
    assert [link["kind"] for link in links] == ["exact"] * 2 + ["near"] * 5
    for link in links:
        assert list(link) == (EXACT_FIELDS if link["kind"] == "exact" else NEAR_FIELDS)
        assert list(link["cases"]) == ["A", "B"]
        for side in link["cases"].values():
            assert list(side) == SIDE_FIELDS and side["files"] == len(side["paths"])
    picture = next(link for link in links if link["cases"]["A"]["files"] == 2)
    assert picture["cases"]["A"]["paths"] == ["DCIM/shared.jpg", "copies/shared-again.jpg"]
    assert picture["cases"]["B"]["devices"] == [
        {"make": "Vigil Test Cameras", "model": "TC-3", "serial": "SN000020"}
    ]
    assert all(link["relative_to"] in ("A", "B") for link in links if link["kind"] == "near")


def test_the_table_ends_with_the_summary(cases):
    out = vigil("link", *cases).stdout
    assert "DCIM/p13.jpg" in out and "recv/rotated.jpg" in out and "relative to" in out
    summary = out[out.index("shared between each pair of cases") :]
    row = next(line for line in summary.splitlines() if "A / B" in line)
    assert row.split("│")[2:4] == ["     2 ", "    5 "]
    assert "#SN000007 (1 / 1)" in summary and "#SN000020 (2 / 1)" in summary
    assert "SN000008" not in out  # a body only B has


def test_limit_and_output_file(cases, tmp_path):
    out = tmp_path / "links.jsonl"
    result = vigil("link", *cases, "--format", "jsonl", "--limit", "3", "-o", out)
    assert result.stdout == ""
    assert [json.loads(line)["kind"] for line in out.read_text().splitlines()] == ["exact"] * 2 + [
        "near"
    ]
    assert "2 contents shared exactly, 5 near-duplicate" in result.stderr


def test_paths_are_printed_as_they_are(tmp_path):
    odd = {"[bold]x[/bold] [red].txt": b"benign shared words\n"}
    a, b = make_case(tmp_path, "A", odd), make_case(tmp_path, "B", odd)
    assert "[bold]x[/bold] [red].txt" in vigil("link", a, b).stdout


@pytest.mark.parametrize(
    ("given", "code", "message"),
    [
        (lambda a, b: [a], 2, "two or more case folders"),
        (lambda a, b: [a, a.parent / "x" / ".." / a.name], 2, "the same case twice"),
        (lambda a, b: [a, b.parent / "gone"], 3, "not a Vigil case"),
    ],
    ids=["one case", "the same case twice", "a folder that does not exist"],
)
def test_refusals(cases, given, code, message):
    result = vigil("link", *given(*cases), ok=False)
    assert result.exit_code == code and message in result.output
    assert "Traceback" not in result.output
