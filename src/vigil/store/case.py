"""A case: its folder (case.json, thumbnails, logs) and the engine of its database.

`CaseStore.create` makes one, `CaseStore.open` reopens it and brings an older schema up to date.
The database is SQLite at `CASE/case.db` unless `case.json` names a PostgreSQL URL.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

import vigil
from vigil.categories import SCHEMES, CategoryScheme
from vigil.errors import CaseError
from vigil.store.schema import case_meta

if TYPE_CHECKING:
    from alembic.config import Config

CASE_FILE = "case.json"
SQLITE_FILE = "case.db"
THUMBS_DIR = "thumbs"
FORMAT = 1
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 16 * 1024  # per connection: bounded, so memory stays flat as a case grows
_MIGRATIONS = Path(__file__).with_name("migrations")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def normalize_db_url(db_url: str) -> URL:
    """Parse a `--db` URL: PostgreSQL only, psycopg 3 driver, and no password.

    A password is refused rather than stripped, because case.json must not hold it and a case
    that opens today but not tomorrow is worse than an error now: put it in `~/.pgpass` or
    `PGPASSWORD`, which libpq reads on every connect.
    """
    try:
        url = make_url(db_url)
    except ArgumentError as exc:
        raise CaseError(f"not a database URL: {db_url!r}") from exc
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise CaseError(
            f"--db supports postgresql://… URLs only (got {url.get_backend_name()}://); "
            "leave it out for the embedded SQLite store"
        )
    if url.password is not None:
        raise CaseError(
            "the database URL contains a password; it would be written to case.json. "
            "Put it in ~/.pgpass or the PGPASSWORD environment variable instead"
        )
    if not url.database:
        raise CaseError(f"the database URL names no database: {db_url!r}")
    return url.set(drivername="postgresql+psycopg")


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(URL.create("sqlite", database=str(path)))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling skips DDL and SAVEPOINT; take over (SQLAlchemy
        # docs, "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.execute("PRAGMA wal_autocheckpoint=10000")  # pages; fewer, larger checkpoints
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def alembic_config(conn: Connection | None = None) -> Config:
    """Alembic settings for the migrations inside this package; no alembic.ini involved.
    `conn` is the connection (and transaction) env.py migrates."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def _read_case_file(case_dir: Path) -> dict[str, Any]:
    path = case_dir / CASE_FILE
    if not case_dir.is_dir():
        raise CaseError(f"not a Vigil case: {case_dir} is not a folder")
    if not path.is_file():
        raise CaseError(f"not a Vigil case: {case_dir} has no {CASE_FILE}")
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CaseError(f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("format"), int):
        raise CaseError(f"not a Vigil case file: {path}")
    if doc["format"] > FORMAT:
        raise CaseError(f"{path} has format {doc['format']}; this Vigil reads up to {FORMAT}")
    return doc


def _write_json_atomically(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(tmp, path)


class CaseStore:
    """An open case. A context manager; `close()` disposes the engine.

    Open it in as many processes as you like for reading; only the one `RecordWriter` of a run
    writes file records.
    """

    def __init__(self, case_dir: Path, engine: Engine, db_url: URL | None) -> None:
        self.case_dir = case_dir
        self.engine = engine
        self.db_url = db_url  # None for the embedded SQLite store
        self.thumbs_dir = case_dir / THUMBS_DIR

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        case_dir: Path,
        *,
        name: str | None = None,
        db_url: str | None = None,
        scheme: str = "projectvic",
    ) -> CaseStore:
        """Make a new case in `case_dir` (absent or empty). `name` defaults to the folder name.

        With `db_url`, the PostgreSQL database must exist and be empty: one database per case.
        """
        case_dir = Path(case_dir).absolute()
        url = normalize_db_url(db_url) if db_url is not None else None
        SCHEMES.get(scheme)
        if (case_dir / CASE_FILE).exists():
            raise CaseError(f"{case_dir} is already a Vigil case")
        if case_dir.exists() and (not case_dir.is_dir() or any(case_dir.iterdir())):
            raise CaseError(f"{case_dir} exists and is not an empty folder")
        made_dir = not case_dir.exists()
        try:
            case_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CaseError(f"cannot create the case folder {case_dir}: {exc}") from exc
        store: CaseStore | None = None
        try:
            engine = create_engine(url) if url else _sqlite_engine(case_dir / SQLITE_FILE)
            store = cls(case_dir, engine, url)
            case_uuid = str(uuid.uuid4())
            name = name if name is not None else case_dir.name
            meta = {
                "case_uuid": case_uuid,
                "name": name,
                "created_at": now_iso(),
                "vigil_version": vigil.__version__,
                "category_scheme": scheme,
            }
            store._initialise(meta)
            store.thumbs_dir.mkdir(exist_ok=True)
            _write_json_atomically(
                case_dir / CASE_FILE,
                {
                    "format": FORMAT,
                    "db_url": url.render_as_string(hide_password=False) if url else None,
                    "name": name,
                    "case_uuid": case_uuid,
                },
            )
        except BaseException:
            if store is not None:
                store.close()
            _remove_partial_case(case_dir, made_dir)
            raise
        return store

    @classmethod
    def open(cls, case_dir: Path) -> CaseStore:
        """Open an existing case; upgrades an older schema, refuses a newer one."""
        case_dir = Path(case_dir).absolute()
        doc = _read_case_file(case_dir)
        if doc.get("db_url"):
            url: URL | None = normalize_db_url(doc["db_url"])
            engine = create_engine(url)
        else:
            url = None
            if not (case_dir / SQLITE_FILE).is_file():
                raise CaseError(f"the case database {case_dir / SQLITE_FILE} is missing")
            engine = _sqlite_engine(case_dir / SQLITE_FILE)
        store = cls(case_dir, engine, url)
        try:
            store._check_and_upgrade(doc.get("case_uuid"))
            store.thumbs_dir.mkdir(exist_ok=True)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """The case_meta table: case_uuid, name, created_at (UTC ISO), vigil_version."""
        try:
            with self.engine.connect() as conn:
                return dict(conn.execute(select(case_meta.c.key, case_meta.c.value)).all())
        except SQLAlchemyError as exc:
            raise CaseError(f"cannot read the case metadata: {exc}") from exc

    def thumbnail_path(self, sha256: str) -> Path:
        """`CASE/thumbs/ab/<sha256>.jpg`: one file per distinct content."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self.thumbs_dir / sha256[:2] / f"{sha256}.jpg"

    @property
    def scheme(self) -> CategoryScheme:
        """The case's category scheme (Project VIC for cases made before schemes existed)."""
        return SCHEMES.get(self.meta().get("category_scheme", "projectvic"))

    def index_dir(self, hashset_id: int) -> Path:
        """`CASE/indexes/pdq/hashset-<id>`: the saved PDQ index of one hash-set version."""
        return self.case_dir / "indexes" / "pdq" / f"hashset-{hashset_id}"

    def describe_db(self) -> str:
        """Where the records live, for messages (never includes a password)."""
        if self.db_url is None:
            return str(self.case_dir / SQLITE_FILE)
        return self.db_url.render_as_string(hide_password=True)

    # -- internals -------------------------------------------------------------------------

    def _initialise(self, meta: dict[str, str]) -> None:
        try:
            with self.engine.begin() as conn:
                tables = set(inspect(conn).get_table_names())
                if "case_meta" in tables:
                    held = dict(conn.execute(select(case_meta.c.key, case_meta.c.value)).all())
                    raise CaseError(
                        f"the database {self.describe_db()} already holds the Vigil case "
                        f"{held.get('name')!r} ({held.get('case_uuid')}); "
                        "use one empty database per case"
                    )
                if tables:
                    shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
                    raise CaseError(
                        f"the database {self.describe_db()} is not empty (tables: {shown}); "
                        "use an empty database"
                    )
                _upgrade(conn)
                conn.execute(case_meta.insert(), [{"key": k, "value": v} for k, v in meta.items()])
        except SQLAlchemyError as exc:
            raise CaseError(f"cannot set up the case database {self.describe_db()}: {exc}") from exc

    def _check_and_upgrade(self, expected_uuid: str | None) -> None:
        try:
            with self.engine.begin() as conn:
                current = _current_revision(conn)
                if current is None:
                    raise CaseError(f"{self.describe_db()} holds no Vigil case schema")
                held = conn.execute(
                    select(case_meta.c.value).where(case_meta.c.key == "case_uuid")
                ).scalar()
                if expected_uuid and held != expected_uuid:
                    raise CaseError(
                        f"the database {self.describe_db()} holds a different case "
                        f"({held}) than {self.case_dir / CASE_FILE} ({expected_uuid})"
                    )
                if current not in schema_revisions():
                    raise CaseError(
                        f"the case schema ({current}) is newer than this Vigil "
                        f"({vigil.__version__}) understands; upgrade Vigil"
                    )
                if current != schema_revisions()[-1]:
                    _upgrade(conn)
        except SQLAlchemyError as exc:
            raise CaseError(f"cannot open the case database {self.describe_db()}: {exc}") from exc


def schema_revisions() -> list[str]:
    """Revision ids of the packaged migrations, oldest first (their file names start with
    them). Read from the file names so that opening a case does not import Alembic, which
    would add a quarter second to every command and every worker start."""
    return sorted(p.name.split("_", 1)[0] for p in _MIGRATIONS.glob("versions/[0-9]*_*.py"))


def _current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade(conn: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(conn), "head")


def _remove_partial_case(case_dir: Path, made_dir: bool) -> None:
    """Undo a failed create so that it can simply be run again."""
    for name in (SQLITE_FILE, f"{SQLITE_FILE}-wal", f"{SQLITE_FILE}-shm", CASE_FILE):
        (case_dir / name).unlink(missing_ok=True)
    thumbs = case_dir / THUMBS_DIR
    if thumbs.is_dir() and not any(thumbs.iterdir()):
        thumbs.rmdir()
    if made_dir and case_dir.is_dir() and not any(case_dir.iterdir()):
        case_dir.rmdir()
