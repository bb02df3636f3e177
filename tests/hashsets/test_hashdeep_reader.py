"""hashdeep (HASHDEEP-1.0) lists, built line for line as hashdeep 4.4 writes them: the
banner of `state::make_banner` (header, column line, `## Invoked from:`, the command after a
`$` or, for root, `#` prompt, a closing `## `) and the rows of `display_hash_simple`
(`size,<hashes in column order>,name`, nothing escaped)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import HashEntry
from vigil.hashsets.hashdeep import HashdeepFormat

FMT = HashdeepFormat()
D1, D2, D3 = digests(1), digests(2), digests(3)
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# tiger and whirlpool of b"benign-sample-1", as `hashdeep -c md5,sha1,sha256,tiger,whirlpool`
# printed them
TIGER_1 = "d844da373906b14b14c572e2227aa356bd580c67ad99b91f"
WHIRLPOOL_1 = (
    "425ce8b9067d992d0a1d33ce7292313e4f0933a61c52cee161a491bbeb09c0b8"
    "bc71643dbbf59b72586c74bb165c179c68495bb06e0e09f44b9587dc425292c4"
)
BANNER = (
    "%%%% HASHDEEP-1.0\n"
    "%%%% size,md5,sha256,filename\n"
    "## Invoked from: /cases/7\n"
    "## # hashdeep -r evidence\n"
    "## \n"
)


def read(path: Path) -> list[HashEntry]:
    return list(FMT.read(path))


def test_reads_hashdeep_default_output(write):
    text = BANNER + (
        f"0,{EMPTY_MD5},{EMPTY_SHA256},/cases/7/evidence/empty.txt\n"
        f"15,{D2['md5']},{D2['sha256']},/cases/7/evidence/sub/b, with comma.txt\n"
        f"15,{D1['md5']},{D1['sha256']},/cases/7/evidence/a.txt\n"
    )
    path = write("known.hashdeep", text)
    assert FMT.sniff(path, path.read_bytes())
    assert FMT.category_scheme(path) is None
    assert read(path) == [
        HashEntry(md5=EMPTY_MD5, sha256=EMPTY_SHA256, size=0, name="/cases/7/evidence/empty.txt"),
        HashEntry(
            md5=D2["md5"],
            sha256=D2["sha256"],
            size=15,
            name="/cases/7/evidence/sub/b, with comma.txt",
        ),
        HashEntry(md5=D1["md5"], sha256=D1["sha256"], size=15, name="/cases/7/evidence/a.txt"),
    ]


def test_every_algorithm_and_bare_names(write):
    """`-c md5,sha1,sha256,tiger,whirlpool -b`: tiger and whirlpool are checked, not kept."""
    text = (
        "%%%% HASHDEEP-1.0\n"
        "%%%% size,md5,sha1,sha256,tiger,whirlpool,filename\n"
        "## Invoked from: /home/analyst\n"
        "## $ hashdeep -c md5,sha1,sha256,tiger,whirlpool -b evidence/a.txt\n"
        "## \n"
        f"15,{D1['md5']},{D1['sha1']},{D1['sha256']},{TIGER_1},{WHIRLPOOL_1},a.txt\n"
    )
    assert read(write("all.txt", text)) == [
        HashEntry(md5=D1["md5"], sha1=D1["sha1"], sha256=D1["sha256"], size=15, name="a.txt")
    ]


def test_windows_build_crlf_and_case_insensitive_columns(write):
    """The Windows build ends lines in CRLF and writes UTF-8 names; hashdeep matches column
    names case-insensitively without dashes, so `SHA-256` is sha256."""
    text = (
        "%%%% HASHDEEP-1.0\r\n"
        "%%%% size,MD5,SHA-256,filename\r\n"
        "## Invoked from: C:\\Cases\\7\r\n"
        "## C:\\> hashdeep.exe -r evidence\r\n"
        "## \r\n"
        f"15,{D1['md5'].upper()},{D1['sha256']},C:\\Cases\\7\\evidence\\Ünïcode.jpg\r\n"
    )
    assert read(write("win.txt", text)) == [
        HashEntry(
            md5=D1["md5"], sha256=D1["sha256"], size=15, name="C:\\Cases\\7\\evidence\\Ünïcode.jpg"
        )
    ]


def test_appended_lists_restate_their_columns(write):
    """`hashdeep … >> list` twice: the second banner's columns apply to the rows after it."""
    text = (
        BANNER
        + f"15,{D1['md5']},{D1['sha256']},a.txt\n"
        + "%%%% HASHDEEP-1.0\n%%%% size,sha1,filename\n## \n"
        + f"15,{D2['sha1']},b.txt\n"
    )
    assert read(write("appended.txt", text)) == [
        HashEntry(md5=D1["md5"], sha256=D1["sha256"], size=15, name="a.txt"),
        HashEntry(sha1=D2["sha1"], size=15, name="b.txt"),
    ]


def test_names_that_are_not_utf8_read_as_latin1(write):
    """POSIX hashdeep writes the OS's name bytes as they are."""
    data = BANNER.encode() + f"15,{D1['md5']},{D1['sha256']},caf".encode() + b"\xe9.jpg\n"
    assert read(write("latin1.txt", data))[0].name == "café.jpg"


ROW = f"15,{D1['md5']},{D1['sha256']},a.txt"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (f"%%%% size,md5,sha256,filename\n{ROW}\n", 1, "not a hashdeep list"),
        (f"%%%% HASHDEEP-1.0\n{ROW}\n", 2, "column line"),
        ("%%%% HASHDEEP-1.0\n", None, "ends before its"),
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,crc32,filename\n", 2, "unknown hashdeep algorithm"),
        ("%%%% HASHDEEP-1.0\n%%%% size,tiger,filename\n", 2, "no MD5, SHA-1 or SHA-256"),
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,md5,filename\n", 2, "named twice"),
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256\n", 2, "must be '%%%% size"),
        (BANNER + f"{D1['md5']},{D1['sha256']},a.txt\n", 6, "size"),
        (BANNER + f"-1,{D1['md5']},{D1['sha256']},a.txt\n", 6, "not a whole number"),
        (BANNER + f"15,{D1['md5']}\n", 6, "want size, 2 hash(es) and a name"),
        (BANNER + f"15,{D1['sha1']},{D1['sha256']},a.txt\n", 6, "bad MD5"),
        (BANNER + f"15,{D1['md5']},,a.txt\n", 6, "bad SHA256"),
        (
            "%%%% HASHDEEP-1.0\n%%%% size,md5,tiger,filename\n" + f"15,{D1['md5']},abc,a.txt\n",
            3,
            "bad tiger",
        ),
        (BANNER, None, "no hash entries"),
    ],
)
def test_malformed_lists_name_the_line(write, text, line, reason):
    with pytest.raises(HashSetFormatError, match=re.escape(reason)) as err:
        read(write("bad.txt", text))
    assert err.value.line == line


def test_sniff_wants_header_then_columns(write):
    for text, want in (
        (BANNER + ROW + "\n", True),
        ("\ufeff" + BANNER + ROW + "\n", True),
        ("%%%% HASHDEEP-1.0\n## no columns\n", False),
        (f"{D1['md5']}  a.txt\n", False),
        (f"size,md5,sha256,filename\n{ROW}\n", False),
    ):
        path = write("sniff.txt", text)
        assert FMT.sniff(path, path.read_bytes()) is want, text


@pytest.mark.skipif(shutil.which("hashdeep") is None, reason="hashdeep is not installed")
def test_reads_the_real_hashdeep(tmp_path):
    """Where hashdeep is installed: its own output of a few benign files reads back."""
    evidence = tmp_path / "evidence"
    (evidence / "sub").mkdir(parents=True)
    for i, name in ((1, "a.txt"), (2, "sub/b, c.txt")):
        (evidence / name).write_bytes(f"benign-sample-{i}".encode())
    out = subprocess.run(
        ["hashdeep", "-c", "md5,sha1,sha256,tiger", "-r", "-l", "evidence"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "list.txt").write_bytes(out)
    got = sorted(read(tmp_path / "list.txt"), key=lambda e: e.name or "")
    assert got == [
        HashEntry(
            md5=D1["md5"], sha1=D1["sha1"], sha256=D1["sha256"], size=15, name="evidence/a.txt"
        ),
        HashEntry(
            md5=D2["md5"],
            sha1=D2["sha1"],
            sha256=D2["sha256"],
            size=15,
            name="evidence/sub/b, c.txt",
        ),
    ]


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_hex = st.text(st.sampled_from("0123456789abcdefABCDEF,"), max_size=140)
_line = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80) | st.builds(
    lambda size, digits, name: f"{size},{digits},{name}",
    st.integers(-5, 10**21),
    _hex,
    st.text(max_size=10),
)


@SETTINGS
@given(
    prefix=st.sampled_from(["", "%%%% HASHDEEP-1.0\n", BANNER, "%%%% HASHDEEP-1.0\n%%%% size,"]),
    lines=st.lists(_line, max_size=6),
    crlf=st.booleans(),
)
def test_random_text_fails_only_cleanly(write, prefix, lines, crlf):
    text = prefix + ("\r\n" if crlf else "\n").join(lines)
    path = write("random.txt", text)
    FMT.sniff(path, path.read_bytes())
    with contextlib.suppress(HashSetFormatError):
        read(path)


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_after_the_banner_fail_only_cleanly(write, data):
    path = write("random.bin", BANNER.encode() + data)
    with contextlib.suppress(HashSetFormatError):
        read(path)
