"""The cases one review server holds open: each with its store and its own settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vigil.config import Settings, load_settings
from vigil.errors import ConfigError
from vigil.store import CaseStore

_KEY = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ServedCase:
    key: str  # how URLs name the case: its folder's name, made URL-safe
    name: str  # the case's own name (case_meta)
    store: CaseStore
    settings: Settings


def open_cases(case_dirs: list[Path]) -> dict[str, ServedCase]:
    """Open every case folder; two with the same folder name are refused, since URLs and
    sessions name cases by it."""
    if not case_dirs:
        raise ConfigError("give at least one case folder to serve")
    served: dict[str, ServedCase] = {}
    try:
        for case_dir in case_dirs:
            key = _KEY.sub("-", case_dir.resolve().name) or "case"
            if key in served:
                raise ConfigError(
                    f"two cases named {key!r}: serve cases whose folders have distinct names"
                )
            store = CaseStore.open(case_dir)
            served[key] = ServedCase(
                key, store.meta().get("name", key), store, load_settings(case_dir)
            )
    except Exception:
        for case in served.values():
            case.store.close()
        raise
    return served
