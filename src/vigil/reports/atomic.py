"""Export files appear complete or not at all: written to a temporary file beside the target,
flushed to disk, then renamed into place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from vigil.errors import VigilError


@contextmanager
def atomic_output(out_path: Path, mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """An open temporary file that replaces `out_path` when the block ends without error; an
    OSError becomes VigilError naming `out_path`, and the temporary file never stays."""
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open(mode, **open_args) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out_path)
    except OSError as exc:
        raise VigilError(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
