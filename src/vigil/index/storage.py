"""On-disk form of an index: one `.npy` file per array plus an `index.json` sidecar. No pickle.

Layout of a saved index folder::

    index.json      {"format": ..., "version": ..., "count": ..., "parameters": {...},
                     "arrays": {"<name>": {"file": "<name>.npy", "dtype": "<u4",
                                           "shape": [...], "bytes": ..., "sha256": "..."}}}
    <name>.npy      NumPy's documented .npy format (header + raw C-order data), written with
                    allow_pickle=False; `sha256` is of the whole file, so `sha256sum` checks it.

`index.json` is written last and atomically, so a folder without it is an unfinished save.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from vigil.errors import StoreError

SIDECAR = "index.json"
_CHUNK = 1 << 24


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _checksums(paths: list[Path]) -> list[str]:
    # hashlib releases the GIL on large buffers, so files hash in parallel (~0.5 GB/s each).
    with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1) or 1) as pool:
        return list(pool.map(_sha256, paths))


def save_arrays(
    directory: Path,
    *,
    fmt: str,
    version: int,
    count: int,
    parameters: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SIDECAR).unlink(missing_ok=True)  # the folder is unfinished until we are done
    # Write beside the old files and rename over them: a reader that has the old files
    # mapped keeps its inodes instead of seeing them truncated under it.
    paths = []
    for name, arr in arrays.items():
        path = directory / f"{name}.npy"
        with (directory / f"{name}.npy.tmp").open("wb") as fh:
            np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
        os.replace(directory / f"{name}.npy.tmp", path)
        paths.append(path)
    entries = {
        name: {
            "file": path.name,
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "bytes": path.stat().st_size,
            "sha256": digest,
        }
        for (name, arr), path, digest in zip(arrays.items(), paths, _checksums(paths), strict=True)
    }
    meta = {
        "format": fmt,
        "version": version,
        "count": count,
        "parameters": dict(parameters),
        "arrays": entries,
    }
    tmp = directory / (SIDECAR + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, directory / SIDECAR)


def load_arrays(
    directory: Path, *, fmt: str, version: int, mmap: bool = True, verify: bool = False
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read the sidecar and its arrays; returns (metadata, arrays).

    Always checks format, version, file sizes, dtypes and shapes. `verify` also recomputes
    every file's sha256 (about 2 s per GB on one core), which a plain load skips to stay fast.
    """
    directory = Path(directory)
    try:
        meta = json.loads((directory / SIDECAR).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StoreError(f"{directory}: no {SIDECAR}; not a saved index") from exc
    except (OSError, ValueError) as exc:
        raise StoreError(f"{directory / SIDECAR}: unreadable ({exc})") from exc
    if meta.get("format") != fmt:
        raise StoreError(f"{directory}: format {meta.get('format')!r}, expected {fmt!r}")
    if meta.get("version") != version:
        raise StoreError(f"{directory}: {fmt} version {meta.get('version')}, expected {version}")
    entries: dict[str, dict[str, Any]] = meta["arrays"]
    paths = {name: directory / entry["file"] for name, entry in entries.items()}
    for name, path in paths.items():
        if not path.is_file() or path.stat().st_size != entries[name]["bytes"]:
            raise StoreError(f"{path}: missing or not the size recorded in {SIDECAR}")
    if verify:
        for (name, path), digest in zip(
            paths.items(), _checksums(list(paths.values())), strict=True
        ):
            if digest != entries[name]["sha256"]:
                raise StoreError(f"{path}: sha256 does not match {SIDECAR}")
    arrays = {}
    for name, path in paths.items():
        try:
            arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: not a readable .npy file ({exc})") from exc
        if arr.dtype.str != entries[name]["dtype"] or list(arr.shape) != entries[name]["shape"]:
            raise StoreError(f"{path}: dtype/shape differ from {SIDECAR}")
        arrays[name] = arr
    return meta, arrays
