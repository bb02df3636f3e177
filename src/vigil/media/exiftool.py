"""ExifTool as a library: one `exiftool -stay_open` process per Python process, fed a block of
bytes at a time, for the maker notes only ExifTool decodes (`vigil.media.serials`).

Starting Perl and ExifTool costs about 0.2 s, so the process is started on first use and kept:
each request then costs milliseconds. The block is handed over as a file in a private
directory (mode 0700, under /dev/shm where it exists, so nothing reaches the disk) and removed
once read. ExifTool runs without a config file (`-config ""`), so what it reports does not
depend on the examiner's ~/.ExifTool_config. A request that takes longer than the timeout, a
process that dies or answers garbage is killed; the next request starts a fresh one.
Failures never raise: they are logged on `vigil.media.exiftool` (collected per file by
`vigil.media.chatter`) and the caller gets None.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO

log = logging.getLogger(__name__)

TIMEOUT = 10.0
"""Seconds one request may take. A tiny block takes milliseconds; a hang means a bug."""
MAX_OUTPUT = 1 << 20  # a few tags of JSON; more means the output is not what was asked for
_SCRATCH = "/dev/shm"
_READY = re.compile(rb"\{ready(\d+)\}\r?\n")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: a hook run in the child before exec that makes the kernel kill ExifTool when
    the thread that started it dies. ExifTool never exits on its own at the end of its input
    (it polls the pipe every 10 ms, for argument files that grow), so a worker killed by a
    decoder crash or `kill -9` would otherwise leave it running forever."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))


class ExifTool:
    """A lazily started `exiftool -stay_open True -@ -` batch process, restarted in a child
    after a fork (the parent's process answers the parent only) and closed at exit.

    One request at a time: requests from several threads are serialised.
    """

    def __init__(self, executable: str = "exiftool", timeout: float = TIMEOUT) -> None:
        self.executable = executable
        self.timeout = timeout
        self._owner = os.getpid()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None
        self._count = 0
        atexit.register(self.close)

    def read(self, data: bytes, tags: Sequence[str], suffix: str) -> dict[str, str] | None:
        """The `tags` ExifTool finds in `data` (read as a file named `*suffix`, which picks
        the format), keyed "Group:Tag" with the family-1 group, values as ExifTool prints
        them; None, with a warning logged, when ExifTool is missing or fails."""
        if self._owner != os.getpid():
            self._forget()
        with self._lock:
            try:
                proc = self._running()
            except OSError as exc:
                log.warning("exiftool could not start (%s): maker-note serial not read", exc)
                return None
            try:
                return self._ask(proc, data, tags, suffix)
            except (OSError, EOFError, TimeoutError, ValueError) as exc:
                self._stop(kill=True)
                log.warning("exiftool failed (%s): maker-note serial not read", exc)
                return None

    def close(self) -> None:
        """Ask the process to exit (killing it if it does not) and remove the directory.
        Only in the process that started it: a forked child must not end its parent's."""
        if self._owner == os.getpid():
            with self._lock:
                self._stop(kill=False)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop(kill=True)  # died while idle: start again without a note
        self._proc = subprocess.Popen(
            [self.executable, "-config", "", "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # fd 2 points at the per-file chatter capture while a file is read
            # (`vigil.media.chatter`); a process outliving that file must not write there.
            stderr=subprocess.DEVNULL,
            close_fds=True,
            # Unsafe with threads only for hooks that take locks; this one is one syscall.
            preexec_fn=_die_with_parent(),
        )
        scratch = _SCRATCH if os.path.isdir(_SCRATCH) else None
        try:
            self._dir = tempfile.mkdtemp(prefix="vigil-exiftool-", dir=scratch)  # mode 0700
        except OSError:
            self._stop(kill=True)
            raise
        return self._proc

    def _ask(
        self, proc: subprocess.Popen[bytes], data: bytes, tags: Sequence[str], suffix: str
    ) -> dict[str, str]:
        assert proc.stdin is not None and proc.stdout is not None and self._dir is not None
        self._count += 1
        path = os.path.join(self._dir, f"block{suffix}")
        with open(path, "wb") as out:
            out.write(data)
        try:
            args = ["-j", "-G1", "-q", *(f"-{tag}" for tag in tags), path]
            try:
                proc.stdin.write(("\n".join(args) + f"\n-execute{self._count}\n").encode())
                proc.stdin.flush()
            except BrokenPipeError as exc:
                raise EOFError("exiftool exited") from exc
            output = _until_ready(proc.stdout, self._count, time.monotonic() + self.timeout)
        finally:
            os.unlink(path)
        return _tags(output)

    def _stop(self, kill: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _end(proc, kill)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _forget(self) -> None:
        """In a forked child: drop the parent's process and directory without touching
        them, and the lock another of the parent's threads may have held."""
        self._owner = os.getpid()
        self._lock = threading.Lock()
        proc, self._proc, self._dir = self._proc, None, None
        if proc is not None:
            _close_pipes(proc)


def _until_ready(stdout: IO[bytes], number: int, deadline: float) -> bytes:
    """What ExifTool printed for request `number`, up to its "{ready<number>}" line; the
    output of an earlier request (one given up on) is skipped."""
    fd, buffer = stdout.fileno(), b""
    while True:
        start = 0
        for match in _READY.finditer(buffer):
            if int(match.group(1)) == number:
                return buffer[start : match.start()]
            start = match.end()
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer in time")
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError("exiftool exited")
            buffer += chunk
            if len(buffer) > MAX_OUTPUT:
                raise ValueError("unexpected output")


def _tags(output: bytes) -> dict[str, str]:
    """Tags from `-j` output: `[{"SourceFile": …, "Group:Tag": value}]`, or nothing at all
    for a file ExifTool cannot read. Numbers are kept as printed (a serial "0123" stays)."""
    if not output.strip():
        return {}
    parsed = json.loads(output, parse_int=str, parse_float=str, parse_constant=str)
    if not isinstance(parsed, list) or not parsed or not isinstance(parsed[0], dict):
        raise ValueError("unexpected output")
    return {
        key: value
        for key, value in parsed[0].items()
        if key != "SourceFile" and isinstance(value, str)
    }


def _end(proc: subprocess.Popen[bytes], kill: bool) -> None:
    if not kill and proc.poll() is None and proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.write(b"-stay_open\nFalse\n")
            proc.stdin.flush()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=2)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    _close_pipes(proc)


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


shared = ExifTool()
"""The process this Python process uses; started on first use."""
