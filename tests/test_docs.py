"""The README is the manual: every setting, command and record field must be in it."""

import re
from pathlib import Path

import typer

from vigil.cli.app import app
from vigil.config import settings_table
from vigil.model import EXPORT_FIELDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


def test_every_setting_is_documented_with_its_default():
    for name, default, _help in settings_table():
        row = re.search(rf"^\| `{name}` \| ([^|]+) \|", README, re.M)
        assert row, f"setting {name} missing from the README"
        assert row.group(1).strip().replace(",", "") == str(default), name


def test_every_command_is_documented():
    command = typer.main.get_command(app)
    names = []
    for name, sub in command.commands.items():
        names += [f"vigil {name} {s}" for s in getattr(sub, "commands", {})] or [f"vigil {name}"]
    assert len(names) >= 5
    for name in names:
        assert f"`{name} " in README, f"{name} missing from the README"


def test_every_record_field_is_documented():
    for field in EXPORT_FIELDS:
        assert f"`{field}`" in README, field
