"""The CLI starts light: importing it, and asking any command for help, loads none of the
heavy libraries (each in a fresh interpreter, since this test process has them all loaded).
Timings are benchmarks/startup.py's job; what is guarded here is the import graph."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from vigil.cli.app import VigilGroup, app
from vigil.cli.lazy import LazyCommand

HEAVY = ("sqlalchemy", "numpy", "PIL", "faiss", "pdqhash", "pillow_heif", "alembic", "psycopg")
WATCHED = (*HEAVY, "vigil.store", "vigil.pipeline")


def loaded_after(code: str, watched: tuple[str, ...] = WATCHED) -> list[str]:
    """The `watched` modules that `code` leaves imported in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(n for n in {watched!r} if n in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    )
    return json.loads(out.stdout.splitlines()[-1])


def help_of(args: list[str]) -> str:
    return (
        "from vigil.cli.app import app\n"
        f"try:\n    app({args!r}, prog_name='vigil')\nexcept SystemExit as exit:\n"
        "    assert exit.code in (0, 2), exit.code"
    )


def test_importing_the_cli_loads_no_heavy_library():
    assert loaded_after("import vigil.cli.app") == []


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["case", "--help"],
        ["case", "info", "--help"],
        ["ingest", "--help"],
        ["files", "--help"],
        ["hash", "--help"],
        ["match", "--help"],
        ["hashset", "import", "--help"],
        ["hashset", "list", "--help"],
    ],
    ids=lambda args: " ".join(args) or "no args",
)
def test_help_loads_no_heavy_library(args):
    assert loaded_after(help_of(args)) == []


def test_top_level_help_imports_no_command_module():
    modules = tuple(target.partition(":")[0] for target, _ in VigilGroup.lazy.values())
    assert loaded_after(help_of(["--help"]), modules) == []


@pytest.mark.parametrize("name", list(VigilGroup.lazy))
def test_the_help_listed_for_a_command_is_its_own(name):
    """The root help shows each command's line without importing it, from the table in
    cli/app.py: it must say what the command itself says (its docstring's first paragraph)."""
    group = typer.main.get_command(app)
    placeholder = group.commands[name]
    assert isinstance(placeholder, LazyCommand)
    real = placeholder.load()
    assert not isinstance(real, LazyCommand) and real.name == name
    first_paragraph = " ".join(real.help.split("\n\n")[0].split())
    assert placeholder.short_help == first_paragraph


def test_the_console_script_exits_with_the_commands_code(tmp_path):
    script = Path(sys.executable).with_name("vigil")
    if not script.exists():
        pytest.skip(f"no console script at {script} (Vigil not installed in this environment)")
    ok = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("vigil ")
    refused = subprocess.run(
        [script, "case", "info", tmp_path], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 3 and refused.stderr.startswith("error: not a Vigil case")
