"""Archive members: listing, content, and hostile archives (bombs, traversal names, encryption,
truncation, special members, names that are not UTF-8). Every archive is built in memory."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import struct
import tarfile
import tempfile
import zipfile

import py7zr
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.config import Limits, MiB
from vigil.errors import ArchiveError
from vigil.evidence.archive import FORMATS, Budget, Member, iter_archive
from vigil.evidence.formats import register_builtin_formats
from vigil.model import Entry
from vigil.plugins import Registry

FILES = [("a.txt", b"alpha\n"), ("dir/b.bin", bytes(range(256)) * 40), ("empty", b"")]
EXPECTED = {name.encode(): data for name, data in FILES}


def contents(seen) -> dict[bytes, bytes | None]:
    return {s.name: s.content for s in seen if s.entry is Entry.MEMBER}


# --- registry ------------------------------------------------------------------------------


def test_builtin_formats_are_registered_by_persisted_name():
    assert FORMATS.names() == ["zip", "tar", "7z", "gzip", "bzip2", "xz"]
    fresh = register_builtin_formats(Registry("archive format"))
    assert fresh.names() == FORMATS.names()


def test_unknown_mime_is_an_unsupported_archive():
    with pytest.raises(ArchiveError) as err:
        list(iter_archive(io.BytesIO(b"x"), "image/jpeg", name=b"x", budget=Budget(Limits())))
    assert err.value.reason == "unsupported archive"


# --- listing and content -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "maker"),
    [
        ("zip", lambda b: b.zip(FILES)),
        ("zip", lambda b: b.zip(FILES, compression=zipfile.ZIP_STORED)),
        ("zip", lambda b: b.zip(FILES, compression=zipfile.ZIP_BZIP2)),
        ("zip", lambda b: b.zip(FILES, compression=zipfile.ZIP_LZMA)),
        ("tar", lambda b: b.tar(FILES)),
        ("gzip", lambda b: b.tar(FILES, "gz")),
        ("bzip2", lambda b: b.tar(FILES, "bz2")),
        ("xz", lambda b: b.tar(FILES, "xz")),
        ("7z", lambda b: b.sevenzip(FILES)),
    ],
    ids=["zip", "zip-stored", "zip-bzip2", "zip-lzma", "tar", "tgz", "tbz2", "txz", "7z"],
)
def test_members_are_listed_with_their_content(build, kind, maker):
    seen, error = build.read_all(maker(build), kind)
    assert error is None
    assert contents(seen) == EXPECTED
    sizes = {s.name: s.member.size for s in seen}
    assert sizes[b"dir/b.bin"] == len(EXPECTED[b"dir/b.bin"])


def test_7z_solid_members_read_out_of_order_of_interest(build):
    """Unread members of a solid block are skipped; later ones still read correctly."""
    data = build.sevenzip([(f"f{i}", bytes([i]) * 5000) for i in range(5)])
    stream = io.BytesIO(data)
    got = {}
    for member in iter_archive(
        stream, "application/x-7z-compressed", name=b"s", budget=Budget(Limits())
    ):
        if member.name in (b"f1", b"f4"):
            got[member.name] = member.open().read()
        elif member.name == b"f2":
            member.open().read(10)  # partially read
    assert got == {b"f1": bytes([1]) * 5000, b"f4": bytes([4]) * 5000}


def test_member_stream_expires_when_the_iterator_advances(build):
    members = iter_archive(
        io.BytesIO(build.tar(FILES)), "application/x-tar", name=b"t", budget=Budget(Limits())
    )
    first = next(members)
    stream = first.open()
    next(members)
    assert stream.closed
    with pytest.raises(ValueError):
        first.open()


def test_nested_zip_in_tar_in_7z_opened_from_memory(build):
    inner = build.zip([("deep/photo.bin", b"\x89PNG fake")])
    middle = build.tar([("inner.zip", inner), ("note.txt", b"hi")])
    outer = build.sevenzip([("middle.tar", middle)])
    budget = Budget(Limits())
    names = []

    def walk(data: bytes, kind: str, depth: int) -> None:
        seen, error = build.read_all(io.BytesIO(data), kind, budget=budget)
        assert error is None
        for s in seen:
            names.append((depth, s.name))
            if s.name.endswith(b".zip"):
                walk(s.content, "zip", depth + 1)
            elif s.name.endswith(b".tar"):
                walk(s.content, "tar", depth + 1)

    walk(outer, "7z", 0)
    assert names == [
        (0, b"middle.tar"),
        (1, b"inner.zip"),
        (2, b"deep/photo.bin"),
        (1, b"note.txt"),
    ]
    assert budget.total_bytes == len(middle) + len(inner) + len(b"\x89PNG fake") + 2


@pytest.mark.parametrize(
    ("kind", "maker"),
    [
        ("zip", lambda b: b.zip([])),
        ("tar", lambda b: b.tar([])),
        ("gzip", lambda b: b.tar([], "gz")),
        ("xz", lambda b: b.tar([], "xz")),
        ("7z", lambda b: b.sevenzip([])),
    ],
)
def test_empty_archives_have_no_members(build, kind, maker):
    assert build.read_all(maker(build), kind) == ([], None)


# --- single-stream compressed files --------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "compress", "suffix"),
    [
        ("gzip", gzip.compress, b".gz"),
        ("bzip2", bz2.compress, b".bz2"),
        ("xz", lzma.compress, b".xz"),
    ],
)
def test_compressed_file_that_is_not_a_tar_is_one_member(build, kind, compress, suffix):
    payload = b"just some text, not a tar\n" * 1000
    seen, error = build.read_all(compress(payload), kind, name=b"case/notes.txt" + suffix.upper())
    assert error is None
    assert [(s.name, s.content) for s in seen] == [(b"notes.txt", payload)]
    seen, _ = build.read_all(compress(payload), kind, name=b"blob")
    assert seen[0].name == b"<data>"


def test_concatenated_gzip_streams_read_as_one(build):
    seen, error = build.read_all(
        gzip.compress(b"one ") + gzip.compress(b"two"), "gzip", name=b"x.gz"
    )
    assert error is None and seen[0].content == b"one two"


def test_zeros_compressed_are_data_not_an_empty_tar(build):
    seen, _ = build.read_all(gzip.compress(bytes(100_000)), "gzip", name=b"zeros.gz")
    assert [(s.name, s.content) for s in seen] == [(b"zeros", bytes(100_000))]


def test_truncated_gzip_member_fails_while_reading(build):
    data = gzip.compress(os.urandom(50_000))
    seen, error = build.read_all(data[: len(data) // 2], "gzip", name=b"x.gz")
    assert error is None
    assert seen[0].error == "truncated archive"


# --- names ---------------------------------------------------------------------------------


TRAVERSAL = ["../../etc/passwd", "/abs/path.txt", "a/../../b", "..\\win\\evil.txt"]


@pytest.mark.parametrize("kind", ["zip", "tar", "7z"])
def test_traversal_names_are_kept_verbatim_and_nothing_is_written(
    build, kind, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    tmp_before = sorted(os.listdir(tempfile.gettempdir()))
    entries = [(n, n.encode()) for n in TRAVERSAL]
    maker = {"zip": build.zip, "tar": build.tar, "7z": build.sevenzip}[kind]
    seen, error = build.read_all(maker(entries), kind)
    assert error is None
    got = contents(seen)
    if kind == "7z":  # 7z stores backslash as a path separator
        expected = {n.replace("\\", "/").encode(): n.encode() for n in TRAVERSAL}
    else:
        expected = {n.encode(): n.encode() for n in TRAVERSAL}
    assert got == expected
    assert os.listdir(tmp_path) == []
    assert sorted(os.listdir(tempfile.gettempdir())) == tmp_before


def test_tar_names_that_are_not_utf8_keep_their_raw_bytes(build):
    raw_name = b"caf\xe9-\xff.jpg"
    info = tarfile.TarInfo(raw_name.decode("utf-8", "surrogateescape"))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", encoding="utf-8", errors="surrogateescape") as tf:
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    seen, error = build.read_all(out.getvalue(), "tar")
    assert error is None
    assert [(s.name, s.content) for s in seen] == [(raw_name, b"abc")]
    assert seen[0].member.display == "caf\\xe9-\\xff.jpg"


def _rename_in_zip(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and data.count(old) == 2  # local header + central directory
    return data.replace(old, new)


def test_zip_cp437_name_without_utf8_flag(build):
    data = _rename_in_zip(build.zip([("caf?.txt", b"x")]), b"caf?", b"caf\x82")
    seen, error = build.read_all(data, "zip")
    assert error is None
    assert [s.name for s in seen] == ["café.txt".encode()]


def test_zip_flagged_utf8_name_that_is_invalid_is_salvaged_with_raw_bytes(build):
    data = build.zip([("caf\u00e9.txt", b"payload")])  # non-ASCII: zipfile sets the UTF-8 flag
    data = _rename_in_zip(data, "café".encode(), b"caf\xff\xfe"[:5])
    seen, error = build.read_all(data, "zip")
    assert [(s.name, s.content) for s in seen] == [(b"caf\xff\xfe.txt", b"payload")]
    assert error is not None  # zipfile refused the central directory


# --- bombs ---------------------------------------------------------------------------------


ZEROS = bytes(50 * MiB)


def test_zip_ratio_over_the_limit_flags_the_member_it_does_not_stop_reading(build):
    bomb = build.zip([("zeros.bin", ZEROS)])
    assert len(bomb) < 100_000
    budget = Budget(Limits(archive_max_ratio=100))
    members = iter_archive(io.BytesIO(bomb), "application/zip", name=b"b", budget=budget)
    assert next(members).open().read() == ZEROS  # within the byte budget: hashable
    verdict = budget.take_verdict()
    assert verdict is not None and verdict.reason == "archive bomb"
    assert budget.take_verdict() is None


def test_zip_ratio_is_measured_on_compressed_bytes_read_not_declared(build):
    """A bomb member whose central directory declares a compressed size as large as the
    archive (here a 2 MiB incompressible member follows it) is still measured by what
    zipfile really consumed."""
    pad = os.urandom(2 * MiB)
    data = bytearray(build.zip([("zeros.bin", bytes(20 * MiB)), ("pad.bin", pad)]))
    central = data.index(b"PK\x01\x02")  # the first member's central-directory entry
    declared = struct.unpack_from("<L", data, central + 20)[0]
    assert declared < 100_000
    struct.pack_into("<L", data, central + 20, len(data) - 200)  # lies: most of the archive
    seen, error = build.read_all(bytes(data), "zip", budget=Budget(Limits(archive_max_ratio=50)))
    assert error is None
    assert [(s.name, s.error) for s in seen] == [(b"zeros.bin", "archive bomb"), (b"pad.bin", None)]
    assert seen[0].content == bytes(20 * MiB) and seen[1].content == pad


def test_small_compressible_members_are_not_bombs(build):
    text = b"a" * (MiB - 1)  # ratio ~1000 but under the floor
    seen, error = build.read_all(build.zip([("t.txt", text)]), "zip")
    assert error is None and seen[0].content == text


@pytest.mark.parametrize(
    ("kind", "maker"),
    [
        ("gzip", lambda b: b.tar([("z", ZEROS)], "gz")),
        ("xz", lambda b: b.tar([("z", ZEROS)], "xz")),
        ("gzip", lambda b: gzip.compress(ZEROS)),
        ("7z", lambda b: b.sevenzip([("z", ZEROS)])),
    ],
    ids=["tgz", "txz", "gz", "7z"],
)
def test_compressed_bombs_stop_on_ratio(build, kind, maker):
    seen, error = build.read_all(maker(build), kind, name=b"z.gz", budget=Budget(Limits()))
    reasons = [s.error for s in seen] + [error.reason if error else None]
    assert "archive bomb" in reasons


def test_total_budget_is_shared_across_nested_levels(build):
    blob = os.urandom(600_000)  # incompressible: the ratio never trips
    inner = build.zip([("x1", blob), ("x2", blob)], compression=zipfile.ZIP_STORED)
    outer = build.zip([("inner.zip", inner)], compression=zipfile.ZIP_STORED)
    budget = Budget(Limits(archive_max_total_bytes=2 * MiB))
    seen, error = build.read_all(outer, "zip", budget=budget)
    assert error is None and seen[0].content == inner  # 1.2 MB charged
    inner_seen, _ = build.read_all(seen[0].content, "zip", budget=budget)
    assert [s.error for s in inner_seen] == [None, "archive bomb"]


def test_declared_size_smaller_than_actual_is_not_trusted(build):
    payload = os.urandom(200_000)
    data = bytearray(build.zip([("lie.bin", payload)], compression=zipfile.ZIP_STORED))
    real = struct.pack("<L", len(payload))
    assert data.count(real) == 4  # compressed and uncompressed sizes, local and central
    data = bytes(data).replace(real, struct.pack("<L", 1000))
    seen, _ = build.read_all(data, "zip")
    assert seen[0].member.size == 1000
    assert seen[0].content is None and seen[0].error == "corrupt member"  # CRC mismatch


def test_bomb_with_unknown_sizes_in_a_salvaged_zip_stops_on_ratio(build):
    """Data descriptors: local headers declare size 0; only decompression tells."""
    bomb = build.zip([("zeros.bin", ZEROS)], descriptors=True)
    cut = bomb[: bomb.rindex(b"PK\x01\x02")]  # drop the central directory
    budget = Budget(Limits(archive_max_ratio=100))
    seen, _ = build.read_all(cut, "zip", budget=budget)
    assert seen[0].member.size is None
    assert seen[0].error == "archive bomb"


def test_too_many_members(build):
    data = build.zip([(f"f{i}", b"") for i in range(20)])
    seen, error = build.read_all(data, "zip", budget=Budget(Limits(archive_max_members=5)))
    assert len(seen) == 5 and error is not None and error.reason == "too many members"


# --- encryption ----------------------------------------------------------------------------


def _encrypted_zip(build) -> bytes:
    """zipfile cannot encrypt: set the encryption flag and store junk bytes as data."""
    data = bytearray(build.zip([("secret.jpg", os.urandom(64)), ("plain.txt", b"open")]))
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.index(signature)  # the first entry of each kind is secret.jpg
        (flags,) = struct.unpack_from("<H", data, pos + flag_at)
        struct.pack_into("<H", data, pos + flag_at, flags | 1)
    return bytes(data)


def test_encrypted_zip_member_is_listed_and_marked(build):
    seen, error = build.read_all(_encrypted_zip(build), "zip")
    assert error is None
    secret, plain = seen
    assert (secret.name, secret.member.encrypted, secret.error) == (
        b"secret.jpg",
        True,
        "encrypted member",
    )
    with pytest.raises(ArchiveError, match="encrypted member"):
        secret.member.open()
    assert (plain.content, plain.member.encrypted) == (b"open", False)


def test_encrypted_7z_data_lists_names(build):
    data = build.sevenzip([("a.jpg", b"secret"), ("b.txt", b"more")], password="pw")
    seen, error = build.read_all(data, "7z")
    assert error is None
    assert [(s.name, s.member.encrypted, s.error) for s in seen] == [
        (b"a.jpg", True, "encrypted member"),
        (b"b.txt", True, "encrypted member"),
    ]


def test_encrypted_7z_header_is_an_encrypted_archive(build):
    data = build.sevenzip([("a.jpg", b"secret")], password="pw", header_encryption=True)
    seen, error = build.read_all(data, "7z")
    assert seen == [] and error is not None and error.reason == "encrypted archive"


# --- truncation ----------------------------------------------------------------------------


def test_truncated_zip_salvages_members_from_local_headers(build):
    big = os.urandom(100_000)
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2):
        data = build.zip(
            [("a.txt", b"alpha" * 100), ("b.bin", big), ("c.bin", big)], compression=compression
        )
        cut = data[: data.index(b"c.bin") + 5000]  # in the middle of c.bin's data
        seen, error = build.read_all(cut, "zip")
        assert [(s.name, s.content) for s in seen[:2]] == [
            (b"a.txt", b"alpha" * 100),
            (b"b.bin", big),
        ]
        assert seen[2].name == b"c.bin" and seen[2].error == "truncated archive"
        assert error is not None and error.reason == "truncated archive"


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_truncated_zip_with_data_descriptors(build, compression):
    files = [("one", b"1" * 3000), ("two", os.urandom(3000)), ("three", b"3" * 3000)]
    data = build.zip(files, compression=compression, descriptors=True)
    cut = data[: data.index(b"PK\x01\x02")]  # every member, no central directory
    seen, error = build.read_all(cut, "zip")
    assert [(s.name, s.content) for s in seen] == [(n.encode(), d) for n, d in files]
    assert [s.member.size for s in seen] == [None] * 3
    assert error is not None and error.reason == "truncated archive"


def test_random_bytes_are_a_corrupt_zip_not_a_truncated_one(build):
    seen, error = build.read_all(b"not a zip at all" * 10, "zip")
    assert seen == [] and error.reason == "corrupt archive"


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_truncated_tar_salvages_what_precedes_the_cut(build, compression):
    big = os.urandom(50_000)
    whole = build.tar([("a.txt", b"alpha"), ("b.bin", big), ("c.bin", big)])
    cut = whole[: 512 * 3 + 50_000 // 2]  # in b.bin's data
    data = {
        "": lambda d: d,
        "gz": gzip.compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
    }[compression](cut)
    kind = {"": "tar", "gz": "gzip", "bz2": "bzip2", "xz": "xz"}[compression]
    seen, error = build.read_all(data, kind, name=b"t.tar")
    assert [(s.name, s.content) for s in seen] == [(b"a.txt", b"alpha"), (b"b.bin", None)]
    assert seen[1].error == "truncated archive"
    assert error is not None and error.reason == "truncated archive"


def test_tar_cut_at_a_header_boundary_is_truncated(build):
    whole = build.tar([("a.txt", b"alpha"), ("b.txt", b"beta")])
    seen, error = build.read_all(whole[:1024], "tar")
    assert contents(seen) == {b"a.txt": b"alpha"}
    assert error.reason == "truncated archive"


def test_truncated_compressed_tar_stream(build):
    data = build.tar([("a.txt", b"alpha"), ("b.bin", os.urandom(40_000))], "gz")
    seen, error = build.read_all(data[: len(data) - 2000], "gzip", name=b"t.tgz")
    assert contents(seen)[b"a.txt"] == b"alpha"
    assert error is not None and error.reason == "truncated archive"


def test_truncated_7z_lists_nothing(build):
    data = build.sevenzip([("a.txt", b"alpha"), ("b.bin", os.urandom(2000))])
    for cut in (len(data) - 10, 40, 20):
        seen, error = build.read_all(data[:cut], "7z")
        assert seen == [] and error.reason == "truncated archive", cut


def test_corrupt_7z_member_data_is_a_member_error(build):
    payload = os.urandom(3000)
    data = bytearray(build.sevenzip([("a.bin", payload)], filters=[{"id": py7zr.FILTER_COPY}]))
    pos = data.index(payload[:16])
    data[pos + 100] ^= 0xFF
    seen, error = build.read_all(bytes(data), "7z")
    assert error is None
    assert seen[0].error == "corrupt member"


# --- special members -----------------------------------------------------------------------


def _tarinfo(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def test_tar_links_and_special_members_are_recorded_never_read(build):
    data = build.tar(
        [
            ("target.txt", b"real"),
            (_tarinfo("sym", tarfile.SYMTYPE, "/etc/passwd"), None),
            (_tarinfo("hard", tarfile.LNKTYPE, "target.txt"), None),
            (_tarinfo("fifo", tarfile.FIFOTYPE), None),
            (_tarinfo("chr", tarfile.CHRTYPE), None),
            (_tarinfo("blk", tarfile.BLKTYPE), None),
            (_tarinfo("d", tarfile.DIRTYPE), None),
        ]
    )
    seen, error = build.read_all(data, "tar")
    assert error is None
    assert [(s.name, s.entry, s.member.link_target) for s in seen] == [
        (b"target.txt", Entry.MEMBER, None),
        (b"sym", Entry.SYMLINK, "/etc/passwd"),
        (b"hard", Entry.HARDLINK, "target.txt"),
        (b"fifo", Entry.FIFO, None),
        (b"chr", Entry.DEVICE, None),
        (b"blk", Entry.DEVICE, None),
        (b"d", Entry.DIRECTORY, None),
    ]
    for s in seen[1:]:
        with pytest.raises(ArchiveError, match="not a regular member"):
            s.member.open()


def test_zip_symlink_records_its_target(build):
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    seen, error = build.read_all(build.zip([(info, b"../../outside")]), "zip")
    assert error is None
    assert (seen[0].entry, seen[0].member.link_target) == (Entry.SYMLINK, "../../outside")


def test_zip_directory_entry(build):
    seen, _ = build.read_all(build.zip([("d/", b""), ("d/f", b"x")]), "zip")
    assert [(s.name, s.entry) for s in seen] == [(b"d/", Entry.DIRECTORY), (b"d/f", Entry.MEMBER)]


# --- hostile bytes never raise anything but ArchiveError -----------------------------------


SAMPLES: dict[str, bytes] = {}


def _samples() -> dict[str, bytes]:
    if not SAMPLES:
        files = [("a.txt", b"alpha" * 50), ("b/c.bin", bytes(range(256)) * 8)]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for n, d in files:
                zf.writestr(n, d)
        SAMPLES["zip"] = out.getvalue()
        for kind, comp in (("tar", ""), ("gzip", "gz"), ("bzip2", "bz2"), ("xz", "xz")):
            out = io.BytesIO()
            with tarfile.open(fileobj=out, mode=f"w:{comp}" if comp else "w") as tf:  # type: ignore[call-overload]
                for n, d in files:
                    info = tarfile.TarInfo(n)
                    info.size = len(d)
                    tf.addfile(info, io.BytesIO(d))
            SAMPLES[kind] = out.getvalue()
        out = io.BytesIO()
        with py7zr.SevenZipFile(out, "w") as sz:
            for n, d in files:
                sz.writestr(d, n)
        SAMPLES["7z"] = out.getvalue()
    return SAMPLES


KINDS = ["zip", "tar", "7z", "gzip", "bzip2", "xz"]
HOSTILE = settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _read_everything(data: bytes, kind: str) -> None:
    budget = Budget(Limits(archive_max_total_bytes=64 * MiB))
    mime = {
        "zip": "application/zip",
        "tar": "application/x-tar",
        "7z": "application/x-7z-compressed",
        "gzip": "application/gzip",
        "bzip2": "application/x-bzip2",
        "xz": "application/x-xz",
    }[kind]
    try:
        for member in iter_archive(io.BytesIO(data), mime, name=b"h", budget=budget):
            assert isinstance(member, Member)
            if member.error is None and member.entry is Entry.MEMBER:
                with contextlib.suppress(ArchiveError):
                    member.open().read()
    except ArchiveError:
        pass


@pytest.mark.parametrize("kind", KINDS)
@HOSTILE
@given(data=st.binary(max_size=4096))
def test_random_bytes_only_raise_archive_error(kind, data):
    _read_everything(data, kind)


@pytest.mark.parametrize("kind", KINDS)
@HOSTILE
@given(st.data())
def test_truncated_or_flipped_archives_only_raise_archive_error(kind, data):
    sample = _samples()[kind]
    cut = data.draw(st.integers(0, len(sample)))
    mutated = bytearray(sample[:cut])
    for _ in range(data.draw(st.integers(0, 3))):
        if mutated:
            pos = data.draw(st.integers(0, len(mutated) - 1))
            mutated[pos] = data.draw(st.integers(0, 255))
    _read_everything(bytes(mutated), kind)


def test_prefixes_of_every_sample(build):
    """Every cut of every sample (deterministic complement to the random cuts)."""
    for kind, sample in _samples().items():
        for cut in range(0, len(sample), max(1, len(sample) // 300)):
            _read_everything(sample[:cut], kind)


# --- archives without the usual magic at offset 0 -------------------------------------------


def _v7_tar(members: list[tuple[bytes, bytes]]) -> bytes:
    """An old-format tar as V7 `tar` wrote it: no magic, typeflag NUL, checksum as 6 octal
    digits, NUL, space."""
    out = b""
    for name, data in members:
        block = bytearray(512)
        block[0 : len(name)] = name
        block[100:124] = b"000644 \0" + b"001750 \0" * 2
        block[124:148] = b"%011o " % len(data) + b"%011o " % 1_000_000_000
        block[148:156] = b" " * 8
        block[148:156] = b"%06o\0 " % sum(block)
        out += bytes(block) + data + bytes(-len(data) % 512)
    return out + bytes(1024)


def test_v7_tar_members_are_read(build):
    data = _v7_tar([(b"a.txt", b"alpha\n"), (b"dir/b.bin", bytes(range(256)) * 4)])
    seen, error = build.read_all(data, "tar")
    assert error is None
    assert contents(seen) == {b"a.txt": b"alpha\n", b"dir/b.bin": bytes(range(256)) * 4}


def test_zip_with_a_self_extractor_stub_is_read(build):
    stub = b"MZ\x90\x00" + bytes(range(256)) * 8
    seen, error = build.read_all(stub + build.zip(FILES), "zip")
    assert error is None and contents(seen) == EXPECTED
