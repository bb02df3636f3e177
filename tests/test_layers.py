"""Layers import only from their own layer or layers before them (see ARCHITECTURE.md)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "vigil"
ORDER = [
    {"errors", "model", "config", "plugins", "categories"},
    {"evidence", "media", "hashing", "hashsets", "index", "synthetic"},
    {"store"},
    {"pipeline", "triage"},
    {"reports"},
    {"web", "cli"},
]
RANK = {name: i for i, layer in enumerate(ORDER) for name in layer}


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vigil."):
            yield node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vigil."):
                    yield alias.name.split(".")[1]


def test_layers_import_only_earlier_layers():
    bad = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        own = rel.parts[0].removesuffix(".py")
        if own not in RANK:
            continue
        for imported in _imports(path):
            if imported in RANK and imported != own and RANK[imported] > RANK[own]:
                bad.append(f"{rel} imports vigil.{imported}")
    assert not bad, bad
