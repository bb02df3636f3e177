"""`vigil user add|list|disable|grant|password`: the accounts of a case's review app. Each
change is an audit entry by `cli:<login>`; password hashes are never printed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vigil.cli.errors import reports_errors

app = typer.Typer(
    help="Add, list, disable and grant the users of a case's review app; set their budgets.",
    no_args_is_help=True,
)

ROLE_HELP = (
    "admin (everything), investigator (view media, decide, manage hash sets), reviewer "
    "(view media, decide) or auditor (read the audit only)."
)
STDIN_HELP = "Read the password from the first line of standard input instead of a prompt."

CaseArg = Annotated[Path, typer.Argument(help="Case folder.")]
NameArg = Annotated[str, typer.Argument(help="User name.")]
StdinOpt = Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)]


def read_password(from_stdin: bool) -> str:
    """From stdin (one line, its line ending dropped), or typed twice without echo."""
    if from_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("add")
@reports_errors
def add_command(
    case: CaseArg,
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    password_stdin: StdinOpt = False,
) -> None:
    """Add a user to the case with a role; the password (12 characters or more) is asked for
    twice, or read from standard input."""
    from vigil.store import CaseStore
    from vigil.store.audit import cli_actor
    from vigil.store.users import add_user, check_name, check_role

    check_name(name)
    check_role(role)
    with CaseStore.open(case) as store:
        user = add_user(store, name, read_password(password_stdin), role, actor=cli_actor())
    typer.echo(f"added {user.name} ({user.role})")


@app.command("list")
@reports_errors
def list_command(
    case: CaseArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the users as JSON.")] = False,
) -> None:
    """The case's users: role, enabled or disabled, failed logins, lock."""
    from vigil.store import CaseStore
    from vigil.store.users import list_users

    with CaseStore.open(case) as store:
        found = list_users(store)
    if as_json:
        rows = [dataclasses.asdict(user) for user in found]
        typer.echo(json.dumps({"users": rows}, indent=2, ensure_ascii=False))
        return
    if not found:
        typer.echo("no users")
        return
    table = Table(title_justify="left")
    for column in ("name", "role", "access", "failed logins", "locked until", "created"):
        table.add_column(column, justify="right" if column == "failed logins" else "left")
    for user in found:
        table.add_row(
            user.name,
            user.role,
            "disabled" if user.disabled else "granted",
            str(user.failed_logins),
            (user.locked_until or "-")[:19].replace("T", " "),
            user.created_at[:19].replace("T", " "),
        )
    Console(width=200).print(table)


@app.command("disable")
@reports_errors
def disable_command(case: CaseArg, name: NameArg) -> None:
    """Revoke a user's access to the case; the account stays for the audit and `grant`."""
    from vigil.store import CaseStore
    from vigil.store.audit import cli_actor
    from vigil.store.users import disable_user

    with CaseStore.open(case) as store:
        disable_user(store, name, actor=cli_actor())
    typer.echo(f"disabled {name}")


@app.command("grant")
@reports_errors
def grant_command(
    case: CaseArg,
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
) -> None:
    """Give an existing user access to the case again, with this role."""
    from vigil.store import CaseStore
    from vigil.store.audit import cli_actor
    from vigil.store.users import grant

    with CaseStore.open(case) as store:
        user = grant(store, name, role, actor=cli_actor())
    typer.echo(f"{user.name} may use the case as {user.role}")


@app.command("password")
@reports_errors
def password_command(case: CaseArg, name: NameArg, password_stdin: StdinOpt = False) -> None:
    """Set a user's password (this also lifts a login lock)."""
    from vigil.store import CaseStore
    from vigil.store.audit import cli_actor
    from vigil.store.users import set_password

    with CaseStore.open(case) as store:
        set_password(store, name, read_password(password_stdin), actor=cli_actor())
    typer.echo(f"password changed for {name}")


@app.command("budget")
@reports_errors
def budget_command(
    case: CaseArg,
    name: NameArg,
    reveals: Annotated[
        int,
        typer.Option(
            "--reveals",
            min=0,
            help="Reveals a day before the review app warns; 0 returns to the case's "
            "daily_reveal_budget setting.",
        ),
    ],
) -> None:
    """Set a user's daily reveal budget in the review app."""
    from vigil.store import CaseStore
    from vigil.store.audit import cli_actor
    from vigil.store.exposure import set_budget

    with CaseStore.open(case) as store:
        set_budget(store, name, reveals or None, actor=cli_actor())
    typer.echo(f"{name}: {reveals or 'the case setting'} reveals a day")
