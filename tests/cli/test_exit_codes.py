"""Every command ends with a code from the README's table, whatever goes wrong: a folder that
is not a case, a SOURCE that cannot be read, a bad setting, a list that does not parse, an
interrupt. Each failure is one line on the terminal, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.errors import EXIT_CODES

README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()

# The README's table, written out: the oracle the commands are held to.
OK, OTHER, BAD_SETTING, NOT_A_CASE, SOURCE_UNREADABLE, LIST_UNPARSED, INTERRUPTED = (
    0,
    1,
    2,
    3,
    5,
    6,
    130,
)


def run(*args, env: dict[str, str] | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def one_line_no_traceback(result) -> None:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in result.output


@pytest.fixture
def layout(tmp_path):
    """A case with one benign file ingested and matched against a one-line list; another,
    empty case; a folder that is not a case; evidence; a list; and names of things that do
    not exist."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "note.txt").write_text("benign text\n")
    good_list = tmp_path / "known.md5"
    good_list.write_text("d41d8cd98f00b204e9800998ecf8427e  empty.bin\n")
    case = tmp_path / "case"
    assert run("case", "create", case).exit_code == OK
    assert run("ingest", case, evidence, "--workers", "1").exit_code == OK
    assert run("hashset", "import", case, good_list, "--name", "known").exit_code == OK
    (tmp_path / "not-a-case").mkdir()
    other = tmp_path / "other-case"
    assert run("case", "create", other).exit_code == OK
    return {
        "case": case,
        "other": other,
        "not_a_case": tmp_path / "not-a-case",
        "evidence": evidence,
        "list": good_list,
        "gone": tmp_path / "gone",
        "out": tmp_path / "out.json",
    }


def args_of(template: tuple[str, ...], layout: dict) -> list:
    return [layout[a[1:-1]] if a.startswith("{") else a for a in template]


# Every command that opens a case, with the folder that is not a case in {case}.
CASE_COMMANDS = [
    ("case", "info", "{case}"),
    ("ingest", "{case}", "{evidence}"),
    ("files", "{case}"),
    ("match", "{case}"),
    ("hashset", "import", "{case}", "{list}"),
    ("hashset", "list", "{case}"),
    ("hashset", "remove", "{case}", "known"),
    ("export", "{case}", "--format", "vics", "-o", "{out}"),
    ("report", "{case}", "-o", "{out}"),
    ("link", "{case}", "{other}"),
    ("decide", "{case}", "--group", "f1", "--category", "0", "--by", "ana"),
    ("queue", "{case}"),
    ("devices", "{case}"),
    ("user", "list", "{case}"),
    ("audit", "verify", "{case}"),
    ("audit", "export", "{case}", "-o", "{out}"),
]
# Every command that reads settings.
SETTING_COMMANDS = [
    ("ingest", "{case}", "{evidence}"),
    ("match", "{case}"),
    ("hashset", "import", "{case}", "{list}"),
    ("hash", "{evidence}"),
    ("link", "{case}", "{other}"),
    ("queue", "{case}"),
    ("report", "{case}", "-o", "{out}"),
    ("serve", "{case}"),  # only here: on a good case it serves until stopped
]


def test_every_command_is_in_a_table_here():
    from vigil.cli.app import VigilGroup

    named = {t[0] for t in CASE_COMMANDS + SETTING_COMMANDS} | {"case"}
    assert named == set(VigilGroup.lazy)


@pytest.mark.parametrize("template", CASE_COMMANDS, ids=" ".join)
def test_a_folder_that_is_not_a_case(layout, template):
    result = run(*args_of(template, {**layout, "case": layout["not_a_case"]}))
    assert result.exit_code == NOT_A_CASE
    one_line_no_traceback(result)
    assert "not a Vigil case" in result.output


@pytest.mark.parametrize("template", CASE_COMMANDS, ids=" ".join)
def test_each_command_succeeds_on_a_good_case(layout, template):
    assert run(*args_of(template, layout)).exit_code == OK


@pytest.mark.parametrize("template", SETTING_COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    "env", [{"VIGIL_BATCH_SIZE": "0"}, {"VIGIL_THUMBNAIL_SIZE": "0"}, {"VIGIL_WORKERS": "many"}]
)
def test_a_bad_setting(layout, template, env):
    result = run(*args_of(template, layout), env=env)
    assert result.exit_code == BAD_SETTING
    one_line_no_traceback(result)
    (name,) = env
    assert name.removeprefix("VIGIL_").lower() in result.output and name in result.output


def test_a_bad_setting_in_vigil_toml(layout):
    (layout["case"] / "vigil.toml").write_text('[limits]\nthumbnail_size = "big"\n')
    result = run("ingest", layout["case"], layout["evidence"])
    assert result.exit_code == BAD_SETTING
    one_line_no_traceback(result)
    assert "thumbnail_size" in result.output and "vigil.toml" in result.output


@pytest.mark.parametrize(
    "template",
    [("ingest", "{case}", "{gone}"), ("hash", "{gone}"), ("hash", "{evidence}", "{gone}")],
    ids=" ".join,
)
def test_a_source_that_cannot_be_read(layout, template):
    result = run(*args_of(template, layout))
    assert result.exit_code == SOURCE_UNREADABLE
    assert "gone" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["ingest", "hash"])
def test_a_source_that_is_a_symlink_is_refused(layout, tmp_path, command):
    link = tmp_path / "link-to-evidence"
    link.symlink_to(layout["evidence"], target_is_directory=True)
    args = ("ingest", layout["case"], link) if command == "ingest" else ("hash", link)
    result = run(*args)
    assert result.exit_code == SOURCE_UNREADABLE
    one_line_no_traceback(result)
    assert "symbolic link" in result.output and str(layout["evidence"]) in result.output


def test_a_list_that_does_not_parse(layout, tmp_path):
    bad = tmp_path / "bad.md5"
    bad.write_text("d41d8cd98f00b204e9800998ecf8427e  a\nnot a hash line\n")
    result = run("hashset", "import", layout["case"], bad, "--format", "md5sum")
    assert result.exit_code == LIST_UNPARSED
    one_line_no_traceback(result)
    assert "line 2" in result.output


def test_an_output_that_cannot_be_written_is_the_other_error(layout):
    out = layout["not_a_case"] / "missing-folder" / "out.json"
    result = run("export", layout["case"], "--format", "vics", "-o", out)
    assert result.exit_code == OTHER
    one_line_no_traceback(result)
    assert "cannot write" in result.output


@pytest.mark.parametrize(
    ("template", "target"),
    [
        (("match", "{case}"), "vigil.pipeline.matcher.match_case"),
        (("files", "{case}"), "vigil.store.iter_files"),
        (("ingest", "{case}", "{evidence}"), "vigil.pipeline.ingest.ingest"),
        (("link", "{case}", "{other}"), "vigil.triage.links.CrossCase"),
        (("queue", "{case}"), "vigil.triage.queue.build_queue"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v),
)
def test_an_interrupt(layout, monkeypatch, template, target):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(target, interrupted)
    result = run(*args_of(template, layout))
    assert result.exit_code == INTERRUPTED
    assert "interrupted" in result.output and "Traceback" not in result.output


def test_the_readme_lists_exactly_these_codes():
    sentence = re.search(r"^Exit codes: (.*?)\.$", README.read_text("utf-8"), re.M | re.S)
    assert sentence, "README has no 'Exit codes:' sentence"
    listed = {int(code) for code in re.findall(r"(?:^|, )(\d+) ", sentence.group(1))}
    assert (
        listed
        == set(EXIT_CODES)
        == {
            OK,
            OTHER,
            BAD_SETTING,
            NOT_A_CASE,
            4,
            SOURCE_UNREADABLE,
            LIST_UNPARSED,
            INTERRUPTED,
        }
    )
