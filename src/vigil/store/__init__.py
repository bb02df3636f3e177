"""The case database: schema, migrations, the one writer, and read-side queries."""

from vigil.store.case import CaseStore
from vigil.store.queries import EXPORT_FIELDS, case_summary, done_tops, iter_files
from vigil.store.writer import RecordWriter

__all__ = [
    "EXPORT_FIELDS",
    "CaseStore",
    "RecordWriter",
    "case_summary",
    "done_tops",
    "iter_files",
]
