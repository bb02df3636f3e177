"""Commands registered by name and imported when they run, so `vigil --help` and each command
pay only for the modules that command uses (the store, the matcher and the decoders take
several times longer to import than Python takes to start)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar, cast

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from vigil.cli.errors import reports_errors


class LazyCommand:
    """Stands in for a command in the root group. Its name and one-line help are all that
    `vigil --help` and the completion of command names read; anything else asked of it (its
    options, its help page, its sub-commands) loads the real command.

    `target` is "module:attribute", naming a Typer app (a command group) or a command
    function (wrapped in `reports_errors` here, like every leaf command)."""

    hidden = False
    deprecated = False
    rich_help_panel = None

    def __init__(self, name: str, target: str, short_help: str) -> None:
        self.name = name
        self.target = target
        self.short_help = self.help = short_help
        self._command: TyperCommand | TyperGroup | None = None

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help

    def load(self) -> TyperCommand | TyperGroup:
        """The real command, registered as `app.add_typer`/`app.command` would have."""
        if self._command is None:
            module, _, attribute = self.target.partition(":")
            obj = getattr(importlib.import_module(module), attribute)
            holder = typer.Typer()
            if isinstance(obj, typer.Typer):
                holder.add_typer(obj, name=self.name)
            else:
                holder.command(self.name)(reports_errors(obj))
            command = typer.main.get_group(holder).commands[self.name]
            self._command = cast(TyperCommand | TyperGroup, command)
        return self._command

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.load(), attribute)


class LazyGroup(TyperGroup):
    """A root group whose `lazy` table maps each command name to (target, one-line help); a
    command is imported only when it is resolved to run or to complete its arguments."""

    lazy: ClassVar[Mapping[str, tuple[str, str]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (target, short_help) in self.lazy.items():
            self.commands[name] = LazyCommand(name, target, short_help)  # type: ignore[assignment]

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple[Any, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, LazyCommand):
            command = command.load()
        return name, command, rest
