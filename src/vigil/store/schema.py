"""The case database's tables, as SQLAlchemy Core on one `MetaData`.

This is the *current* schema; migrations in `store/migrations/versions` build it step by step
and a test checks that migrating an empty database yields exactly these tables.

Dedupe keys are SHA-256 digests of raw path bytes (`locator_key`, `top_key`, `identity`), not
the paths themselves: PostgreSQL caps a btree entry at about 2.7 kB and a hostile archive can
hold a 64 kB member name. The raw bytes are kept beside them for provenance.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

case_meta = Table(
    "case_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # sha256 of the absolute root's bytes (+ NUL + file name for a single-file source)
    Column("identity", LargeBinary(32), nullable=False),
    Column("given", Text, nullable=False),  # as typed on the command line (display form)
    Column("root", Text, nullable=False),  # absolute, display form
    Column("root_raw", LargeBinary, nullable=False),  # absolute, exact bytes for reopening
    Column("single_file", Boolean, nullable=False),
    Column("created_at", Text, nullable=False),
    UniqueConstraint("identity", name="uq_sources_identity"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("argv", Text, nullable=False),  # JSON list
    Column("status", String(16), nullable=False),  # running|completed|interrupted|failed
    Column("counts", Text),  # JSON object
    # What made the run (0004), one JSON object (`vigil.provenance.run_provenance`): read
    # whole, never queried by field, and it grows with the libraries (PyAV/FFmpeg with
    # video) without a migration each time. NULL for runs recorded before 0004.
    Column("provenance", Text),
)

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("locator", LargeBinary, nullable=False),  # Locator.raw
    Column("locator_key", LargeBinary(32), nullable=False),  # sha256(locator)
    Column("top", LargeBinary, nullable=False),  # Locator.relpath of the task
    Column("top_key", LargeBinary(32), nullable=False),  # sha256(top)
    Column("path", Text, nullable=False),  # Locator.text
    Column("depth", Integer, nullable=False),
    Column("entry", String(16), nullable=False),
    Column("size", BigInteger),
    Column("md5", String(32)),
    Column("sha1", String(40)),
    Column("sha256", String(64)),
    Column("mime", Text),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("width", Integer),
    Column("height", Integer),
    Column("pdq", String(64)),
    Column("pdq_quality", Integer),
    Column("pdq_dihedral", Text),  # the 8 hex hashes joined with ","
    Column("pdq_windows", Text),  # "scale:hex" centred sub-window hashes joined with "," (0002)
    # The conventions that made this file's PDQ and window hashes (0003): hashes are
    # comparable only within one convention (`vigil.hashing.conventions`).
    Column("pdq_version", Text),
    Column("windows_version", Text),
    Column("exif", Text),  # JSON object; NULL when empty
    # The effective category (0006): a human decision on the content if any, else what the
    # matches say; `category_source` says which ("decision" | "match"; NULL with no verdict)
    # and `state` is decided | matched | review, with `review_reason` for review.
    Column("category", Integer),
    Column("category_source", String(16)),
    Column("state", String(16), nullable=False, server_default="review"),
    Column("review_reason", Text),
    Column("warnings", Text),  # JSON list of decoder warnings; NULL when none (0005)
    # The camera body and capture time from EXIF as columns (0006), so devices, series and
    # the timeline aggregate in SQL instead of parsing every file's EXIF JSON.
    Column("camera_make", Text),
    Column("camera_model", Text),
    Column("camera_serial", Text),
    Column("captured_at", String(32)),
    Column("gps_lat", Float),
    Column("gps_lon", Float),
    Column("thumb_sha256", String(64)),  # the embedded EXIF thumbnail's content
    Column("link_target", Text),
    Column("encrypted", Boolean, nullable=False),
    Column("mtime", Float),
    Column("thumbnail", Text),  # path relative to the case folder
    Column("run_id", Integer, ForeignKey("runs.id")),
    UniqueConstraint("source_id", "locator_key", name="uq_files_source_id_locator_key"),
    Index("ix_files_source_id_top_key", "source_id", "top_key"),
    Index("ix_files_md5", "md5"),
    Index("ix_files_sha1", "sha1"),
    Index("ix_files_sha256", "sha256"),
    Index("ix_files_pdq", "pdq"),
    Index("ix_files_state", "state"),
    Index("ix_files_category", "category"),
    Index("ix_files_camera", "camera_make", "camera_model", "camera_serial"),
    Index("ix_files_thumb_sha256", "thumb_sha256"),
)

done = Table(
    "done",
    metadata,
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("top_key", LargeBinary(32), nullable=False),  # sha256(top); the paths are in files
    PrimaryKeyConstraint("source_id", "top_key", name="pk_done"),
    sqlite_with_rowid=False,  # the key is the whole row: store it once, not twice
)

# --- hash sets and matches (migration 0002) ---------------------------------------------

_BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite only autoincrements INTEGER

hashsets = Table(
    "hashsets",
    metadata,
    # One row per imported *version* of a named set: a match names the version it came from.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, … per name
    Column("active", Boolean, nullable=False),  # only the newest version of a name matches
    Column("kind", String(16), nullable=False),  # alert|ignorable|reference
    Column("category", Integer),  # the set's category, used when an entry carries none
    # The scheme the list said its codes are in (None: it named none) and the map that gave
    # them their meaning in the case, as JSON (0003).
    Column("list_scheme", Text),
    Column("category_map", Text),
    Column("format", String(16), nullable=False),
    Column("format_version", String(16), nullable=False),
    Column("source_file", Text, nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("pdq_entries", BigInteger, nullable=False),
    Column("imported_at", Text, nullable=False),
    UniqueConstraint("name", "version", name="uq_hashsets_name_version"),
)

hash_entries = Table(
    "hash_entries",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("hashset_id", Integer, ForeignKey("hashsets.id"), nullable=False),
    Column("md5", String(32)),
    Column("sha1", String(40)),
    Column("sha256", String(64)),
    Column("pdq", String(64)),
    Column("pdq_quality", Integer),
    # What the entry's category means in the case's scheme; NULL = no verdict (none given,
    # or a list code with no meaning in the case). `list_category` is the code as the list
    # wrote it, kept whatever it means (0003).
    Column("category", Integer),
    Column("list_category", Integer),
    Column("rows", BigInteger, nullable=False, server_default="1"),  # list rows folded here
    Column("name", Text),
    Column("size", BigInteger),
    Column("extra", Text),  # JSON object of format-specific extras; NULL when none
    Index("ix_hash_entries_hashset_id", "hashset_id"),
    Index("ix_hash_entries_md5", "md5"),
    Index("ix_hash_entries_sha1", "sha1"),
    Index("ix_hash_entries_sha256", "sha256"),
    sqlite_autoincrement=True,  # ids of replaced versions' entries live on in match history
)

matches = Table(
    "matches",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("file_id", Integer, ForeignKey("files.id"), nullable=False),
    Column("hashset_id", Integer, ForeignKey("hashsets.id"), nullable=False),
    Column("entry_id", BigInteger, nullable=False),  # entries of replaced versions are dropped
    Column("algorithm", String(16), nullable=False),  # md5|sha1|sha256|pdq
    Column("algorithm_version", Text, nullable=False),
    Column("distance", Integer, nullable=False),  # 0 for exact matches
    Column("threshold", Integer, nullable=False),  # 0 for exact matches
    Column("transform", String(32), nullable=False),  # original|rot90|…|mirror|crop…
    Column("category", Integer),  # what this match says about the file's category
    # "weak" (0006): a near hit PDQ's rules refuse to categorise (low quality, or a distance
    # just past the threshold); it never sets a category and sends the file to review.
    Column("strength", String(8), nullable=False, server_default="strong"),
    Column("matched_at", Text, nullable=False),
    UniqueConstraint("file_id", "entry_id", "algorithm", name="uq_matches_file_entry_algorithm"),
    Index("ix_matches_hashset_id", "hashset_id"),
)


# --- triage (migration 0006) ------------------------------------------------------------

decisions = Table(
    "decisions",
    metadata,
    # Append-only: a human's verdict on a content, never updated or deleted; the latest row
    # per sha256 is the one that counts. A NULL category withdraws the decisions before it
    # (an undo, migration 0008): the content's verdict is its matches' again.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("category", Integer),
    Column("scheme", String(32), nullable=False),  # the case's scheme when decided
    Column("decided_by", Text, nullable=False),
    Column("decided_at", Text, nullable=False),
    Column("note", Text),
    Column("via_group", String(32)),  # the group label the decision was made on, if any
    Index("ix_decisions_sha256_id", "sha256", "id"),
    sqlite_autoincrement=True,
)

contents = Table(
    "contents",
    metadata,
    # One row per distinct content the grouping pass has seen: its exact stack, and the
    # visual cluster and series it joined. Rows are only added or re-pointed (series merges),
    # so group ids stay stable across runs.
    Column("sha256", String(64), primary_key=True),
    Column("first_file_id", Integer, nullable=False),
    Column("cluster_id", Integer),  # NULL: not clustered (no PDQ, or low quality)
    Column("anchor_distance", Integer),
    Column("is_anchor", Boolean, nullable=False, server_default="0"),
    Column("series_id", Integer),
    Index("ix_contents_cluster_id", "cluster_id"),
    Index("ix_contents_series_id", "series_id"),
    Index("ix_contents_first_file_id", "first_file_id"),
)

series = Table(
    "series",
    metadata,
    # Clusters are implied by `contents.cluster_id` and their anchors; a series needs a row
    # for what ties it together and for merges, which keep old labels meaningful.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reasons", Text, nullable=False),  # JSON object: tie kind → count
    Column("merged_into", Integer),  # a series absorbed by an older one
    Column("created_at", Text, nullable=False),
    sqlite_autoincrement=True,
)


# --- users and the audit log (migration 0007) -------------------------------------------

users = Table(
    "users",
    metadata,
    # The people who may use this case in the review app. A row is this case's grant, a
    # disabled row a revoked one, kept so the audit's names stay resolvable (store/users.py).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("password_hash", Text, nullable=False),  # argon2id PHC string, never the password
    Column("role", String(16), nullable=False),  # admin|investigator|reviewer|auditor
    Column("disabled", Boolean, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("password_changed_at", Text, nullable=False),
    # Login throttling: failures since the last success or lock, locks in a row (each one
    # doubles the next), and when the current lock ends (UTC ISO; NULL when not locked).
    Column("failed_logins", Integer, nullable=False),
    Column("lockouts", Integer, nullable=False),
    Column("locked_until", Text),
    Column("daily_reveals", Integer),  # this user's reveal budget a day; NULL: the setting's
    Column("rendering", String(16)),  # the degraded rendering chosen; NULL: the default
    UniqueConstraint("name", name="uq_users_name"),
)

audit = Table(
    "audit",
    metadata,
    # Append-only and hash-chained (store/audit.py defines `entry_hash`). Ids are given by
    # the appender, 1, 2, 3 … with no gaps even after a rollback, so a deleted row shows.
    Column("id", _BigId, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),  # UTC ISO
    Column("actor", Text, nullable=False),  # a user name, or "cli:<login>"
    Column("action", String(32), nullable=False),
    Column("subject", Text),
    Column("detail", Text),  # canonical JSON object text; NULL when none
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    # One row (id 1): the last entry's id and hash. Appenders update it first, which
    # serialises them on both back-ends, and verify checks the log ends where it says.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)


# --- the review app (migration 0008) -----------------------------------------------------

reveals = Table(
    "reveals",
    metadata,
    # One look at an item's unblurred rendering: who, which file, its category then, and the
    # single-use URL (only the token's SHA-256 is kept). `served_at` is set once, when the URL
    # is used; `seconds` is how long it stayed on screen, as the page reports it.
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("user_name", String(64), nullable=False),
    Column("file_id", _BigId, nullable=False),
    Column("sha256", String(64)),
    Column("category", Integer),
    Column("severe", Boolean, nullable=False),  # the scheme's most severe category
    Column("token_hash", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("served_at", String(40)),
    Column("seconds", Float),
    UniqueConstraint("token_hash", name="uq_reveals_token_hash"),
    Index("ix_reveals_user_name_created_at", "user_name", "created_at"),
    Index("ix_reveals_sha256", "sha256"),
    sqlite_autoincrement=True,
)

review_time = Table(
    "review_time",
    metadata,
    # Per user: reviewing seconds on `day` (UTC), and the current stretch without a break,
    # which the app ends with an enforced break (web/wellbeing.py).
    Column("user_name", String(64), primary_key=True),
    Column("day", String(10), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("stretch_started_at", String(40), nullable=False),
    Column("last_active_at", String(40), nullable=False),
)

outcomes = Table(
    "outcomes",
    metadata,
    # What became of the case ("victim safeguarded"), posted by an admin, shown to reviewers.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("posted_by", String(64), nullable=False),
    Column("posted_at", String(40), nullable=False),
    Column("text", Text, nullable=False),
)

votes = Table(
    "votes",
    metadata,
    # A reviewer's category for a content while the case needs several to agree
    # (`consensus_reviewers`); agreement writes the decision (triage/consensus.py).
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("category", Integer, nullable=False),
    Column("scheme", String(32), nullable=False),
    Column("voted_by", String(64), nullable=False),
    Column("voted_at", String(40), nullable=False),
    Column("note", Text),
    Column("via_group", String(32)),
    Index("ix_votes_sha256_id", "sha256", "id"),
    sqlite_autoincrement=True,
)


# --- disk images (migration 0009) --------------------------------------------------------

# Files inside disk images: whether the file system lists the name as deleted, and the
# file system's metadata address (inode, MFT entry) that reopens it.
files.append_column(Column("deleted", Boolean, nullable=False, server_default="0"))
files.append_column(Column("inode", BigInteger))

disk_images = Table(
    "disk_images",
    metadata,
    # One row per disk image ingested (its first segment's record): the format and segments,
    # the acquisition metadata and hashes the image stores, what its media hashed to when
    # verified, and its volumes. `verification`: verified | mismatch (the hashes differ, or
    # chunks failed their checksums: their ranges in report["damaged"]) | not verified
    # (setting off) | no stored hash | unreadable (an incomplete segment set); `detail` says why.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("locator_key", LargeBinary(32), nullable=False),  # the image file's record
    Column("path", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("library", Text),
    Column("segments", Text),  # JSON list of segment file names
    Column("media_size", BigInteger),
    Column("stored_md5", String(32)),
    Column("stored_sha1", String(40)),
    Column("computed_md5", String(32)),
    Column("computed_sha1", String(40)),
    Column("verification", String(16), nullable=False),
    Column("detail", Text),
    Column("report", Text, nullable=False),  # the whole report as JSON (info, volumes …)
    Column("run_id", Integer, ForeignKey("runs.id")),
    UniqueConstraint("source_id", "locator_key", name="uq_disk_images_source_id_locator_key"),
)


# --- videos (migration 0010) -------------------------------------------------------------

# What a video's container says (seconds, frames a second, the first video stream's codec)
# and how many vPDQ frame hashes it got; NULL for every other kind.
files.append_column(Column("duration", Float))
files.append_column(Column("fps", Float))
files.append_column(Column("codec", Text))
files.append_column(Column("frames_hashed", Integer))

video_hashes = Table(
    "video_hashes",
    metadata,
    # One row per video content that got frame hashes, written with its frames by the first
    # run that hashed it; later copies and reruns add nothing. `vpdq_version` names the
    # implementation, the builds and the settings that made the frames (hashes are comparable
    # only within one), `frames` how many `video_frames` rows it has.
    Column("sha256", String(64), primary_key=True),
    Column("vpdq_version", Text, nullable=False),
    Column("frames", Integer, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
)

video_frames = Table(
    "video_frames",
    metadata,
    # A video content's vPDQ features in frame order: the frame's 0-based number in
    # presentation order, its time in seconds, the PDQ quality and hash (64 hex digits, as
    # `files.pdq`).
    Column("sha256", String(64), nullable=False),
    Column("frame_number", Integer, nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("quality", Integer, nullable=False),
    Column("pdq", String(64), nullable=False),
    PrimaryKeyConstraint("sha256", "frame_number", name="pk_video_frames"),
    sqlite_with_rowid=False,  # read by content in frame order: the key is the table's order
)


# --- video lists (migration 0011) --------------------------------------------------------

known_videos = Table(
    "known_videos",
    metadata,
    # One row per known video of an imported vPDQ list. The video itself is a `hash_entries`
    # row (name, category, extras; no digests) whose id this shares, so a match row's
    # `entry_id` names a known video as it names a known picture. `frames`: its frames in
    # `known_video_frames`, low quality included.
    Column("entry_id", BigInteger, primary_key=True, autoincrement=False),
    Column("hashset_id", Integer, ForeignKey("hashsets.id"), nullable=False),
    Column("frames", Integer, nullable=False),
    Index("ix_known_videos_hashset_id", "hashset_id"),
)

known_video_frames = Table(
    "known_video_frames",
    metadata,
    # A known video's frames in list order (`position`, 0-based); `frame_number` as the list
    # gives it (NULL for python-threatexchange's JSON, which has none).
    Column("entry_id", BigInteger, nullable=False),
    Column("position", Integer, nullable=False),
    Column("frame_number", Integer),
    Column("timestamp", Float, nullable=False),
    Column("quality", Integer, nullable=False),
    Column("pdq", String(64), nullable=False),
    PrimaryKeyConstraint("entry_id", "position", name="pk_known_video_frames"),
    sqlite_with_rowid=False,  # read by video in list order: the key is the table's order
)

# A vPDQ match (algorithm "vpdq"): the share of the case video's unique good frames found in
# the known video and of the known video's found in the case video, in percent, and the
# matching time ranges as JSON {"query": [[start, end], …], "compared": […]} in seconds.
matches.append_column(Column("query_match", Float))
matches.append_column(Column("compared_match", Float))
matches.append_column(Column("time_ranges", Text))
