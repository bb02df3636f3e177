"""One exception tree for Vigil. Each class knows the CLI exit code it maps to, and
`EXIT_CODES` is the one table of every code a command can end with (the README lists it; a
test runs every command into each and checks the code).

Per-item failures (a corrupt JPEG, an encrypted member) are *data*, not exceptions that
escape the worker: the worker catches `ItemError` subclasses and turns them into records.
"""

from __future__ import annotations

SUCCESS = 0
INTERRUPTED = 130


class VigilError(Exception):
    """Base of every error Vigil raises on purpose. Raised bare for failures that fit no
    subclass (an output file that cannot be written, worker processes that cannot start): a
    code of their own, so a script can tell them from a bad setting or an unreadable SOURCE."""

    exit_code = 1


class ConfigError(VigilError):
    """A setting has a bad value."""

    exit_code = 2


class CaseError(VigilError):
    """The case folder or its store cannot be used (missing, not a case, wrong version)."""

    exit_code = 3


class StoreError(VigilError):
    """The database refused an operation."""

    exit_code = 4


class EvidenceError(VigilError):
    """A source as a whole cannot be read (missing path, permission on the root)."""

    exit_code = 5


class ItemError(VigilError):
    """One item failed; the record gets `status` and `error` from this and the run goes on.

    `reason` is the short, stable text that ends up in the record's `error` field and in
    `vigil case info`'s "errors by reason" table, so keep it free of per-file details
    (put those in `detail`).
    """

    status = "error"

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)

    @property
    def message(self) -> str:
        return str(self)


class ItemSkipped(ItemError):
    """The item was deliberately not read (FIFO, device, symlink, limit reached)."""

    status = "skipped"


class ImageError(ItemError):
    """An image could not be decoded or hashed."""


class ArchiveError(ItemError):
    """An archive could not be opened or one of its members could not be read."""


class HashSetFormatError(VigilError):
    """A hash-set file cannot be parsed; carries where the problem is."""

    exit_code = 6

    def __init__(self, message: str, *, line: int | None = None, record: int | None = None):
        self.line = line
        self.record = record
        where = f"line {line}: " if line is not None else f"record {record}: " if record else ""
        super().__init__(f"{where}{message}")


EXIT_CODES: dict[int, str] = {
    SUCCESS: "success",
    VigilError.exit_code: "any other error Vigil reports (the message says what)",
    ConfigError.exit_code: "bad setting or argument",
    CaseError.exit_code: "not a case / unusable case",
    StoreError.exit_code: "store error",
    EvidenceError.exit_code: "a SOURCE cannot be read",
    HashSetFormatError.exit_code: "a hash list that does not parse",
    INTERRUPTED: "interrupted",
}
