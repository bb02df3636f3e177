"""7z members py7zr cannot decode (BCJ2, ARM64, RISC-V … filters), read by 7-Zip itself.

Debian's `7zip` package installs `7zz`; p7zip's `7z` is accepted too. Each member is one
`7zz e -so` subprocess whose stdout is streamed in chunks: nothing is extracted to disk,
stdin is closed and an empty password is given so it never prompts, `-spd` stops names being
taken as wildcards, and a timer kills it after `TIMEOUT` seconds. 7-Zip needs a file, so an
archive that is not a plain file of its own (a member of another archive, in memory or a
stream) is copied once to a private temporary file (mode 0600, in the system temp dir,
never beside the evidence), at most `Budget.max_total_bytes`, and deleted when the archive's
members are done.

When py7zr cannot parse an archive's header at all (7-Zip writes header blocks py7zr does
not know, such as kArchiveProperties), `SevenZip.listing` lists the members with
`7zz l -slt -ba` instead, streamed line by line, and each is then read as above.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, BinaryIO

from vigil.errors import ArchiveError
from vigil.evidence.archive import BOMB, CHUNK, CORRUPT_ARCHIVE, CORRUPT_MEMBER, TRUNCATED, Budget

BINARIES = ("7zz", "7z")
TIMEOUT = 600.0
"""Seconds one member's decoding may take, end to end."""


def find_binary() -> str | None:
    return next((path for exe in BINARIES if (path := shutil.which(exe))), None)


class SevenZip:
    """7-Zip over one archive: the file it reads, and the one member process running."""

    def __init__(self, exe: str, stream: BinaryIO, start: int, budget: Budget) -> None:
        self.exe = exe
        self._stream = stream
        self._start = start
        self._budget = budget
        self._path: str | None = None
        self._spooled = False
        self._current: _Process | None = None

    def reader(self, name: str) -> _Process:
        """A lazily started process reading member `name`; the previous one is stopped."""
        self.stop()
        self._current = _Process(self, name)
        return self._current

    def path(self) -> str:
        if self._path is None:
            own = getattr(self._stream, "name", None)
            if self._start == 0 and isinstance(own, str) and os.path.isfile(own):
                self._path = own  # 7-Zip only reads it
            else:
                self._path = self._spool()
        return self._path

    def _spool(self) -> str:
        fd, path = tempfile.mkstemp(prefix="vigil-7z-")  # mode 0600
        self._spooled = True
        self._path = path
        limit = self._budget.max_total_bytes
        with os.fdopen(fd, "wb") as out:
            self._stream.seek(self._start)
            copied = 0
            while chunk := self._stream.read(CHUNK):
                copied += len(chunk)
                if copied > limit:
                    raise ArchiveError(BOMB, f"archive over {limit} bytes to hand to 7-Zip")
                out.write(chunk)
        return path

    def listing(self) -> Iterator[dict[str, str]]:
        """Each member's `Key = Value` block of `7zz l -slt -ba`, in header order. Names
        come as UTF-8 (`-sccUTF-8`) and times in UTC (`TZ`); a failed listing raises
        CORRUPT_ARCHIVE with 7-Zip's message once the blocks it did print are given out."""
        argv = [self.exe, "l", "-slt", "-ba", "-sccUTF-8", "-spd", "-p", "-bd", "--"]
        with tempfile.TemporaryFile() as stderr:
            proc = subprocess.Popen(
                [*argv, self.path()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, "TZ": "UTC0"},
            )
            timer = threading.Timer(TIMEOUT, proc.kill)
            timer.daemon = True
            timer.start()
            try:
                assert proc.stdout is not None
                yield from _blocks(proc.stdout)
            finally:
                timer.cancel()
                if proc.poll() is None:
                    proc.kill()
                rc = proc.wait()
                proc.stdout.close()
            if rc != 0:
                stderr.seek(0)
                message = " ".join(stderr.read(4096).decode("utf-8", "replace").split())
                raise ArchiveError(CORRUPT_ARCHIVE, f"7-Zip exit {rc}: {message[:300]}")

    def stop(self) -> None:
        if self._current is not None:
            self._current.stop()
            self._current = None

    def close(self) -> None:
        """Stop the running process and delete the spooled copy, if any."""
        self.stop()
        if self._spooled and self._path is not None:
            os.unlink(self._path)
            self._path = None


class _Process:
    def __init__(self, owner: SevenZip, name: str) -> None:
        self._owner = owner
        self._name = name
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._timer: threading.Timer | None = None
        self._done = False

    def _start(self) -> subprocess.Popen[bytes]:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        argv = [self._owner.exe, "e", "-so", "-spd", "-p", "-bd", "-y", "--"]
        self._proc = subprocess.Popen(
            [*argv, self._owner.path(), self._name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._timer = threading.Timer(TIMEOUT, self._proc.kill)
        self._timer.daemon = True
        self._timer.start()
        return self._proc

    def read(self, n: int) -> bytes:
        if self._done:
            return b""
        proc = self._proc or self._start()
        assert proc.stdout is not None
        data = proc.stdout.read(min(n, CHUNK))
        if data:
            return data
        self._done = True
        rc = proc.wait()
        timed_out = self._timer is not None and not self._timer.is_alive() and rc < 0
        message = self._message()
        self.stop()
        if timed_out:
            raise ArchiveError(TRUNCATED, f"7-Zip gave up after {TIMEOUT:.0f} s")
        if rc != 0:
            raise ArchiveError(CORRUPT_MEMBER, f"7-Zip exit {rc}: {message}")
        return b""

    def _message(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        lines = self._stderr.read(4096).decode("utf-8", "replace").split("\n")
        return " ".join(line.strip() for line in lines if line.strip())[:300]

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _blocks(lines: IO[bytes]) -> Iterator[dict[str, str]]:
    """`Key = Value` lines grouped into one dict per member (blocks end at a blank line)."""
    block: dict[str, str] = {}
    for raw in lines:
        line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
        key, sep, value = line.partition(" = ")
        if sep:
            block[key] = value
        elif not line and block:
            yield block
            block = {}
    if block:
        yield block
