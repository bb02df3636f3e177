"""md5sum / sha1sum / sha256sum lists, GNU and BSD `--tag` forms."""

from __future__ import annotations

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import HashEntry
from vigil.hashsets.md5sum import Md5sumFormat

READ = Md5sumFormat().read
D1, D2, D3 = digests(1), digests(2), digests(3)


def test_gnu_bsd_and_bare_lines(write):
    text = (
        "\ufeff# made by a test\n"
        f"{D1['md5']}  ./samples/benign-1.jpg\r\n"
        f"{D2['md5'].upper()} *./samples/benign 2.jpg\n"
        "\n"
        f"MD5 (./samples/benign-1.jpg) = {D1['md5']}\n"
        f"SHA1 (x (1).jpg) = {D2['sha1']}\n"
        f"SHA256 (y.jpg) = {D3['sha256']}\n"
        f"{D3['sha1']}  z.jpg\n"
        f"{D3['sha256']}\n"
        f"\\{D1['md5']}  dir\\\\new\\nline.jpg\n"
    )
    got = list(READ(write("list.md5", text)))
    assert got == [
        HashEntry(md5=D1["md5"], name="./samples/benign-1.jpg"),
        HashEntry(md5=D2["md5"], name="./samples/benign 2.jpg"),
        HashEntry(md5=D1["md5"], name="./samples/benign-1.jpg"),
        HashEntry(sha1=D2["sha1"], name="x (1).jpg"),
        HashEntry(sha256=D3["sha256"], name="y.jpg"),
        HashEntry(sha1=D3["sha1"], name="z.jpg"),
        HashEntry(sha256=D3["sha256"]),
        HashEntry(md5=D1["md5"], name="dir\\new\nline.jpg"),
    ]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("not a hash line", "not an md5sum line"),
        (f"{D1['md5'][:-2]}  short.jpg", "not MD5, SHA-1 or SHA-256"),
        (f"{D1['md5'][:-1]}g  nothex.jpg", "not an md5sum line"),
        (f"SHA512 (a) = {D1['sha256']}", "unsupported digest"),
        (f"MD5 (a) = {D1['sha1']}", "bad MD5"),
    ],
)
def test_malformed_line_is_named(write, bad, reason):
    path = write("l.md5", f"{D1['md5']}  a\n\n{D2['md5']}  b\n{bad}\n{D3['md5']}  c\n")
    with pytest.raises(HashSetFormatError, match=reason) as info:
        list(READ(path))
    assert info.value.line == 4


def test_non_utf8_fails_with_line_number(write):
    path = write(
        "l.md5", f"{D1['md5']}  a\n".encode() + f"{D2['md5']}  caf\xe9\n".encode("latin-1")
    )
    with pytest.raises(HashSetFormatError, match="UTF-8") as info:
        list(READ(path))
    assert info.value.line == 2


@pytest.mark.parametrize("content", [b"", b"# only a comment\n\n", b"\x00\x01binary"])
def test_empty_comment_only_and_binary_fail(write, content):
    with pytest.raises(HashSetFormatError):
        list(READ(write("e.md5", content)))
