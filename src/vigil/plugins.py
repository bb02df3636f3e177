"""A tiny explicit registry. Built-ins register in one place (each package's `__init__`),
the same way a third party would; nothing registers as an import side effect of its own module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from vigil.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → plugin. Names are persisted (in records, matches, hash-set rows), so they are
    explicit strings chosen by the plugin, never derived from a class name."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self._what} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self._what} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __contains__(self, name: object) -> bool:
        return name in self._items
